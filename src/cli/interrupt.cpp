#include "interrupt.h"

#include <atomic>
#include <csignal>

namespace adarts::cli {
namespace {

std::atomic<int> received{0};  // lock-free, so the handler may store into it

extern "C" void on_signal(int signal) {
  received.store(signal);
  std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process
}

}  // namespace

struct InterruptHandler::Previous {
  struct sigaction interrupt, terminate;
};

InterruptHandler::InterruptHandler() : previous_(new Previous) {
  received.store(0);
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_->interrupt);
  sigaction(SIGTERM, &action, &previous_->terminate);
}

InterruptHandler::~InterruptHandler() {
  sigaction(SIGINT, &previous_->interrupt, nullptr);
  sigaction(SIGTERM, &previous_->terminate, nullptr);
  delete previous_;
}

int InterruptHandler::signal_received() { return received.load(); }

const char* InterruptHandler::signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
}

}  // namespace adarts::cli
