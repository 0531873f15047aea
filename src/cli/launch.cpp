#include "launch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <regex>
#include <utility>

#include "adarts/error.h"

namespace adarts::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The self-pipe: the handlers only write the signal's number into it, the
// loop polls its read end, so no work is done inside a handler and a signal
// arriving just before the loop waits still wakes it.
int signal_pipe[2] = {-1, -1};

extern "C" void on_launch_signal(int signal) {
  const int saved = errno;
  const auto byte = static_cast<unsigned char>(signal);
  const ssize_t written = ::write(signal_pipe[1], &byte, 1);  // a full pipe still wakes the loop
  (void)written;
  errno = saved;
}

constexpr int kHandled[] = {SIGINT, SIGTERM, SIGCHLD};

// Installs the handlers for SIGINT, SIGTERM, SIGCHLD; restores the previous
// ones (the CLI's InterruptHandler is not in force during launch) when it goes.
class SignalPipe {
 public:
  SignalPipe() {
    if (::pipe(signal_pipe) != 0) throw io_error(std::string("launch: cannot create a pipe: ") + std::strerror(errno));
    for (int fd : signal_pipe) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // not inherited by the ranks
    }
    struct sigaction action = {};
    action.sa_handler = on_launch_signal;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kHandled); ++i) sigaction(kHandled[i], &action, &previous_[i]);
  }
  ~SignalPipe() {
    for (size_t i = 0; i < std::size(kHandled); ++i) sigaction(kHandled[i], &previous_[i], nullptr);
    for (int& fd : signal_pipe) {
      ::close(fd);
      fd = -1;
    }
  }
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  // The signals received within `timeout_ms` (-1: until one comes), SIGCHLD included.
  std::vector<int> wait(int timeout_ms) {
    pollfd fd = {signal_pipe[0], POLLIN, 0};
    std::vector<int> received;
    if (::poll(&fd, 1, timeout_ms) <= 0) return received;  // timeout, or EINTR: the caller looks again
    unsigned char bytes[64];
    ssize_t n = 0;
    while ((n = ::read(signal_pipe[0], bytes, sizeof bytes)) > 0) received.insert(received.end(), bytes, bytes + n);
    return received;
  }

 private:
  struct sigaction previous_[std::size(kHandled)];
};

