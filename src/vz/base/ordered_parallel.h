// An ordered, windowed parallel loop: `produce(i)` runs for i in [begin, end) on `jobs` worker
// threads, and `consume(i, result)` runs on the calling thread strictly in index order. At most
// `window` results are produced ahead of the one being consumed, so memory stays bounded however
// many items there are (a build of 10,000 granules holds a few dozen scans, not 10,000). The
// first error `consume` returns stops the loop: no new item is started, the ones in flight are
// finished and dropped, and that error is returned. `produce` never fails the loop by itself;
// its Result is the consumer's to judge (skip a bad granule, or stop).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "vz/base/error.h"

namespace vz {

struct OrderedParallelOptions {
  unsigned jobs = 1;       // worker threads (0 counts as 1)
  std::size_t window = 0;  // results produced ahead of consumption; 0: 4 per job, at least 4
};

template <typename T>
Status OrderedParallel(std::size_t begin, std::size_t end, const OrderedParallelOptions& options,
                       const std::function<T(std::size_t)>& produce,
                       const std::function<Status(std::size_t, T)>& consume) {
  if (begin >= end) return Ok();
  const unsigned jobs = std::max(1u, options.jobs);
  const std::size_t window =
      options.window != 0 ? options.window : std::max<std::size_t>(4, std::size_t{jobs} * 4);
  std::vector<std::optional<T>> slots(end - begin);
  std::mutex mu;
  std::condition_variable cv;
  std::size_t next = begin;
  std::size_t consumed = begin;
  bool stop = false;
  auto worker = [&] {
    for (;;) {
      std::size_t i = 0;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next >= end || next < consumed + window; });
        if (stop || next >= end) return;
        i = next++;
      }
      T r = produce(i);
      {
        std::lock_guard<std::mutex> lock(mu);
        slots[i - begin].emplace(std::move(r));
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(jobs);
  for (unsigned t = 0; t < jobs; ++t) threads.emplace_back(worker);
  Status status = Ok();
  for (std::size_t i = begin; i < end; ++i) {
    std::optional<T> r;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return slots[i - begin].has_value(); });
      r = std::move(slots[i - begin]);
      slots[i - begin].reset();
      consumed = i + 1;
    }
    cv.notify_all();
    status = consume(i, std::move(*r));
    if (!status.ok()) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  return status;
}

}  // namespace vz
