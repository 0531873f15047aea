// `adarts launch`'s process logic, without LibTorch: N local ranks started
// from one program, watched until they all end, signals forwarded to them, and
// the survivors ended when one fails. The option parsing is in launch_command.cpp.
#pragma once

#include <string>
#include <vector>

namespace adarts::cli {

struct LaunchPlan {
  std::string program;                          // the executable every rank runs
  std::vector<std::vector<std::string>> ranks;  // each rank's argv, argv[0] included
  // After a rank fails: how long the others may take to end by themselves
  // (they normally fail within the collective timeout), then SIGTERM; after
  // terminate_seconds more, SIGKILL.
  double grace_seconds = 30;
  double terminate_seconds = 5;
};

// Starts every rank and waits until all have ended. SIGINT/SIGTERM received
// meanwhile are forwarded to the running ranks; a second one kills them.
// Returns launch's exit status: 0 when every rank exits 0, otherwise the
// first failing rank's status (128 + the signal when killed by one), or
// 128 + the forwarded signal when that came first.
int run_ranks(const LaunchPlan& plan);

// The rank arguments `launch` sets (--world-size, --rank, --rendezvous), as
// given by the user in `command`: adarts::Error(invalid_argument) naming the first.
void refuse_launch_set_options(const std::vector<std::string>& command);

// `command` (subcommand and its arguments) followed by --world-size, --rank and --rendezvous.
std::vector<std::string> rank_arguments(const std::vector<std::string>& command, int world_size, int rank,
                                        const std::string& rendezvous);

// adarts::Error(invalid_argument) unless `url` is file:///ABSOLUTE/PATH or tcp://HOST:PORT.
void check_rendezvous_url(const std::string& url);

// "exited with status 1" / "was killed by signal 9 (SIGKILL)", from a waitpid status.
std::string describe_end(int wait_status);

// "SIGKILL", or "signal N" for the less common ones.
std::string signal_name(int signal);

// A private temporary directory (mkdtemp under $TMPDIR or /tmp), removed with
// everything in it when the object goes.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace adarts::cli