// Forks and execs one rank. The child gets default signal handling, a
// process group of its own (a Ctrl-C on the terminal reaches launch only,
// which forwards it once: a rank that got it twice would stop without a
// checkpoint) and, on Linux, SIGTERM when launch dies. Returns the pid, or -1
// with `error` set to the errno of the failed fork or exec.
pid_t start_rank(const std::string& program, const std::vector<std::string>& args, int& error) {
  std::vector<char*> argv;  // built before the fork: the child may not allocate
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int exec_error[2];  // the child writes exec's errno here; closed by a successful exec
  if (::pipe(exec_error) != 0) {
    error = errno;
    return -1;
  }
  ::fcntl(exec_error[1], F_SETFD, FD_CLOEXEC);
  sigset_t handled, previous;
  sigemptyset(&handled);
  for (int s : kHandled) sigaddset(&handled, s);
  sigprocmask(SIG_BLOCK, &handled, &previous);  // no launch handler may run in the child
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (int s : kHandled) ::signal(s, SIG_DFL);
    ::setpgid(0, 0);
#ifdef __linux__
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // launch already gone
#endif
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    ::close(exec_error[0]);
    ::execv(program.c_str(), argv.data());
    const int e = errno;
    const ssize_t written = ::write(exec_error[1], &e, sizeof e);
    (void)written;
    ::_exit(127);
  }
  error = pid < 0 ? errno : 0;
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  ::close(exec_error[1]);
  if (pid > 0) {
    ::setpgid(pid, pid);  // also here, so that it holds before any signal is forwarded
    int e = 0;
    ssize_t n = 0;
    while ((n = ::read(exec_error[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof e)) {
      ::waitpid(pid, nullptr, 0);
      error = e;
    }
  }
  ::close(exec_error[0]);
  return error == 0 ? pid : -1;
}

// The exit status a shell reports for a waitpid status: the code, or 128 + the signal.
int exit_status(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// Watches the ranks of one launch: starts them, reaps them, forwards signals
// and ends the survivors after a failure.
class Supervisor {
 public:
  explicit Supervisor(const LaunchPlan& plan) : plan_(plan), pids_(plan.ranks.size(), -1) {}

  int run() {
    start_all();
    while (!running().empty()) {
      for (int s : signals_.wait(poll_timeout_ms())) {
        if (s != SIGCHLD) on_signal(s);
      }
      reap();
      check_deadlines();
    }
    if (status_ == 0) spdlog::info("launch: all {} ranks exited with status 0", pids_.size());
    return status_;
  }

 private:
  void start_all() {
    for (size_t i = 0; i < pids_.size(); ++i) {
      int error = 0;
      pids_[i] = start_rank(plan_.program, plan_.ranks[i], error);
      if (pids_[i] < 0) {
        spdlog::error("launch: cannot start rank {} ({}): {}", i, plan_.program, std::strerror(error));
        fail(127, Clock::now());  // the started ranks cannot meet the missing one: end them now
        return;
      }
    }
  }

  // The first signal is forwarded (the ranks checkpoint and stop); a second kills them.
  void on_signal(int signal) {
    if (++signals_received_ == 1) {
      forwarded_ = signal;
      if (status_ == 0) status_ = 128 + signal;
      spdlog::warn(
          "launch: {} forwarded to the running ranks; they stop after a checkpoint (a second signal kills them)",
          signal_name(signal));
      send_all(signal);
    } else {
      spdlog::warn("launch: {} again: killing the running ranks (SIGKILL)", signal_name(signal));
      killed_ = true;
      send_all(SIGKILL);
    }
  }

  void reap() {
    for (size_t i = 0; i < pids_.size(); ++i) {
      int wait_status = 0;
      if (pids_[i] > 0 && ::waitpid(pids_[i], &wait_status, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
        on_end(i, wait_status);
      }
    }
  }

  void on_end(size_t rank, int wait_status) {
    const int status = exit_status(wait_status);
    const bool stopped_by_forward = forwarded_ != 0 && status == 128 + forwarded_;
    if (status == 0 || stopped_by_forward || failed_ || killed_) {
      // Expected ends: success, the forwarded signal, after a failure or a second signal (launch may have ended it).
      spdlog::info("launch: rank {} {}", rank, describe_end(wait_status));
      return;
    }
    spdlog::error("launch: rank {} {}", rank, describe_end(wait_status));
    fail(status, Clock::now() + seconds(plan_.grace_seconds));
    if (!running().empty()) {
      spdlog::warn("launch: waiting up to {} s for rank(s) {} to end by themselves", plan_.grace_seconds,
                   fmt::join(running(), ", "));
    }
  }

  // The first failure sets launch's status (unless a forwarded signal came
  // first) and when the survivors get SIGTERM.
  void fail(int status, Clock::time_point terminate_at) {
    if (failed_) return;
    failed_ = true;
    if (status_ == 0) status_ = status;
    terminate_at_ = terminate_at;
  }

  void check_deadlines() {
    const auto now = Clock::now();
    if (kill_at_ && now >= *kill_at_) {
      kill_at_.reset();
      spdlog::error("launch: rank(s) {} still running {} s after SIGTERM: SIGKILL", fmt::join(running(), ", "),
                    plan_.terminate_seconds);
      send_all(SIGKILL);
    }
    if (terminate_at_ && now >= *terminate_at_) {
      terminate_at_.reset();
      if (running().empty()) return;
      spdlog::error("launch: ending rank(s) {} (SIGTERM)", fmt::join(running(), ", "));
      send_all(SIGTERM);
      kill_at_ = now + seconds(plan_.terminate_seconds);
    }
  }

  // Until the nearer deadline, rounded up; -1 (no limit) without one.
  int poll_timeout_ms() const {
    std::optional<Clock::time_point> next;
    for (const auto& d : {terminate_at_, kill_at_}) {
      if (d && (!next || *d < *next)) next = d;
    }
    if (!next) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 24 * 3600 * 1000));
  }

  void send_all(int signal) const {
    for (pid_t pid : pids_) {
      if (pid > 0) ::kill(pid, signal);  // an ended but unreaped rank keeps its pid: no stranger is hit
    }
  }

  std::vector<size_t> running() const {
    std::vector<size_t> ranks;
    for (size_t i = 0; i < pids_.size(); ++i) {
      if (pids_[i] > 0) ranks.push_back(i);
    }
    return ranks;
  }

  static Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  const LaunchPlan& plan_;
  SignalPipe signals_;       // installed before any rank starts: none of their ends is missed
  std::vector<pid_t> pids_;  // -1: ended (or never started)
  int status_ = 0;           // launch's exit status
  bool failed_ = false;
  bool killed_ = false;  // a second signal made launch kill the ranks
  int forwarded_ = 0;    // the signal forwarded to the ranks, 0 when none
  int signals_received_ = 0;
  std::optional<Clock::time_point> terminate_at_, kill_at_;
};

}  // namespace

