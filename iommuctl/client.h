// The control-socket client: one request, one response line
// (docs/control.md).  Plain blocking POSIX sockets with poll() for the
// timeout: a CLI asks one question and waits for its answer, so an event loop
// would add nothing but a dependency.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace iommuctl {

struct Env;

// Sends `request` as one line on a fresh connection to env.socket_path and
// returns the response if it is {"ok": true, ...}.  Throws DaemonError with
// the daemon's message for {"ok": false}, UnreachableError when there is no
// usable answer (cannot connect, dropped connection, timeout, a response that
// is not a JSON object with a boolean "ok").
nlohmann::json call_daemon(const Env& env, const nlohmann::json& request);

}  // namespace iommuctl
