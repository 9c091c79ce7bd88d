// Candidate timing in a child process (see measure.h).
//
// The child's report, one line per step on the pipe:
//   B <i>         starting a step of candidate i (its check, or one of its rounds)
//   F <i> <why>   candidate i failed its check
//   T <i> <us>    one round of candidate i
//   D             all done
//   X <why>       the child could not start measuring (the folder did not load)
// The parent waits at most timeout_s for each line; the last "B" names the culprit of a crash or
// a hang.
#include "generator/driver/measure.h"

#include "generator/driver/fault.h"
#include "generator/driver/loader.h"
#include "generator/driver/process.h"
#include "generator/harness/prepared_call.h"
#include "generator/harness/timing.h"
#include "generator/spec/reference.h"

#include <fmt/core.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace convgen {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

void report(int fd, const std::string &line) {
    const std::string l = line + "\n";
    (void)!write(fd, l.data(), l.size());
}

// The child: never returns.
[[noreturn]] void child_main(int fd, const std::string &dir, const std::vector<Candidate> &cands,
                             const std::vector<size_t> &active, const std::vector<double> &reference,
                             const MeasureOptions &o) {
    signal(SIGINT, SIG_IGN);  // the parent decides what an interrupt ends
    signal(SIGTERM, SIG_DFL);
    std::vector<std::unique_ptr<PreparedCall>> calls(cands.size());
    std::vector<const convgen_kernel *> kernels(cands.size(), nullptr);
    std::unique_ptr<LoadedBundle> bundle;
    try {
        bundle = std::make_unique<LoadedBundle>(dir);
        using set_threads_fn = int (*)(int);
        auto set_threads = reinterpret_cast<set_threads_fn>(dlsym(bundle->handle(), "halide_set_num_threads"));
        if (!set_threads) throw std::runtime_error(dir + ": the bundle has no halide_set_num_threads");
        set_threads(o.threads);
    } catch (const std::exception &e) {
        report(fd, std::string("X ") + e.what());
        _exit(1);
    }
    std::vector<size_t> passed;
    for (size_t i : active) {
        report(fd, "B " + std::to_string(i));
        const Candidate &c = cands[i];
        const convgen_kernel *k = bundle->find(c.key);
        std::string why;
        if (!k) why = "not in " + dir;
        else if (!convgen_kernel_supported(k)) why = kUnsupportedTarget;
        if (why.empty()) {
            try {
                calls[i] = std::make_unique<PreparedCall>(k, c.spec, o.seed, c.key);
                if (fault_injected("crash", c.choice)) {  // as a wild pointer would, sanitizer or not
                    std::signal(SIGSEGV, SIG_DFL);  // (AddressSanitizer's handler would exit(1))
                    std::raise(SIGSEGV);
                }
                if (fault_injected("hang", c.choice))
                    for (;;) pause();
                if (calls[i]->run(k) != CONVGEN_OK) why = std::string("run failed: ") + convgen_last_error();
                std::vector<float> out = calls[i]->output();
                if (fault_injected("wrong", c.choice) && !out.empty()) out[0] += 1.f;
                const Comparison cmp = compare(out, reference, tolerance(c.spec));
                if (why.empty() && !cmp.ok)
                    why = fmt::format("wrong result (max error {:.3g} > {:.3g})", cmp.max_abs_err, cmp.tol);
            } catch (const std::exception &e) {
                why = e.what();
            }
        }
        if (why.empty()) {
            kernels[i] = k;
            passed.push_back(i);
        } else {
            report(fd, "F " + std::to_string(i) + " " + why);
        }
    }
    for (int r = 0; r < o.rounds; r++)
        for (size_t i : passed) {
            report(fd, "B " + std::to_string(i));
            PreparedCall &call = *calls[i];
            const int calls_per_call = fault_injected("slow", cands[i].choice) ? 2 : 1;
            const double us = time_round([&] {
                for (int n = 0; n < calls_per_call; n++) call.run(kernels[i]);
            }, o.min_ms);
            report(fd, fmt::format("T {} {:.4f}", i, us));
        }
    report(fd, "D");
    _exit(0);
}

// One child over the candidates `active`. Returns true when it finished; otherwise sets the
// error of the candidate it was at (crash, hang) and returns false.
bool run_child(const std::string &dir, const std::vector<Candidate> &cands, const std::vector<size_t> &active,
               const std::vector<double> &reference, const MeasureOptions &o, std::vector<Measured> &out) {
    int fds[2];
    if (pipe(fds) != 0) throw ToolError(std::string("measure: pipe() failed: ") + std::strerror(errno));
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) throw ToolError(std::string("measure: fork() failed: ") + std::strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], dir, cands, active, reference, o);
    }
    close(fds[1]);
    for (size_t i : active) out[i] = Measured{};
    long at = -1;  // the candidate of the last "B"
    std::string buffer, failure;
    bool done = false;
    auto finish = [&](bool kill_it) {
        if (kill_it) kill(pid, SIGKILL);
        close(fds[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return status;
    };
    while (!done) {
        pollfd p{fds[0], POLLIN, 0};
        const int n = poll(&p, 1, int(o.timeout_s * 1000));
        if (interrupted()) {
            finish(true);
            throw Interrupted();
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {  // no progress: a hang
            finish(true);
            if (at < 0) throw ToolError("measure: the child loading " + dir + " made no progress in " +
                                        std::to_string(int(o.timeout_s)) + " s");
            out[size_t(at)] = Measured{fmt::format("hung (no progress in {:.0f} s)", o.timeout_s), {}};
            return false;
        }
        char chunk[4096];
        const ssize_t got = read(fds[0], chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {  // the child ended without "D": it crashed
            const int status = finish(false);
            ProcessResult r;
            r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            if (!failure.empty()) throw ToolError("measure: " + failure);
            if (at < 0) throw ToolError("measure: the child loading " + dir + " " + r.how());
            out[size_t(at)] = Measured{"crashed (the process " + r.how() + ")", {}};
            return false;
        }
        buffer.append(chunk, size_t(got));
        for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            std::istringstream line(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
            char tag = 0;
            line >> tag;
            size_t i = 0;
            if (tag == 'B' && line >> i) at = long(i);
            else if (tag == 'T' && line >> i) {
                double us = 0;
                line >> us;
                out[i].rounds.push_back(us);
            } else if (tag == 'F' && line >> i) {
                std::string why;
                std::getline(line >> std::ws, why);
                out[i].error = why;
            } else if (tag == 'X') {
                std::getline(line >> std::ws, failure);
            } else if (tag == 'D') {
                done = true;
            }
        }
    }
    finish(false);
    return true;
}

}  // namespace

bool interrupted() { return g_interrupted != 0; }

void install_interrupt_handler() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked poll() or read() returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

std::vector<Measured> measure(const std::string &dir, const std::vector<Candidate> &candidates,
                              const std::vector<double> &reference, const MeasureOptions &o) {
    if (interrupted()) throw Interrupted();
    std::vector<Measured> out(candidates.size());
    std::vector<size_t> active(candidates.size());
    for (size_t i = 0; i < active.size(); i++) active[i] = i;
    // Each failed child removes one candidate, so this ends after at most size() + 1 children.
    while (!active.empty() && !run_child(dir, candidates, active, reference, o, out)) {
        std::vector<size_t> left;
        for (size_t i : active)
            if (out[i].ok()) left.push_back(i);
        active = left;
    }
    return out;
}

}  // namespace convgen
