// Scale test for `vzgen build`'s combine and writer: N synthetic granules x V variables x C
// chunks (default 10,000 x 4 x 300 = 12 M references) generated directly in the reference-store
// model, combined along time and written to a file. Prints time and peak RSS.
//   combine_scale [granules] [variables] [chunks] [output]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "vz/combine/combine.h"
#include "vz/refs/store.h"

namespace {

vz::refs::RefStore Granule(std::uint32_t g, std::uint32_t vars, std::uint32_t chunks) {
  using vz::refs::SortedJson;
  vz::refs::RefStore s;
  s.urls = {"s3://podaac-ops-cumulus-protected/MUR-JPL-L4-GLOB-v4.1/granule-" + std::to_string(g) +
            ".nc"};
  s.groups.push_back({"", {{"title", "scale test"}, {"granule", g}}});
  vz::refs::RefArray time;
  time.name = "time";
  time.zarray = {{"chunks", {1}},         {"compressor", nullptr}, {"dtype", "<i4"},
                 {"fill_value", nullptr}, {"filters", nullptr},    {"order", "C"},
                 {"shape", {1}},          {"zarr_format", 2}};
  time.zattrs = {{"_ARRAY_DIMENSIONS", {"time"}}, {"units", "days since 2000-01-01"}};
  time.raw =
      std::vector<std::uint8_t>{static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(g >> 8),
                                static_cast<std::uint8_t>(g >> 16), 0};
  s.arrays.push_back(time);
  const std::uint32_t side = 20;  // chunks laid out 20 x (chunks / 20)
  for (std::uint32_t v = 0; v < vars; ++v) {
    vz::refs::RefArray a;
    a.name = "var" + std::to_string(v);
    a.zarray = {{"chunks", {1, 90, 180}},
                {"compressor", nullptr},
                {"dtype", "<i2"},
                {"fill_value", -32768},
                {"filters", SortedJson::array({{{"id", "shuffle"}, {"elementsize", 2}},
                                               {{"id", "zlib"}, {"level", 4}}})},
                {"order", "C"},
                {"shape", {1, 90 * side, 180 * ((chunks + side - 1) / side)}},
                {"zarr_format", 2}};
    a.zattrs = {{"_ARRAY_DIMENSIONS", {"time", "lat", "lon"}}, {"scale_factor", 0.001}};
    a.entries.rank = 3;
    for (std::uint32_t c = 0; c < chunks; ++c) {
      const std::uint32_t coords[] = {0, c % side, c / side};
      a.entries.Add(coords, 0, 4096 + std::uint64_t{c} * 20000, 19000 + c);
    }
    s.arrays.push_back(std::move(a));
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const auto granules = static_cast<std::uint32_t>(argc > 1 ? std::atoi(argv[1]) : 10000);
  const auto vars = static_cast<std::uint32_t>(argc > 2 ? std::atoi(argv[2]) : 4);
  const auto chunks = static_cast<std::uint32_t>(argc > 3 ? std::atoi(argv[3]) : 300);
  const std::string output = argc > 4 ? argv[4] : "/dev/null";
  const auto start = std::chrono::steady_clock::now();
  vz::combine::CombineOptions options;
  options.concat_dim = "time";
  vz::combine::Combiner combiner(options);
  for (std::uint32_t g = 0; g < granules; ++g) {
    auto st = combiner.Add(Granule(g, vars, chunks), "granule-" + std::to_string(g));
    if (!st.ok()) {
      std::fprintf(stderr, "error: %s\n", st.error().ToString().c_str());
      return 1;
    }
  }
  const auto added = std::chrono::steady_clock::now();
  auto store = combiner.Finish();
  if (!store.ok()) {
    std::fprintf(stderr, "error: %s\n", store.error().ToString().c_str());
    return 1;
  }
  std::ofstream out(output, std::ios::binary);
  auto st = vz::refs::WriteRefStore(*store, out);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.error().ToString().c_str());
    return 1;
  }
  out.close();
  const auto end = std::chrono::steady_clock::now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double refs = static_cast<double>(granules) * vars * chunks;
  std::printf("combine scale: %u granules x %u variables x %u chunks = %.0f references\n", granules,
              vars, chunks, refs);
  std::printf("  add+check   %.2f s\n", std::chrono::duration<double>(added - start).count());
  std::printf("  total       %.2f s (finish and write included)\n",
              std::chrono::duration<double>(end - start).count());
  std::printf("  peak RSS    %.0f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}
