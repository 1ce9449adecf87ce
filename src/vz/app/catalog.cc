#include "vz/app/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>

#include "vz/auth/sigv4.h"

namespace vz::app {

namespace {

using Json = nlohmann::json;

bool AllDigits(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool IsDataFile(const std::string& name) {
  const std::string n = Lower(name);
  for (const char* ext : {".nc", ".nc4", ".h5", ".hdf5", ".he5", ".hdf"}) {
    const std::string e = ext;
    if (n.size() > e.size() && n.compare(n.size() - e.size(), e.size(), e) == 0) return true;
  }
  return false;
}

std::string BaseName(const std::string& url) {
  const auto slash = url.find_last_of('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The member `key` of `j` when it is an object (Obj) or an array (Arr), else an empty one. CMR
// answers are input: nlohmann's value() throws when a member or its parent has another type.
const Json& Obj(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  auto it = j.find(key);  // end() when j is not an object
  return it != j.end() && it->is_object() ? *it : kEmpty;
}
const Json& Arr(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

}  // namespace

Result<std::string> CmrTime(const std::string& value, bool end) {
  int y = 0;
  int m = 0;
  int d = 0;
  std::string time;
  const auto dash1 = value.find('-');
  const auto dash2 = dash1 == std::string::npos ? dash1 : value.find('-', dash1 + 1);
  if (dash1 == std::string::npos || dash2 == std::string::npos) {
    return InvalidArgument(fmt::format("date '{}' is neither M-D-YYYY nor YYYY-MM-DD", value));
  }
  const std::string a = value.substr(0, dash1);
  const std::string b = value.substr(dash1 + 1, dash2 - dash1 - 1);
  std::string c = value.substr(dash2 + 1);
  const auto t = c.find_first_of("T ");
  if (t != std::string::npos) {
    time = c.substr(t + 1);
    c = c.substr(0, t);
  }
  if (!AllDigits(a) || !AllDigits(b) || !AllDigits(c)) {
    return InvalidArgument(fmt::format("date '{}' is neither M-D-YYYY nor YYYY-MM-DD", value));
  }
  // Each field has its own width, so that stoi never sees a number it cannot hold.
  if (a.size() == 4 && !b.empty() && b.size() <= 2 && !c.empty() && c.size() <= 2) {  // ISO 8601
    y = std::stoi(a);
    m = std::stoi(b);
    d = std::stoi(c);
  } else if (c.size() == 4 && a.size() <= 2 && b.size() <= 2 && time.empty()) {  // M-D-YYYY
    m = std::stoi(a);
    d = std::stoi(b);
    y = std::stoi(c);
  } else {
    return InvalidArgument(fmt::format("date '{}' is neither M-D-YYYY nor YYYY-MM-DD", value));
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1] ||
      (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))) {
    return InvalidArgument(fmt::format("date '{}' does not exist", value));
  }
  if (!time.empty()) {
    if (!time.empty() && (time.back() == 'Z' || time.back() == 'z')) time.pop_back();
    if (time.size() > 8) {
      return InvalidArgument(fmt::format("time in '{}' is not HH:MM[:SS]Z", value));
    }
    int hh = 0;
    int mm = 0;
    int ss = 0;
    if (std::sscanf(time.c_str(), "%d:%d:%d", &hh, &mm, &ss) < 2 || hh > 23 || mm > 59 || ss > 60 ||
        hh < 0 || mm < 0 || ss < 0) {
      return InvalidArgument(fmt::format("time in '{}' is not HH:MM[:SS]Z", value));
    }
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, hh, mm, ss);
  }
  return fmt::format("{:04}-{:02}-{:02}T{}Z", y, m, d, end ? "23:59:59" : "00:00:00");
}

namespace {

// The run's START_DATE and END_DATE in CMR's form ("" where not set), checked for order.
Result<std::pair<std::string, std::string>> RunWindow(const JobConfig& config) {
  std::string from;
  std::string to;
  if (!config.start_date.empty()) {
    VZ_ASSIGN_OR_RETURN(from, CmrTime(config.start_date, false).Annotate("START_DATE"));
  }
  if (!config.end_date.empty()) {
    VZ_ASSIGN_OR_RETURN(to, CmrTime(config.end_date, true).Annotate("END_DATE"));
  }
  if (!from.empty() && !to.empty() && from > to) {
    return InvalidArgument(
        fmt::format("START_DATE {} is after END_DATE {}", config.start_date, config.end_date));
  }
  return std::make_pair(from, to);
}

}  // namespace

Result<std::string> GranuleSearchUrl(const std::string& cmr_url, const JobConfig& config,
                                     int page_size) {
  std::string base = cmr_url.empty() ? "https://cmr.earthdata.nasa.gov/search" : cmr_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = fmt::format("{}/granules.umm_json?short_name={}", base,
                                auth::UriEncode(config.collection, false));
  if (!config.provider.empty()) url += "&provider=" + auth::UriEncode(config.provider, false);
  if (!config.version.empty()) url += "&version=" + auth::UriEncode(config.version, false);
  if (!config.concept_id.empty()) {
    url += "&collection_concept_id=" + auth::UriEncode(config.concept_id, false);
  }
  for (const auto& pattern : config.granule_names) {
    url += "&readable_granule_name%5B%5D=" + auth::UriEncode(pattern, false);
  }
  if (!config.granule_names.empty()) {
    url += "&options%5Breadable_granule_name%5D%5Bpattern%5D=true";
  }
  if (!config.bounding_box.empty()) {
    double w = 0;
    double so = 0;
    double e = 0;
    double n = 0;
    char tail = 0;
    if (std::sscanf(config.bounding_box.c_str(), "%lf,%lf,%lf,%lf%c", &w, &so, &e, &n, &tail) !=
            4 ||
        w < -180 || w > 180 || e < -180 || e > 180 || so < -90 || n > 90 || so > n) {
      return InvalidArgument(fmt::format(
          "bounding box '{}' is not W,S,E,N in degrees (west may exceed east across 180)",
          config.bounding_box));
    }
    url += "&bounding_box=" + auth::UriEncode(config.bounding_box, false);
  }
  if (!config.start_date.empty() || !config.end_date.empty()) {
    VZ_ASSIGN_OR_RETURN(const auto window, RunWindow(config));
    url += "&temporal%5B%5D=" + auth::UriEncode(window.first + "," + window.second, false);
  }
  url += fmt::format("&sort_key%5B%5D=start_date&page_size={}", page_size);
  return url;
}

Result<CatalogResult> ParseGranulePage(const std::string& body) {
  const Json page = Json::parse(body, nullptr, false);
  if (page.is_discarded() || !page.is_object()) return Corrupt("CMR answered with no JSON");
  CatalogResult out;
  auto items = page.find("items");
  if (items == page.end() || !items->is_array()) return Corrupt("CMR answer has no items");
  for (const auto& item : *items) {
    const Json& umm = Obj(item, "umm");
    const std::string ur = Str(umm, "GranuleUR");
    const Json& item_meta = Obj(item, "meta");
    const std::string concept_id = Str(item_meta, "concept-id");
    std::int64_t revision = 0;
    if (auto rev = item_meta.find("revision-id");
        rev != item_meta.end() && rev->is_number_integer()) {
      revision = rev->get<std::int64_t>();
    }
    // The data files: netCDF/HDF5 names from DataGranule, else from the GET DATA links.
    std::vector<std::string> names;
    std::map<std::string, std::pair<std::uint64_t, std::string>> file_info;  // size, checksum
    const Json& dg = Obj(umm, "DataGranule");
    for (const auto& f : Arr(dg, "ArchiveAndDistributionInformation")) {
      const std::string n = Str(f, "Name");
      if (!IsDataFile(n)) continue;
      names.push_back(n);
      std::uint64_t size = 0;
      if (f.contains("SizeInBytes") && f["SizeInBytes"].is_number_unsigned()) {
        size = f["SizeInBytes"].get<std::uint64_t>();
      }
      std::string sum;
      if (f.contains("Checksum") && f["Checksum"].is_object()) {
        sum = Str(f["Checksum"], "Algorithm") + ":" + Str(f["Checksum"], "Value");
      }
      file_info[n] = {size, sum};
    }
    std::vector<std::pair<std::string, std::string>> links;  // type, url
    for (const auto& r : Arr(umm, "RelatedUrls")) {
      const std::string url = Str(r, "URL");
      const std::string type = Str(r, "Type");
      links.emplace_back(type, url);
      if (out.s3_credentials_url.empty() && url.find("/s3credentials") != std::string::npos) {
        out.s3_credentials_url = url;
      }
    }
    if (names.empty()) {
      for (const auto& [type, url] : links) {
        if (type == "GET DATA" && IsDataFile(BaseName(url)) &&
            std::find(names.begin(), names.end(), BaseName(url)) == names.end()) {
          names.push_back(BaseName(url));
        }
      }
    }
    std::string begin;
    std::string end;
    const Json& te = Obj(umm, "TemporalExtent");
    if (te.contains("RangeDateTime")) {
      begin = Str(te["RangeDateTime"], "BeginningDateTime");
      end = Str(te["RangeDateTime"], "EndingDateTime");
    } else if (te.contains("SingleDateTime")) {
      begin = end = Str(te, "SingleDateTime");
    }
    std::optional<std::int64_t> cycle;
    std::optional<std::int64_t> pass;
    const Json& track = Obj(Obj(Obj(umm, "SpatialExtent"), "HorizontalSpatialDomain"), "Track");
    if (track.contains("Cycle") && track["Cycle"].is_number_integer()) {
      cycle = track["Cycle"].get<std::int64_t>();
    }
    for (const auto& p : Arr(track, "Passes")) {
      if (p.contains("Pass") && p["Pass"].is_number_integer()) {
        pass = p["Pass"].get<std::int64_t>();
        break;
      }
    }
    if (names.empty()) out.without_data.push_back(ur);
    for (const auto& n : names) {
      CatalogGranule g;
      g.name = n;
      for (const auto& [type, url] : links) {
        if (BaseName(url) != n) continue;
        if (type == "GET DATA VIA DIRECT ACCESS" && url.rfind("s3://", 0) == 0) g.s3_url = url;
        if (type == "GET DATA" && url.rfind("http", 0) == 0) g.https_url = url;
      }
      if (g.s3_url.empty() && g.https_url.empty()) {
        return Corrupt(fmt::format("granule {}: no data link for {}", ur, n));
      }
      g.begin = begin;
      g.end = end;
      if (auto info = file_info.find(n); info != file_info.end()) {
        g.size = info->second.first;
        g.checksum = info->second.second;
      }
      g.cycle = cycle;
      g.pass = pass;
      g.granule_ur = ur;
      g.concept_id = concept_id;
      g.revision = revision;
      out.granules.push_back(std::move(g));
    }
  }
  return out;
}

namespace {

Result<io::HttpResponse> CmrGet(io::HttpTransport& transport, const std::string& url,
                                const std::string& search_after) {
  for (int attempt = 0;; ++attempt) {
    io::HttpRequest req;
    req.url = url;
    req.headers = {"Accept: application/json", "Client-Id: vzgen"};
    if (!search_after.empty()) req.headers.push_back("CMR-Search-After: " + search_after);
    req.max_body = 512ull << 20;
    auto r = transport.Submit(req).get();
    const bool retry = !r.ok() || r->status == 429 || r->status >= 500;
    if (!retry || attempt >= 4) return r;
    long wait_ms = 500L << attempt;
    if (r.ok()) {
      const std::string after = r->Header("retry-after");
      if (AllDigits(after)) wait_ms = std::min(60'000L, std::stol(after) * 1000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

Error CmrError(const io::HttpResponse& r, const std::string& url) {
  std::string detail;
  const Json j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!detail.empty()) detail += "; ";
      detail += e.is_string() ? e.get<std::string>() : e.dump();
    }
  }
  const std::string msg = fmt::format("CMR answered HTTP {} for {}{}", r.status, url,
                                      detail.empty() ? "" : ": " + detail);
  if (r.status == 400 || r.status == 404) return InvalidArgument(msg);
  if (r.status == 401 || r.status == 403) return PermissionDenied(msg);
  return IoError(msg);
}

}  // namespace

Result<CatalogResult> SearchCmr(io::HttpTransport& transport, const std::string& cmr_url,
                                const JobConfig& config, int page_size) {
  std::string base = cmr_url.empty() ? "https://cmr.earthdata.nasa.gov/search" : cmr_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // The collection first: an unknown name is a configuration error, not an empty search.
  const std::string coll_url = fmt::format("{}/collections.umm_json?short_name={}&page_size=1",
                                           base, auth::UriEncode(config.collection, false));
  VZ_ASSIGN_OR_RETURN(auto coll, CmrGet(transport, coll_url, ""));
  if (coll.status != 200) return CmrError(coll, coll_url);
  const Json cj = Json::parse(coll.body, nullptr, false);
  const Json& coll_items = Arr(cj, "items");
  if (coll_items.empty()) {
    return NotFound(fmt::format("no collection named {} in CMR at {}", config.collection, base));
  }
  CatalogResult out;
  const Json& cumm = Obj(coll_items[0], "umm");
  const std::string level = Str(Obj(cumm, "ProcessingLevel"), "Id");
  out.level2 = level.rfind('2', 0) == 0 || config.collection.find("L2") != std::string::npos;
  out.s3_credentials_url =
      Str(Obj(cumm, "DirectDistributionInformation"), "S3CredentialsAPIEndpoint");

  VZ_ASSIGN_OR_RETURN(const std::string url, GranuleSearchUrl(base, config, page_size));
  std::string search_after;
  for (int page = 0; page < 100000; ++page) {
    VZ_ASSIGN_OR_RETURN(auto r, CmrGet(transport, url, search_after));
    if (r.status != 200) return CmrError(r, url);
    VZ_ASSIGN_OR_RETURN(auto parsed, ParseGranulePage(r.body), "in CMR page {}", page + 1);
    const Json body = Json::parse(r.body, nullptr, false);
    const std::size_t items = body.is_object() && body.contains("items") ? body["items"].size() : 0;
    for (auto& g : parsed.granules) out.granules.push_back(std::move(g));
    for (auto& w : parsed.without_data) out.without_data.push_back(std::move(w));
    if (out.s3_credentials_url.empty()) out.s3_credentials_url = parsed.s3_credentials_url;
    search_after = r.Header("cmr-search-after");
    if (items == 0 || items < static_cast<std::size_t>(page_size) || search_after.empty()) break;
  }
  return out;
}

Result<std::vector<SearchPart>> ParseSearchProfile(const std::string& text) {
  const Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return InvalidArgument("the profile is not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "searches") {
      return InvalidArgument(
          fmt::format("unknown key '{}' (a profile has only \"searches\")", key));
    }
  }
  if (!j.contains("searches") || !j["searches"].is_array() || j["searches"].empty()) {
    return InvalidArgument("\"searches\" must be a non-empty list of searches");
  }
  std::vector<SearchPart> out;
  for (std::size_t i = 0; i < j["searches"].size(); ++i) {
    const Json& s = j["searches"][i];
    const std::string where = fmt::format("searches[{}]", i);
    if (!s.is_object()) return InvalidArgument(where + " is not an object");
    SearchPart part;
    for (const auto& [key, value] : s.items()) {
      if (key == "granule_names") {
        if (!value.is_array()) return InvalidArgument(where + ".granule_names is not a list");
        for (const auto& p : value) {
          if (!p.is_string() || p.get<std::string>().empty()) {
            return InvalidArgument(where + ".granule_names has an entry that is not a pattern");
          }
          part.granule_names.push_back(p.get<std::string>());
        }
      } else if (key == "start" || key == "end") {
        const std::string field = fmt::format("{}.{}", where, key);
        if (!value.is_string()) return InvalidArgument(field + " is not a date");
        VZ_ASSIGN_OR_RETURN(std::string cmr,
                            CmrTime(value.get<std::string>(), key == "end").Annotate(field));
        (key == "start" ? part.start : part.end) = cmr;
      } else {
        return InvalidArgument(fmt::format(
            "unknown key '{}' in {} (a search has granule_names, start, end)", key, where));
      }
    }
    if (!part.start.empty() && !part.end.empty() && part.start > part.end) {
      return InvalidArgument(
          fmt::format("{}: start {} is after end {}", where, part.start, part.end));
    }
    out.push_back(std::move(part));
  }
  return out;
}

Result<std::vector<SearchPart>> LoadSearchProfile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read the collection profile {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1U << 20)) {
    return InvalidArgument(fmt::format("collection profile {} is larger than 1 MiB", path));
  }
  return ParseSearchProfile(text.str()).Annotate("collection profile " + path);
}

