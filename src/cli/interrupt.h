// SIGINT / SIGTERM for long commands: the first signal asks the loop to stop
// after its current step (a checkpoint is written, the command exits with
// 128 + the signal number); a second one ends the process at once.
#pragma once

namespace adarts::cli {

class InterruptHandler {
 public:
  InterruptHandler();   // installs the handlers
  ~InterruptHandler();  // restores the previous ones

  // The signal received (SIGINT, SIGTERM), 0 when none.
  static int signal_received();
  // "SIGINT" / "SIGTERM".
  static const char* signal_name(int signal);
  // The exit status after `signal`: 128 + its number, as a shell reports it.
  static int exit_status(int signal) { return 128 + signal; }

 private:
  struct Previous;
  Previous* previous_;
};

}  // namespace adarts::cli
