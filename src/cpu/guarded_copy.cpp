#include "cpu/guarded_copy.hpp"
#include "cpu/streaming_copy.hpp"

#include <pthread.h>

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstring>

namespace stload::detail {
namespace {

struct sigaction previous_handler {};

// Where the guarded copy running on this thread resumes after a fault; null outside one. A plain
// pointer in static TLS: reading it in the handler allocates nothing and takes no lock.
thread_local sigjmp_buf* active_copy = nullptr;

void on_sigbus(int signal, siginfo_t* info, void* context) {
  if (sigjmp_buf* resume = active_copy; resume != nullptr) {
    active_copy = nullptr;
    siglongjmp(*resume, 1);
  }
  // A fault outside a guarded copy belongs to whoever handled SIGBUS before us.
  if ((previous_handler.sa_flags & SA_SIGINFO) != 0U) {
    if (previous_handler.sa_sigaction != nullptr)
      previous_handler.sa_sigaction(signal, info, context);
    return;
  }
  if (previous_handler.sa_handler != SIG_DFL && previous_handler.sa_handler != SIG_IGN) {
    previous_handler.sa_handler(signal);
    return;
  }
  // Default action: restore it and let the signal take the process down as it would have. A
  // hardware fault re-faults on return; a sent signal is pending (blocked here) until we return.
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  ::sigaction(SIGBUS, &fallback, nullptr);
  ::raise(SIGBUS);
}

void install_handler() {
  struct sigaction handler {};
  handler.sa_sigaction = on_sigbus;
  handler.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&handler.sa_mask);
  ::sigaction(SIGBUS, &handler, &previous_handler);
}

}  // namespace

bool guarded_call(void (*work)(void* context) noexcept, void* context) noexcept {
  static const bool installed = (install_handler(), true);
  (void)installed;
  sigjmp_buf resume;
  // savemask = 0: saving the signal mask is a system call, paid on every guarded read (a
  // tensor-parallel part reads one run per row: over 100,000 of them for a 1 GiB part). Only a
  // fault needs the mask back: the handler runs with SIGBUS blocked, and the jump out of it skips
  // the kernel's restore, so SIGBUS is unblocked here before the next fault can be caught.
  if (sigsetjmp(resume, 0) != 0) {
    sigset_t bus;
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &bus, nullptr);
    return false;
  }
  active_copy = &resume;
  // Keep the compiler from moving the reads outside the window in which the handler can resume.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  work(context);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  active_copy = nullptr;
  return true;
}

bool guarded_copy(void* destination, const void* source, std::size_t size,
                  bool streaming) noexcept {
  struct Copy {
    void* destination;
    const void* source;
    std::size_t size;
    bool streaming;
  } copy{destination, source, size, streaming};
  return guarded_call(
      [](void* context) noexcept {
        const auto& c = *static_cast<const Copy*>(context);
        if (c.streaming) {
          streaming_copy(c.destination, c.source, c.size);
        } else {
          std::memcpy(c.destination, c.source, c.size);
        }
      },
      &copy);
}

}  // namespace stload::detail