Result<std::vector<JobConfig>> PlanSearches(const JobConfig& config) {
  if (config.searches.empty()) return std::vector<JobConfig>{config};
  VZ_ASSIGN_OR_RETURN(const auto window, RunWindow(config));
  const std::string& from = window.first;
  const std::string& to = window.second;
  std::vector<JobConfig> out;
  for (const SearchPart& part : config.searches) {
    JobConfig c = config;
    c.searches.clear();
    if (!part.granule_names.empty()) c.granule_names = part.granule_names;
    // CMR times have one fixed width, so text order is time order.
    c.start_date = std::max(from, part.start);
    c.end_date = to.empty() ? part.end : part.end.empty() ? to : std::min(to, part.end);
    if (!c.start_date.empty() && !c.end_date.empty() && c.start_date > c.end_date) continue;
    out.push_back(std::move(c));
  }
  return out;
}

Result<CatalogResult> SearchCatalog(io::HttpTransport& transport, const std::string& cmr_url,
                                    const JobConfig& config, int page_size) {
  if (config.searches.empty()) return SearchCmr(transport, cmr_url, config, page_size);
  VZ_ASSIGN_OR_RETURN(const auto plan, PlanSearches(config));
  CatalogResult out;
  std::set<std::string> seen;
  std::set<std::string> seen_without;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    VZ_ASSIGN_OR_RETURN(auto found, SearchCmr(transport, cmr_url, plan[i], page_size),
                        "profile search {}", i + 1);
    if (out.s3_credentials_url.empty()) out.s3_credentials_url = found.s3_credentials_url;
    out.level2 = out.level2 || found.level2;
    for (auto& g : found.granules) {
      if (seen.insert(g.name).second) out.granules.push_back(std::move(g));
    }
    for (auto& w : found.without_data) {
      if (seen_without.insert(w).second) out.without_data.push_back(std::move(w));
    }
  }
  std::stable_sort(out.granules.begin(), out.granules.end(),
                   [](const CatalogGranule& a, const CatalogGranule& b) {
                     return std::tie(a.begin, a.name) < std::tie(b.begin, b.name);
                   });
  return out;
}

}  // namespace vz::app
