// Where the collection job's stores go and what they are called (the seed pipeline's contract):
// an s3:// store for in-region readers and an https:// twin for everyone else, made from the
// same references by mapping the URL table (never by rewriting text).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "vz/base/error.h"
#include "vz/refs/store.h"

namespace vz::app {

// s3://<bucket>/<key> -> https://<host>/<bucket>/<key>; SWOT buckets are served by
// archive.swot.podaac.earthdata.nasa.gov, every other bucket by archive.podaac.earthdata.nasa.gov.
Result<std::string> HttpsTwinUrl(const std::string& s3_url);

// https://<host>/<bucket>/<key> (or http://) -> s3://<bucket>/<key>.
Result<std::string> S3TwinUrl(const std::string& https_url);

// The store with every URL mapped to its s3:// or https:// twin ("s3" or "https"); URLs that
// already have the wanted scheme (http:// counting as https://) are kept. Fails naming a URL that
// has no twin.
Result<refs::RefStore> WithTwinUrls(const refs::RefStore& store, const std::string& kind);

// Learns which https host serves a bucket from one granule's pair of catalog links
// (s3://bucket/key and https://host/.../bucket/key): bucket -> "https://host/...".
void AddHttpsBase(const std::string& s3_url, const std::string& https_url,
                  std::map<std::string, std::string>& https_base);

// A URL as the s3:// store (`s3`) or the https:// store wants it: s3:// URLs become
// https_base's host for their bucket, else the seed's host (HttpsTwinUrl).
Result<std::string> TwinUrl(const std::string& url, bool s3,
                            const std::map<std::string, std::string>& https_base);

// The store with its URL table, and the granules its "vzgen" key lists, in that form.
Result<refs::RefStore> MapStoreUrls(refs::RefStore store, bool s3,
                                    const std::map<std::string, std::string>& https_base);

// "<COLLECTION>_[<start>_to_<end>_]virtual_<kind>.json", with "beginning" / "present" for a
// missing start / end when the other is given, and no date part when neither is.
std::string StoreFileName(const std::string& collection, const std::string& start,
                          const std::string& end, const std::string& kind);

}  // namespace vz::app
