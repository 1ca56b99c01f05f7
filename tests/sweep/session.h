// The allocation-failure sweep's fixed session: every command, through the
// dispatcher and the control handler, on one model, step by step.
#pragma once

#include <functional>
#include <string>

namespace sweep {

// How the session drives the failure injection of alloc_sweep.cpp.
struct Hooks {
    std::function<void()> arm;      // allocations from here on count (one may fail)
    std::function<void()> disarm;   // and from here on they do not
    std::function<bool()> fired;    // has the one failure happened yet?
    std::function<long()> live;     // allocations not freed yet
    std::function<void(const char* step)> entering;  // a step starts (until the failure fired)
};

// Runs the session; returns what went wrong ("" if nothing), one sentence
// per problem.  Only the steps' own work is armed: the checks between steps
// (the dump, the invariant checker) are not.
std::string run_session(const Hooks& hooks);

}  // namespace sweep
