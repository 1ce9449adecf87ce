#include "vz/app/formats.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "vz/app/atomic_file.h"
#include "vz/app/verify.h"

namespace vz::app {

namespace {

namespace fs = std::filesystem;

StoreFormat JsonFormat() {
  StoreFormat f;
  f.name = "json";
  f.write = [](const refs::RefStore& store, const std::string& target,
               const FormatWriteOptions& options) {
    return WriteFileAtomically(target, [&](std::ostream& out) {
      refs::WriteOptions w;
      w.consolidated = options.consolidated;
      return refs::WriteRefStore(store, out, w);
    });
  };
  f.read = [](const std::string& target) { return LoadStore(target); };
  return f;
}

struct Registry {
  std::mutex mu;
  std::map<std::string, StoreFormat> formats;
};

Registry& TheRegistry() {
  static Registry* r = [] {
    auto* reg = new Registry;  // never destroyed: formats may be used while the process ends
    reg->formats.emplace("json", JsonFormat());
    return reg;
  }();
  return *r;
}

bool IsRemote(const std::string& path) { return path.find("://") != std::string::npos; }

std::string Describe(const std::string& format) {
  if (format == "json") return "a kerchunk JSON store";
  if (format == "parquet") return "a kerchunk Parquet store";
  if (format == "icechunk") return "an Icechunk repository";
  return "not a reference store";
}

}  // namespace

const std::vector<std::string>& StoreFormatNames() {
  static const std::vector<std::string> names = {"json", "parquet", "icechunk"};
  return names;
}

void RegisterStoreFormat(StoreFormat format) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::string name = format.name;
  r.formats.insert_or_assign(std::move(name), std::move(format));
}

Result<const StoreFormat*> FindStoreFormat(const std::string& name) {
  Registry& r = TheRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.formats.find(name);
    if (it != r.formats.end()) return &it->second;
  }
  bool known = false;
  for (const auto& n : StoreFormatNames()) known = known || n == name;
  if (!known) {
    return InvalidArgument(
        fmt::format("unknown store format '{}' (formats: json, parquet, icechunk)", name));
  }
  return InvalidArgument(fmt::format(
      "the {} format needs the Python package: pip install . in a vzgen checkout (its vzgen "
      "command writes every format); this vzgen writes json only",
      name));
}

std::string DetectStoreFormat(const std::string& path) {
  if (IsRemote(path)) return path.rfind("s3://", 0) == 0 && path.back() == '/' ? "" : "json";
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return "";
  if (fs::is_regular_file(st)) return "json";
  if (!fs::is_directory(st)) return "other";
  const fs::path dir(path);
  if (fs::exists(dir / "repo", ec) ||
      (fs::is_directory(dir / "snapshots", ec) && fs::is_directory(dir / "refs", ec))) {
    return "icechunk";
  }
  std::ifstream zmeta(dir / ".zmetadata");
  if (zmeta) {
    std::stringstream text;
    text << zmeta.rdbuf();
    auto j = refs::ParseLenientJson(text.str());
    if (j.ok() && j->is_object() && j->contains("record_size")) return "parquet";
  }
  return fs::is_empty(dir, ec) && !ec ? "" : "other";
}

Result<refs::RefStore> ReadAnyStore(const std::string& path) {
  const std::string format = DetectStoreFormat(path);
  if (format.empty()) return NotFound(fmt::format("cannot open the store {}", path));
  if (format == "other") {
    return InvalidArgument(fmt::format(
        "{} is not a reference store (a kerchunk JSON file, a kerchunk Parquet directory or an "
        "Icechunk repository)",
        path));
  }
  VZ_ASSIGN_OR_RETURN(const StoreFormat* f, FindStoreFormat(format));
  if (!f->read) {
    return Unsupported(
        fmt::format("{} is {}, which vzgen cannot read back", path, Describe(format)));
  }
  return f->read(path);
}

Status CheckFormatTarget(const std::string& target, const std::string& name) {
  const std::string there = DetectStoreFormat(target);
  if (there.empty() || there == name) return Ok();
  if (name == "json" && there == "other") return Ok();  // CheckOutputTarget words it
  return Incompatible(
      fmt::format("{} is {}, not {} (--format {}): choose another output, or convert it with "
                  "vzgen convert",
                  target, Describe(there), Describe(name), name));
}

Status CheckStoreOutput(const std::string& target, const std::string& name,
                        const std::vector<std::string>& inputs, bool force) {
  VZ_TRY(CheckFormatTarget(target, name));
  if (name == "json") return CheckOutputTarget(target, OutputKind::kReferenceStore, inputs, force);
  return Ok();
}

Status ConvertStore(const std::string& input, const std::string& output, const std::string& name,
                    const FormatWriteOptions& options) {
  VZ_ASSIGN_OR_RETURN(const StoreFormat* format, FindStoreFormat(name));
  VZ_ASSIGN_OR_RETURN(auto store, ReadAnyStore(input));
  return format->write(store, output, options);
}

}  // namespace vz::app
