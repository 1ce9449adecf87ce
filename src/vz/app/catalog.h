// CMR granule search for the collection job: the query (short name, temporal range in the seed's
// M-D-YYYY form or ISO 8601), search-after paging of granules.umm_json, and the choice of each
// granule's data file and its direct-access (s3) and HTTPS links from UMM-G.
#pragma once

#include <string>
#include <vector>

#include "vz/app/job.h"
#include "vz/base/error.h"
#include "vz/io/http_transport.h"

namespace vz::app {

// "1-1-2022" (M-D-YYYY), "2022-01-01" or "2022-01-01T06:00:00Z" as CMR's "yyyy-MM-ddTHH:mm:ssZ";
// a date-only end covers its whole day (23:59:59). Errors name the value.
Result<std::string> CmrTime(const std::string& value, bool end);

// The first page's URL: granules.umm_json with short_name, temporal[], page_size and a fixed
// sort by start date.
Result<std::string> GranuleSearchUrl(const std::string& cmr_url, const JobConfig& config,
                                     int page_size = 2000);

// One granules.umm_json page into catalog granules (data files with their links).
Result<CatalogResult> ParseGranulePage(const std::string& body);

// All pages: CMR-Search-After paging, stopping on a short, empty or last page; 429/5xx retried
// with Retry-After. An unknown collection is kNotFound (CMR answers an empty result).
Result<CatalogResult> SearchCmr(io::HttpTransport& transport, const std::string& cmr_url,
                                const JobConfig& config, int page_size = 2000);

// A collection profile (docs/job.md): a JSON file {"searches": [{"granule_names": [...],
// "start": DATE, "end": DATE}, ...]}. Errors name the file and the offending key.
Result<std::vector<SearchPart>> LoadSearchProfile(const std::string& path);
Result<std::vector<SearchPart>> ParseSearchProfile(const std::string& text);

// The searches a run makes: the configuration itself when it has no profile, else one
// configuration per profile search, its window intersected with the run's (searches whose
// window is empty are left out). Dates come out in CMR's form.
Result<std::vector<JobConfig>> PlanSearches(const JobConfig& config);

// Every planned search, merged: a granule found by two searches (same file name) appears once;
// granules sorted by start time, then name, as one CMR search sorts them.
Result<CatalogResult> SearchCatalog(io::HttpTransport& transport, const std::string& cmr_url,
                                    const JobConfig& config, int page_size = 2000);

}  // namespace vz::app
