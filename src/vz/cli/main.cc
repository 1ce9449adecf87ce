// vzgen command line: argument parsing only; the work is in vz/app.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "vz/app/scan.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the input or the environment is bad
constexpr int kExitUsage = 2;   // the command line is bad

int Report(const vz::Status& status) {
  if (status.ok()) return kExitOk;
  std::cerr << "vzgen: error: " << status.error().ToString() << "\n";
  return status.error().code() == vz::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailed;
}

}  // namespace

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"vzgen: NetCDF4/HDF5/netCDF-3 granules to virtual Zarr (kerchunk) references"};
  app.set_version_flag("--version", std::string("vzgen ") + VZ_VERSION);
  app.require_subcommand(1);

  vz::app::ScanOptions options;
  std::string input;
  std::string output;
  bool quiet = false;

  auto add_read_options = [&](CLI::App* cmd) {
    cmd->add_option("--first-read", options.cache.first_read,
                    "bytes read from the start of a file at open (default 4 MiB)")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 32));
    cmd->add_option("--block-size", options.cache.block_size,
                    "metadata read granularity after the first read (default 256 KiB)")
        ->check(CLI::Range(std::uint64_t{512}, std::uint64_t{1} << 30));
  };

  CLI::App* scan = app.add_subcommand("scan", "write kerchunk JSON references for one file");
  scan->add_option("file", input, "HDF5 / netCDF-4 / netCDF-3 file")->required();
  scan->add_option("-o,--output", output, "output JSON path, or - for standard output")->required();
  scan->add_option("--inline-threshold", options.kerchunk.inline_threshold,
                   "embed chunks smaller than this many bytes (default 500; 0 disables)");
  scan->add_option("--max-decoded-inline", options.kerchunk.max_decoded_inline,
                   "largest array (bytes, decoded) inlined when its filters need decoding by "
                   "vzgen (default 64 MiB)");
  scan->add_flag("-q,--quiet", quiet, "do not print warnings");
  add_read_options(scan);

  CLI::App* inspect = app.add_subcommand(
      "inspect", "print groups, arrays, dtype, shape, chunks, filters, chunk index and bytes");
  inspect->add_option("file", input, "HDF5 / netCDF-4 / netCDF-3 file")->required();
  add_read_options(inspect);

  const std::string first = argc > 1 ? argv[1] : "";
  if (!first.empty() && first[0] != '-' && first != "scan" && first != "inspect") {
    std::cerr << "vzgen: error: unknown command '" << argv[1]
              << "' (commands: scan, inspect; see vzgen --help)\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error.
    std::cerr << "vzgen: error: " << e.what() << " (see vzgen --help)\n";
    return kExitUsage;
  }

  for (CLI::App* cmd : {scan, inspect}) {
    if (cmd->parsed() && cmd->count("--first-read") + cmd->count("--block-size") > 0) {
      options.cache_set_by_user = true;
    }
  }
  if (scan->parsed()) {
    std::vector<std::string> warnings;
    auto status = vz::app::Scan(input, output, options, &warnings);
    if (!quiet) {
      for (const auto& w : warnings) std::cerr << "vzgen: warning: " << w << "\n";
    }
    return Report(status);
  }
  if (inspect->parsed()) {
    return Report(vz::app::Inspect(input, options, std::cout));
  }
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "vzgen: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "vzgen: internal error\n";
  }
  return kExitFailed;
}
