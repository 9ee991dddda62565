// ThreadSanitizer's view of Abseil's synchronization, for the tsan preset.
//
// Debian's Abseil is not built with -fsanitize=thread, so the annotations
// that absl::Mutex carries for TSan (ABSL_TSAN_MUTEX_* in mutex.cc) are
// compiled out: TSan sees no lock taken and reports every access guarded by
// an absl::Mutex as a race. Linked into every executable of a KOURYU_TSAN
// build, this file defines the Mutex, CondVar and Notification entry points
// the installed library exports; each tells TSan what the real one (found
// with dlsym(RTLD_NEXT)) does, as the instrumented mutex.cc would, and
// calls it. The executable's definitions interpose on the library's for
// every caller: the project, gRPC (whose gpr_mu is an absl::Mutex) and
// Abseil itself (Notification and BlockingCounter lock through its PLT).
//
// Destruction is not told (no __tsan_mutex_destroy): gRPC destroys its
// mutexes when reference counts it keeps in uninstrumented atomics drop to
// zero, which TSan would report as a race with the last unlock. TSan
// forgets a mutex when its memory is freed.
//
// Waits that release and retake the lock inside the library (Await,
// CondVar::Wait) are told to TSan as an unlock before and a lock after;
// conditions the library evaluates run with TSan's access checks off, as in
// the instrumented build.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define KOURYU_STRINGIFY_(x) #x
#define KOURYU_STRINGIFY(x) KOURYU_STRINGIFY_(x)

// The address of the real function whose Itanium-mangled name, after
// "_ZN4absl<inline namespace>" (_ZNK for a const member), is `rest` (e.g.
// "5Mutex4LockEv").
template <typename F>
F Real(const char* rest, bool is_const = false) {
  std::string name = is_const ? "_ZNK4absl" : "_ZN4absl";
#ifdef ABSL_OPTION_INLINE_NAMESPACE_NAME
  const char* ns = KOURYU_STRINGIFY(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  name += std::to_string(std::strlen(ns)) + ns;
#endif
  name += rest;
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_abseil_sync: %s not found in Abseil\n",
                 name.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

// Notification's flag, which its inline HasBeenNotified() reads with an
// acquire load: released on that address so that the load synchronizes.
void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Notification) >=
                sizeof(absl::Mutex) + sizeof(std::atomic<bool>));
  return const_cast<char*>(reinterpret_cast<const char*>(n)) +
         sizeof(absl::Mutex);
}

// Set while a Mutex or CondVar entry point runs: the library calls its own
// entry points (AwaitWithTimeout calls AwaitWithDeadline), and only the
// outer call is told to TSan.
thread_local bool in_mutex_call = false;

class MutexCall {
 public:
  MutexCall() : outer_(!in_mutex_call) { in_mutex_call = true; }
  ~MutexCall() {
    if (outer_) in_mutex_call = false;
  }
  bool outer() const { return outer_; }

 private:
  const bool outer_;
};

// A wait on a held `mu` that releases it and takes it again.
template <typename F>
auto Rewait(absl::Mutex* mu, F&& wait) {
  __tsan_mutex_pre_unlock(mu, 0);
  __tsan_mutex_post_unlock(mu, 0);
  __tsan_mutex_pre_lock(mu, 0);
  auto result = wait();
  __tsan_mutex_post_lock(mu, 0, 0);
  return result;
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex4LockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  __tsan_mutex_pre_lock(this, 0);
  real(this);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::TryLock() {
  static auto real = Real<bool (*)(Mutex*)>("5Mutex7TryLockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, __tsan_mutex_try_lock | (locked ? 0 : __tsan_mutex_try_lock_failed),
      0);
  return locked;
}

void Mutex::Unlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex6UnlockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  __tsan_mutex_pre_unlock(this, 0);
  real(this);
  __tsan_mutex_post_unlock(this, 0);
}

void Mutex::ReaderLock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex10ReaderLockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  __tsan_mutex_pre_lock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_lock(this, __tsan_mutex_read_lock, 0);
}

bool Mutex::ReaderTryLock() {
  static auto real = Real<bool (*)(Mutex*)>("5Mutex13ReaderTryLockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  const unsigned flags = __tsan_mutex_read_lock | __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(this, flags);
  const bool locked = real(this);
  __tsan_mutex_post_lock(
      this, flags | (locked ? 0 : __tsan_mutex_try_lock_failed), 0);
  return locked;
}

void Mutex::ReaderUnlock() {
  static auto real = Real<void (*)(Mutex*)>("5Mutex12ReaderUnlockEv");
  MutexCall call;
  if (!call.outer()) return real(this);
  __tsan_mutex_pre_unlock(this, __tsan_mutex_read_lock);
  real(this);
  __tsan_mutex_post_unlock(this, __tsan_mutex_read_lock);
}

void Mutex::LockWhen(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex8LockWhenERKNS0_9ConditionE");
  MutexCall call;
  if (!call.outer()) return real(this, cond);
  __tsan_mutex_pre_lock(this, 0);
  real(this, cond);
  __tsan_mutex_post_lock(this, 0, 0);
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  MutexCall call;
  if (!call.outer()) return real(this, cond, timeout);
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, timeout);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  MutexCall call;
  if (!call.outer()) return real(this, cond, deadline);
  __tsan_mutex_pre_lock(this, 0);
  const bool met = real(this, cond, deadline);
  __tsan_mutex_post_lock(this, 0, 0);
  return met;
}

void Mutex::Await(const Condition& cond) {
  static auto real = Real<void (*)(Mutex*, const Condition&)>(
      "5Mutex5AwaitERKNS0_9ConditionE");
  MutexCall call;
  if (!call.outer()) return real(this, cond);
  Rewait(this, [&] {
    real(this, cond);
    return 0;
  });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Duration)>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  MutexCall call;
  if (!call.outer()) return real(this, cond, timeout);
  return Rewait(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<bool (*)(Mutex*, const Condition&, absl::Time)>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  MutexCall call;
  if (!call.outer()) return real(this, cond, deadline);
  return Rewait(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static auto real =
      Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  MutexCall call;
  if (!call.outer()) return real(this, mu);
  Rewait(mu, [&] {
    real(this, mu);
    return 0;
  });
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  MutexCall call;
  if (!call.outer()) return real(this, mu, timeout);
  return Rewait(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  MutexCall call;
  if (!call.outer()) return real(this, mu, deadline);
  return Rewait(mu, [&] { return real(this, mu, deadline); });
}

void Notification::Notify() {
  static auto real = Real<void (*)(Notification*)>("12Notification6NotifyEv");
  __tsan_release(NotifiedFlag(this));
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = Real<void (*)(const Notification*)>(
      "12Notification19WaitForNotificationEv", /*is_const=*/true);
  real(this);
  __tsan_acquire(NotifiedFlag(this));
}

bool Notification::WaitForNotificationWithTimeout(
    absl::Duration timeout) const {
  static auto real = Real<bool (*)(const Notification*, absl::Duration)>(
      "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE",
      /*is_const=*/true);
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static auto real = Real<bool (*)(const Notification*, absl::Time)>(
      "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE",
      /*is_const=*/true);
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(NotifiedFlag(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
