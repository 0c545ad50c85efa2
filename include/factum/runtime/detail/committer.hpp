#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <factum/store/event_store.hpp>

namespace factum::detail {

/// Told the outcome of an append handed to the committer. Gets its request
/// back, so the caller can build its answer from the events it sent.
class commit_waiter {
 public:
  virtual void committed(result<append_result> r, append_request request) = 0;

 protected:
  ~commit_waiter() = default;
};

/// Group commit: one writer thread takes every append queued since its last
/// batch and gives them to the store as one `append_batch` (one transaction,
/// one fsync on SQLite). While it writes, the next batch gathers, so the
/// batch grows with the load by itself; nobody waits for a timer.
class committer {
 public:
  explicit committer(event_store& store) : store_(store), thread_([this] { run(); }) {}
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;
  ~committer() { stop(); }

  void submit(append_request request, commit_waiter& waiter) {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      waiters_.push_back(&waiter);
    }
    wake_.notify_one();
  }

  /// Writes what is queued, then ends the writer thread.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::vector<append_request> requests;
    std::vector<commit_waiter*> waiters;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !requests_.empty(); });
        if (requests_.empty()) return;  // stopping, and nothing left
        requests.swap(requests_);
        waiters.swap(waiters_);
      }
      // `append_batch` answers every request, and turns what a backend
      // throws into errors; what could still throw here (an allocation)
      // fails the batch, as nothing may end this thread by an exception.
      std::vector<result<append_result>> results;
      try {
        results = store_.append_batch(requests);
      } catch (...) {
        results.clear();
      }
      for (std::size_t i = 0; i < waiters.size(); ++i)
        waiters[i]->committed(
            i < results.size() ? std::move(results[i])
                               : result<append_result>{error{
                                     errc::storage_io, "the group commit failed (out of memory)"}},
            std::move(requests[i]));
      requests.clear();
      waiters.clear();
    }
  }

  event_store& store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<append_request> requests_;
  std::vector<commit_waiter*> waiters_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace factum::detail
