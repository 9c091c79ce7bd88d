// Running external tools (the C compiler that links `convgen run`'s shared object, the aarch64
// cross compiler, qemu-aarch64) without a shell, and telling their failures apart from bad input.
//
//   run_process(argv)    spawns argv[0] (looked up on PATH), waits, returns how it ended and what
//                        it wrote to stdout and stderr (together, in order)
//   check_process(argv, what)  the same; throws ToolError naming the command when it fails
//   ToolError            a tool could not start, failed or was killed: main.cpp exits 3 for it
//                        (2 stays for bad input, SpecError)
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace convgen {

struct ToolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ProcessResult {
    int spawn_errno = 0;  // non-zero: the program could not be started (errno of posix_spawnp)
    int exit_code = -1;   // the exit status when it exited
    int signal = 0;       // the signal that killed it, else 0
    std::string output;   // stdout and stderr
    bool ok() const { return spawn_errno == 0 && signal == 0 && exit_code == 0; }
    // "exited with status 1", "was killed by signal 11 (Segmentation fault)", "could not start: ..."
    std::string how() const;
};

// The command as a shell would read it (for messages).
std::string command_line(const std::vector<std::string> &argv);

ProcessResult run_process(const std::vector<std::string> &argv);

// Throws ToolError "<what> failed: `<command>` <how>", then the first lines of its output.
ProcessResult check_process(const std::vector<std::string> &argv, const std::string &what);

// ToolError's text for a finished command (check_process's message, for callers that look at the
// result first).
std::string tool_failure(const std::vector<std::string> &argv, const ProcessResult &r, const std::string &what);

}  // namespace convgen
