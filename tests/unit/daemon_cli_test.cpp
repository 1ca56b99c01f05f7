// The daemon's command line, run as a real process: a bad topology file is
// refused at start with the JSON path of the problem, before /dev/cuse is
// touched.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct Run {
    int status;
    std::string output;
};

Run run_daemon(const std::string& args) {
    const std::string command = std::string(CUSE_IOMMU_DAEMON) + " " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    Run run{0, {}};
    char buf[256];
    while (size_t n = fread(buf, 1, sizeof(buf), pipe))
        run.output.append(buf, n);
    const int status = pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/cuse-iommu-topology-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << text;
    return path;
}

}  // namespace

TEST_CASE("--help prints usage and exits 0; a bad option exits 1") {
    Run help = run_daemon("--help");
    CHECK(help.status == 0);
    CHECK(help.output.find("--topology FILE") != std::string::npos);
    Run bad = run_daemon("--no-such-option");
    CHECK(bad.status == 1);
    CHECK(bad.output.find("unknown or incomplete option") != std::string::npos);
}

TEST_CASE("--abi names the uAPI served: rfc or iommufd, anything else refused") {
    CHECK(run_daemon("--help").output.find("--abi ABI") != std::string::npos);
    Run bad = run_daemon("--abi vfio");
    CHECK(bad.status == 1);
    CHECK(bad.output.find("--abi must be rfc or iommufd, not 'vfio'") != std::string::npos);
    CHECK(run_daemon("--abi=").status == 1);
}

TEST_CASE("a bad topology file is refused naming the JSON path") {
    const std::string path = write_temp(
        R"({"iommus": [{"name": "u", "address_width": 48, "page_sizes": ["4K"]}],
            "devices": [{"name": "d", "type": "pci", "bdf": "zz", "iommu": "u", "group": 1}]})");
    Run run = run_daemon("--topology " + path);
    unlink(path.c_str());
    CHECK(run.status == 1);
    CHECK(run.output.find("/devices/0/bdf") != std::string::npos);
    CHECK(run.output.find("/dev/cuse") == std::string::npos);  // refused before the device

    Run missing = run_daemon("--topology /nonexistent/topology.json");
    CHECK(missing.status == 1);
    CHECK(missing.output.find("No such file") != std::string::npos);
}

TEST_CASE("--mount serves the rfc profile only, and a mount that fails is an error at start") {
    CHECK(run_daemon("--help").output.find("--mount DIR") != std::string::npos);
    Run iommufd = run_daemon("--abi iommufd --mount /tmp --control none");
    CHECK(iommufd.status == 1);
    CHECK(iommufd.output.find("--mount serves the rfc profile only") != std::string::npos);

    for (const char* empty : {"--mount=", "--mount ''"}) {
        Run run = run_daemon(std::string(empty) + " --control none --foreground");
        CHECK(run.status == 1);
        CHECK(run.output.find("--mount needs a directory") != std::string::npos);
    }

    Run missing = run_daemon("--mount /nonexistent/cuse-iommu-mount --control none --foreground");
    CHECK(missing.status == 1);
    CHECK(missing.output.find("cannot mount on /nonexistent/cuse-iommu-mount") != std::string::npos);
    CHECK(missing.output.find("/dev/cuse") == std::string::npos);  // no CUSE node was tried
}
