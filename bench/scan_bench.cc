// Scan throughput: parses each granule and writes its references (to memory), repeatedly, and
// reports granules/s, microseconds per granule, and the reads, dependent rounds and bytes each
// granule costs through a counting ByteSource (what a remote transport would pay).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vz/app/scan.h"
#include "vz/io/block_cache.h"
#include "vz/refs/kerchunk.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: scan_bench ITERATIONS FILE...\n");
    return 2;
  }
  int iterations = std::max(1, std::atoi(argv[1]));
  std::vector<std::string> files(argv + 2, argv + argc);
  vz::app::ScanOptions options;
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
      auto st = vz::refs::MaterializeInline(*ds, counter, options.kerchunk);
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
