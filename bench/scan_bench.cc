// Scan throughput: parses each granule and writes its references (to memory), repeatedly, and
// reports granules/s, microseconds per granule, and the reads, dependent rounds and bytes each
// granule costs through a counting ByteSource (what a remote transport would pay).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vz/app/scan.h"
#include "vz/io/block_cache.h"
#include "vz/materialize/materialize.h"
#include "vz/refs/kerchunk.h"

int main(int argc, char** argv) {
  vz::app::ScanOptions options;
  std::vector<std::string> args(argv + 1, argv + argc);
  // --first-read / --block-size / --tail-read N: the cache shape to measure instead of the local
  // default.
  while (args.size() >= 2 &&
         (args[0] == "--first-read" || args[0] == "--block-size" || args[0] == "--tail-read")) {
    auto& field = args[0] == "--first-read"   ? options.cache.first_read
                  : args[0] == "--block-size" ? options.cache.block_size
                                              : options.cache.tail_read;
    field = std::strtoull(args[1].c_str(), nullptr, 10);
    options.cache_set_by_user = true;
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() < 2) {
    std::fprintf(
        stderr,
        "usage: scan_bench [--first-read N] [--block-size N] [--tail-read N] ITERATIONS FILE...\n");
    return 2;
  }
  int iterations = std::max(1, std::atoi(args[0].c_str()));
  std::vector<std::string> files(args.begin() + 1, args.end());
  std::uint64_t rounds = 0, requests = 0, bytes = 0, granules = 0, refs_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  for (int it = 0; it < iterations; ++it) {
    for (const auto& f : files) {
      auto src = vz::io::OpenSource(f);
      if (!src.ok()) {
        std::fprintf(stderr, "%s\n", src.error().ToString().c_str());
        return 1;
      }
      vz::io::CountingSource counter(**src);
      vz::io::BlockCache cache(counter, vz::app::CacheOptionsFor(f, options));
      auto ds = vz::app::ParseFile(cache, options.limits);
      if (!ds.ok()) {
        std::fprintf(stderr, "%s: %s\n", f.c_str(), ds.error().ToString().c_str());
        return 1;
      }
      // As `vzgen scan` does: chunk data comes from the cached blocks or one uncached read.
      vz::io::UncachedView data(cache);
      auto st = vz::materialize::MaterializeInline(*ds, data, options.kerchunk);
      std::ostringstream out;
      if (st.ok()) st = vz::refs::WriteKerchunkJson(*ds, options.kerchunk, out);
      if (!st.ok()) {
        std::fprintf(stderr, "%s: %s\n", f.c_str(), st.error().ToString().c_str());
        return 1;
      }
      rounds += counter.rounds();
      requests += counter.requests();
      bytes += counter.bytes();
      refs_bytes += out.str().size();
      ++granules;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto g = static_cast<double>(granules);
  fmt::print("granules          {}\n", granules);
  fmt::print("granules/s        {:.0f}\n", g / secs);
  fmt::print("us per granule    {:.1f}\n", secs * 1e6 / g);
  fmt::print("rounds/granule    {:.2f}\n", static_cast<double>(rounds) / g);
  fmt::print("requests/granule  {:.2f}\n", static_cast<double>(requests) / g);
  fmt::print("bytes/granule     {:.0f}\n", static_cast<double>(bytes) / g);
  fmt::print("refs bytes/granule {:.0f}\n", static_cast<double>(refs_bytes) / g);
  return 0;
}
