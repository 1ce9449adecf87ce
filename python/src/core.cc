// vzgen._core: the C++ core for Python. A RefStore crosses into Python as a vzgen.store.Store
// whose reference columns are numpy arrays viewing the C++ vectors (kept alive by a capsule), so
// handing millions of references to pyarrow or icechunk costs no copy and no Python loop. The
// formats the package writes through Python libraries (kerchunk Parquet, Icechunk) are
// registered with the core's format registry, so `vzgen build --format parquet` run from the
// package is the same CLI code as the native one.
#include <fmt/format.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vz/app/atomic_file.h"
#include "vz/app/build.h"
#include "vz/app/formats.h"
#include "vz/refs/json_writer.h"
#include "vz/refs/store.h"
#include "vz/refs/translate.h"

int VzgenMain(int argc, char** argv);  // src/vz/cli/main.cc built with VZ_CLI_LIBRARY

namespace nb = nanobind;

namespace {

using vz::refs::RefArray;
using vz::refs::RefStore;
using vz::refs::SortedJson;

[[noreturn]] void Raise(const vz::Error& e) {
  nb::object error = nb::module_::import_("vzgen.store").attr("Error");
  PyErr_SetString(error.ptr(), e.ToString().c_str());
  throw nb::python_error();
}

template <typename T>
T Check(vz::Result<T> r) {
  if (!r.ok()) Raise(r.error());
  return std::move(r).value();
}

void Check(const vz::Status& s) {
  if (!s.ok()) Raise(s.error());
}

// JSON as the store writes it (bare NaN/Infinity), parsed by Python's json.
nb::object ToPython(const SortedJson& j) {
  return nb::module_::import_("json").attr("loads")(vz::refs::ToJson(j));
}

SortedJson FromPython(nb::handle obj) {
  nb::object text = nb::module_::import_("json").attr("dumps")(obj);
  return Check(vz::refs::ParseLenientJson(nb::cast<std::string>(text)));
}

template <typename T>
nb::object View(const std::vector<T>& v, std::initializer_list<std::size_t> shape,
                nb::handle owner) {
  using Array = nb::ndarray<nb::numpy, const T>;
  return nb::cast(Array(v.data(), shape.size(), shape.begin(), owner), nb::rv_policy::reference);
}

nb::bytes Bytes(const std::vector<std::uint8_t>& b) {
  return nb::bytes(reinterpret_cast<const char*>(b.data()), b.size());  // NOLINT
}

// The RefStore as a vzgen.store.Store; the store's memory is shared with the numpy columns.
nb::object ToStore(std::shared_ptr<const RefStore> store) {
  nb::module_ m = nb::module_::import_("vzgen.store");
  auto* keep = new std::shared_ptr<const RefStore>(store);
  nb::capsule owner(
      keep, [](void* p) noexcept { delete static_cast<std::shared_ptr<const RefStore>*>(p); });
  nb::list arrays;
  for (const RefArray& a : store->arrays) {
    SortedJson zarray = a.zarray;
    if (a.InMemory()) {  // one chunk holds the whole array, as the JSON writer writes it
      SortedJson chunks = SortedJson::array();
      for (auto s : a.Shape()) chunks.push_back(s == 0 ? 1 : s);
      zarray["chunks"] = chunks;
    }
    const auto& e = a.entries;
    nb::dict inl;
    for (const auto& [i, bytes] : e.inline_data) inl[nb::int_(i)] = Bytes(bytes);
    nb::object raw = a.raw ? nb::object(Bytes(*a.raw)) : nb::none();
    nb::object strings = nb::none();
    if (a.strings) {
      nb::list l;
      for (const auto& s : *a.strings)
        l.append(s ? nb::object(nb::str(s->c_str(), s->size())) : nb::none());
      strings = l;
    }
    arrays.append(m.attr("ArrayRefs")(
        a.name, ToPython(zarray), ToPython(a.zattrs), View(e.coords, {e.size(), e.rank}, owner),
        View(e.path_ids, {e.size()}, owner), View(e.offsets, {e.size()}, owner),
        View(e.lengths, {e.size()}, owner), inl, raw, strings));
  }
  nb::list groups;
  for (const auto& g : store->groups) groups.append(nb::make_tuple(g.name, ToPython(g.zattrs)));
  nb::list urls;
  nb::list checksums;
  nb::list modified;
  for (std::size_t i = 0; i < store->urls.size(); ++i) {
    urls.append(store->urls[i]);
    const bool etag = i < store->checksums.size() && !store->checksums[i].empty();
    checksums.append(etag ? nb::object(nb::str(store->checksums[i].c_str())) : nb::none());
    modified.append(i < store->last_modified.size() && store->last_modified[i] != 0
                        ? nb::object(nb::int_(store->last_modified[i]))
                        : nb::none());
  }
  nb::object meta = store->meta.is_object() ? ToPython(store->meta) : nb::none();
  return m.attr("Store")(urls, checksums, modified, groups, arrays, meta);
}

template <typename T>
std::vector<T> Column(nb::handle obj, std::size_t expect, const std::string& what) {
  nb::object np = nb::module_::import_("numpy");
  nb::object arr = np.attr("ascontiguousarray")(
      obj, nb::arg("dtype") = np.attr("dtype")(sizeof(T) == 8 ? "uint64" : "uint32"));
  auto view = nb::cast<nb::ndarray<const T, nb::c_contig, nb::device::cpu>>(arr);
  if (view.size() != expect) {
    Raise(vz::InvalidArgument(fmt::format("{}: {} values for {}", what, view.size(), expect)));
  }
  return std::vector<T>(view.data(), view.data() + view.size());
}

// A vzgen.store.Store (from the package's readers) as a RefStore.
RefStore FromStore(nb::handle obj) {
  RefStore store;
  for (nb::handle u : obj.attr("urls")) store.urls.push_back(nb::cast<std::string>(u));
  for (nb::handle c : obj.attr("checksums")) {
    store.checksums.push_back(c.is_none() ? std::string() : nb::cast<std::string>(c));
  }
  for (nb::handle t : obj.attr("last_modified")) {
    store.last_modified.push_back(t.is_none() ? 0 : nb::cast<std::int64_t>(t));
  }
  if (store.checksums.size() != store.urls.size()) store.checksums.clear();
  if (store.last_modified.size() != store.urls.size()) store.last_modified.clear();
  for (nb::handle g : obj.attr("groups")) {
    auto t = nb::cast<nb::tuple>(g);
    store.groups.push_back({nb::cast<std::string>(t[0]), FromPython(t[1])});
  }
  for (nb::handle h : obj.attr("arrays")) {
    RefArray a;
    a.name = nb::cast<std::string>(h.attr("name"));
    a.zarray = FromPython(h.attr("zarray"));
    a.zattrs = FromPython(h.attr("zattrs"));
    a.entries.rank = a.Shape().size();
    const std::size_t n = nb::len(nb::object(h.attr("offsets")));
    auto& e = a.entries;
    e.coords =
        Column<std::uint32_t>(h.attr("coords").attr("reshape")(-1), n * e.rank, a.name + " coords");
    e.path_ids = Column<std::uint32_t>(h.attr("path_ids"), n, a.name + " path_ids");
    e.offsets = Column<std::uint64_t>(h.attr("offsets"), n, a.name + " offsets");
    e.lengths = Column<std::uint64_t>(h.attr("lengths"), n, a.name + " lengths");
    for (auto [k, v] : nb::cast<nb::dict>(h.attr("inline"))) {
      auto b = nb::cast<nb::bytes>(v);
      const auto* p = static_cast<const std::uint8_t*>(b.data());
      e.inline_data[nb::cast<std::size_t>(k)] = std::vector<std::uint8_t>(p, p + b.size());
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (e.inline_data.count(i) == 0 && e.path_ids[i] >= store.urls.size()) {
        Raise(vz::Corrupt(fmt::format("{}: reference to path #{} of {}", a.name, e.path_ids[i],
                                      store.urls.size())));
      }
    }
    nb::object raw = h.attr("raw");
    if (!raw.is_none()) {
      auto b = nb::cast<nb::bytes>(raw);
      const auto* p = static_cast<const std::uint8_t*>(b.data());
      a.raw = std::vector<std::uint8_t>(p, p + b.size());
    }
    nb::object strings = h.attr("strings");
    if (!strings.is_none()) {
      std::vector<std::optional<std::string>> s;
      for (nb::handle x : strings) {
        s.push_back(x.is_none() ? std::nullopt : std::optional(nb::cast<std::string>(x)));
      }
      a.strings = std::move(s);
    }
    // Arrays stored whole in one inline chunk are held in memory, as the JSON reader does.
    Check(vz::refs::HoldWholeInlineInMemory(a, "the store"));
    store.arrays.push_back(std::move(a));
  }
  nb::object meta = obj.attr("meta");
  if (!meta.is_none()) store.meta = FromPython(meta);
  return store;
}

// Registers a format written (and read) by Python functions. `write(store, target, append,
// consolidated)` and `read(target)` return an error line ("" / a Store on success).
void RegisterFormat(const std::string& name, nb::object write, nb::object read) {
  vz::app::StoreFormat f;
  f.name = name;
  f.write = [write](const RefStore& store, const std::string& target,
                    const vz::app::FormatWriteOptions& o) -> vz::Status {
    nb::gil_scoped_acquire gil;
    try {
      // The store is only borrowed for the call: the writer must not keep its columns.
      std::shared_ptr<const RefStore> borrowed(&store, [](const RefStore*) {});
      nb::object err = write(ToStore(borrowed), target, o.append, o.consolidated);
      if (!err.is_none()) return vz::IoError(nb::cast<std::string>(err));
      return vz::Ok();
    } catch (nb::python_error& e) {
      return vz::Internal(e.what());
    }
  };
  if (!read.is_none()) {
    f.read = [read](const std::string& target) -> vz::Result<RefStore> {
      nb::gil_scoped_acquire gil;
      try {
        nb::object r = read(target);
        if (nb::isinstance<nb::str>(r)) return vz::Corrupt(nb::cast<std::string>(r));
        return FromStore(r);
      } catch (nb::python_error& e) {
        return vz::Internal(e.what());
      }
    };
  }
  vz::app::RegisterStoreFormat(std::move(f));
}

vz::app::BuildOptions OptionsFrom(const nb::dict& o) {
  vz::app::BuildOptions b;
  auto str = [&](const char* k, std::string& out) {
    if (o.contains(k) && !o[k].is_none()) out = nb::cast<std::string>(o[k]);
  };
  auto list = [&](const char* k) {
    std::vector<std::string> v;
    if (o.contains(k) && !o[k].is_none()) {
      for (nb::handle x : o[k]) v.push_back(nb::cast<std::string>(x));
    }
    return v;
  };
  str("concat_dim", b.combine.concat_dim);
  str("new_dim", b.combine.new_dim);
  str("granule_coord", b.combine.granule_coord);
  b.loadable_vars = list("loadable_vars");
  for (auto& v : list("identical_vars")) b.combine.identical_vars.insert(v);
  if (o.contains("inline_threshold")) {
    b.scan.kerchunk.inline_threshold = nb::cast<std::uint64_t>(o["inline_threshold"]);
  }
  if (o.contains("jobs")) b.jobs = nb::cast<unsigned>(o["jobs"]);
  if (o.contains("on_error")) b.skip_bad = nb::cast<std::string>(o["on_error"]) == "skip";
  return b;
}

nb::object Build(const std::vector<std::string>& inputs, const nb::dict& options) {
  vz::app::BuildOptions b = OptionsFrom(options);
  auto expanded = Check(vz::app::ExpandInputs(inputs));
  Check(vz::app::CheckInputsAreFiles(expanded));
  Check(vz::combine::ValidateGranuleCoord(b.combine.granule_coord));
  vz::Result<vz::app::CombinedStore> combined = vz::Internal("not run");
  {
    nb::gil_scoped_release release;  // the scan runs on the core's threads
    combined = vz::app::CombineInputs(std::nullopt, "", expanded, b);
  }
  auto c = Check(std::move(combined));
  if (!c.usable) {
    std::string why;
    for (const auto& [path, reason] : c.report.skipped) why += "\n  " + reason;
    Raise(vz::InvalidArgument("no granule could be used: all were skipped:" + why));
  }
  return ToStore(std::make_shared<const RefStore>(std::move(c.store)));
}

nb::object Read(const std::string& path) {
  return ToStore(std::make_shared<const RefStore>(Check(vz::app::ReadAnyStore(path))));
}

void Write(nb::handle store, const std::string& target, const std::string& format,
           bool consolidated) {
  const auto* f = Check(vz::app::FindStoreFormat(format));
  Check(vz::app::CheckFormatTarget(target, format));
  vz::app::FormatWriteOptions o;
  o.consolidated = consolidated;
  Check(f->write(FromStore(store), target, o));
}

nb::bytes EncodeVlen(const std::vector<std::optional<std::string>>& values, bool utf8) {
  return Bytes(Check(vz::refs::EncodeVlen(values, utf8)));
}

int Main(std::vector<std::string> argv, bool handlers) {
  if (handlers) vz::app::InstallInterruptHandlers();
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  return VzgenMain(static_cast<int>(argv.size()), args.data());
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "vzgen's C++ core (scan, combine, kerchunk JSON) for the Python package";
  m.def("build", &Build, nb::arg("inputs"), nb::arg("options"));
  m.def("read", &Read, nb::arg("path"));
  m.def("write", &Write, nb::arg("store"), nb::arg("target"), nb::arg("format"),
        nb::arg("consolidated") = false);
  m.def("register_format", &RegisterFormat, nb::arg("name"), nb::arg("write"),
        nb::arg("read").none());
  m.def("encode_vlen", &EncodeVlen, nb::arg("values"), nb::arg("utf8") = true);
  m.def("main", &Main, nb::arg("argv"), nb::arg("handlers") = false);
  m.attr("__version__") = VZ_VERSION;
}
