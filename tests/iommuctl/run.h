// Runs a program as a child process: its arguments, standard input, exit
// status, standard output and standard error.
#pragma once

#include <string>
#include <vector>

namespace iommuctl_test {

struct Run {
    int status;  // the exit status, or -1 if it did not exit normally
    std::string out, err;
};

// argv[0] is looked up in PATH.  The child's environment is this process's
// minus CUSE_IOMMU_SOCKET, plus `env` ("NAME=VALUE").
Run run(const std::vector<std::string>& argv, const std::string& input = "", const std::vector<std::string>& env = {});

// The iommuctl under test (IOMMUCTL_BIN).
Run iommuctl(const std::vector<std::string>& args, const std::string& input = "",
             const std::vector<std::string>& env = {});
// ... talking to the socket at `socket` (--socket first).
Run iommuctl_at(const std::string& socket, const std::vector<std::string>& args, const std::string& input = "");

// The directory of PATH that holds an executable `name`, or "".
std::string find_in_path(const std::string& name);

}  // namespace iommuctl_test