int run_ranks(const LaunchPlan& plan) {
  if (plan.ranks.empty()) throw invalid_argument("launch: no ranks to start");
  Supervisor supervisor(plan);
  return supervisor.run();
}

void refuse_launch_set_options(const std::vector<std::string>& command) {
  for (const auto& arg : command) {
    for (const std::string flag : {"--world-size", "--rank", "--rendezvous"}) {
      if (arg == flag || arg.rfind(flag + "=", 0) == 0) {
        throw invalid_argument(
            "launch sets --world-size, --rank and --rendezvous for each rank; remove '" + arg +
            "' from the command (a rendezvous is given to launch: `adarts launch --rendezvous URL`)");
      }
    }
  }
}

std::vector<std::string> rank_arguments(const std::vector<std::string>& command, int world_size, int rank,
                                        const std::string& rendezvous) {
  std::vector<std::string> args = command;
  args.insert(args.end(),
              {"--world-size", std::to_string(world_size), "--rank", std::to_string(rank), "--rendezvous", rendezvous});
  return args;
}

void check_rendezvous_url(const std::string& url) {
  static const std::regex file(R"(file:///.+)");
  static const std::regex tcp(R"(tcp://(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):[0-9]{1,5})");
  if (!std::regex_match(url, file) && !std::regex_match(url, tcp)) {
    throw invalid_argument("--rendezvous must be file:///ABSOLUTE/PATH or tcp://HOST:PORT, got '" + url + "'");
  }
}

std::string signal_name(int signal) {
  static const std::pair<int, const char*> names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"},
      {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},
      {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}};
  for (const auto& [number, name] : names) {
    if (number == signal) return name;
  }
  return "signal " + std::to_string(signal);
}

std::string describe_end(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  const int signal = WTERMSIG(wait_status);
  std::string text = fmt::format("was killed by signal {} ({})", signal, signal_name(signal));
#ifdef WCOREDUMP
  if (WCOREDUMP(wait_status)) text += ", core dumped";
#endif
  return text;
}

TemporaryDirectory::TemporaryDirectory() {
  const char* tmpdir = std::getenv("TMPDIR");
  const std::filesystem::path base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
  std::string name = (std::filesystem::absolute(base) / "adarts-launch-XXXXXX").string();
  if (::mkdtemp(name.data()) == nullptr) {
    throw io_error("cannot create a temporary directory under '" + base.string() + "': " + std::strerror(errno));
  }
  path_ = name;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;  // nothing to do about a failure while leaving
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace adarts::cli
