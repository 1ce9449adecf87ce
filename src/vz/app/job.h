// The collection job (`vzgen job`, and `vzgen build --collection`): catalog search -> Earthdata
// credentials -> build (or append to the published store) -> the s3:// store and its https://
// twin -> publish (local directory or S3 bucket) -> run report. docs/job.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vz/app/job_config.h"
#include "vz/base/error.h"

namespace vz::app {

// One data file of a granule, as the catalog (CMR) describes it.
struct CatalogGranule {
  std::string name;       // file name
  std::string s3_url;     // "GET DATA VIA DIRECT ACCESS", may be empty
  std::string https_url;  // "GET DATA", may be empty
  std::string begin;      // temporal extent, ISO 8601 (may be empty)
  std::string end;
  std::optional<std::int64_t> cycle;  // Track
  std::optional<std::int64_t> pass;
  std::uint64_t size = 0;  // bytes, when the catalog says
  std::string checksum;    // "MD5:..." when the catalog says
  std::string granule_ur;  // the catalog's identity of the granule (UMM-G GranuleUR)
  std::string concept_id;  // "G...-PROVIDER"
  std::int64_t revision = 0;
};

struct CatalogResult {
  std::vector<CatalogGranule> granules;
  std::string s3_credentials_url;         // the DAAC's s3credentials endpoint, when known
  bool level2 = false;                    // the collection is Level 2 (processing level or name)
  std::vector<std::string> without_data;  // granules with no netCDF/HDF5 file (GranuleUR)
};

// Finds the collection's granules between the configured dates (CMR in production; tests may
// pass their own). Errors: kNotFound for an unknown collection.
using CatalogSearch = std::function<Result<CatalogResult>(const JobConfig&)>;

// Where the job publishes, and the AWS endpoints it uses (tests point them at loopback).
struct JobEnvironment {
  CatalogSearch search;
  std::string aws_endpoint;  // "" = AWS; else one endpoint for S3 and SSM (path style)
  std::string aws_region = "us-west-2";
  std::function<std::string(const char*)> getenv;
};

// Runs the job; returns the process exit code (kJob*), logging JSON lines on standard error.
int RunJob(const JobConfig& config, const JobEnvironment& env);

}  // namespace vz::app
