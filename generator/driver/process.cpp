// run_process and friends (see process.h): posix_spawnp with stdin from /dev/null and stdout and
// stderr into one pipe, read to the end, then waitpid.
#include "generator/driver/process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace convgen {

namespace {

std::string shell_word(const std::string &s) {
    if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
                          std::string::npos)
        return s;
    std::string q = "'";
    for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return q + "'";
}

// The first `max_lines` lines of a tool's output (at most 2000 characters), for a message.
std::string head(const std::string &text, size_t max_lines) {
    std::string h;
    size_t pos = 0;
    for (size_t lines = 0; pos < text.size() && lines < max_lines; lines++) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        h += (lines ? "\n" : "") + text.substr(pos, end - pos);
        pos = end + 1;
    }
    if (pos < text.size()) h += "\n...";
    return h.substr(0, 2000);
}

}  // namespace

std::string ProcessResult::how() const {
    if (spawn_errno) return std::string("could not start: ") + std::strerror(spawn_errno);
    if (signal) return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "exited with status " + std::to_string(exit_code);
}

std::string command_line(const std::vector<std::string> &argv) {
    std::string s;
    for (const std::string &a : argv) s += (s.empty() ? "" : " ") + shell_word(a);
    return s;
}

ProcessResult run_process(const std::vector<std::string> &argv) {
    ProcessResult r;
    if (argv.empty()) throw std::invalid_argument("run_process: no command");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::vector<char *> args;
    for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    r.spawn_errno = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (r.spawn_errno == 0) {
        char buf[4096];
        for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            r.output.append(buf, size_t(n));
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    }
    close(fds[0]);
    return r;
}

std::string tool_failure(const std::vector<std::string> &argv, const ProcessResult &r, const std::string &what) {
    std::string msg = what + " failed: `" + command_line(argv) + "` " + r.how();
    const std::string out = head(r.output, 12);
    return out.empty() ? msg : msg + ":\n" + out;
}

ProcessResult check_process(const std::vector<std::string> &argv, const std::string &what) {
    ProcessResult r = run_process(argv);
    if (!r.ok()) throw ToolError(tool_failure(argv, r, what));
    return r;
}

}  // namespace convgen
