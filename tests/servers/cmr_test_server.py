#!/usr/bin/env python3
"""A loopback CMR for the collection job's tests, behaving like CMR's search API
(EARTHDATA.md section 2) for collections whose granules are files in a directory:

  GET /search/collections.umm_json?short_name=X[&page_size=N]   -> {"hits", "items":[{"umm"}]}
  GET /search/granules.umm_json?short_name=X&temporal[]=A,B&page_size=N&sort_key[]=start_date
      with CMR-Search-After paging (a JSON array echoed back; the last full page still carries
      it and the next answers empty without it), CMR-Hits, 400 with {"errors": [...]} for a
      query without a collection or a bad page size, and --throttle-once (one 429 +
      Retry-After: 1 before the first granule page), and readable_granule_name[] (any may
      match; * and ? wildcards with options[readable_granule_name][pattern]=true, else exact).

Granules: every *.nc under ROOT/<bucket>/<short_name>/, dated by the YYYYMMDD at the start of
the file name or, in SWOT-like names (<...>_<cycle:3>_<pass:3>_<YYYYMMDD>T<hhmmss>_...), by that
date, with the cycle and pass as the granule's Track (a day-long extent), in name order; links: GET DATA = <data-url>/<bucket>/<short
name>/<file>, GET DATA VIA DIRECT ACCESS = s3://<bucket>/<short name>/<file>, and the
s3credentials endpoint. The directory is read on every request, so adding a file adds a granule.
Every query string is appended to --log.

Two more sources of granules:
  --synthetic NAME=COUNT  a collection of COUNT daily granules from 2000-01-01 that have no files
                          (for paging through thousands of granules);
  --replay DIR            the recorded CMR exchanges in DIR (*.json with *.json.http.json beside
                          them): a granules.umm_json request gets the recorded response whose
                          short_name, page_size (any page size the whole recorded result fits
                          in, for a complete one) and CMR-Search-After header match,
                          status, CMR-Hits and CMR-Search-After included; a continuation past the
                          recorded chain gets what CMR answers after a result's last page (an empty
                          page without CMR-Search-After, as recorded for TELLUS); a collection with
                          recorded granules is known to collections.umm_json.

Usage: cmr_test_server.py ROOT --bucket B --data-url URL [--log FILE] [--throttle-once]
                           [--level2 NAME ...] [--synthetic NAME=COUNT ...] [--replay DIR]
Prints "PORT <n>" once listening on 127.0.0.1.
"""
import argparse
import datetime as dt
import fnmatch
import json
import os
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load_replay(folder):
    """(short_name, page_size or None, search_after) -> (status, headers, body bytes)."""
    out = {}
    if not folder:
        return out
    for meta in sorted(os.listdir(folder)):
        if not meta.endswith(".json.http.json"):
            continue
        with open(os.path.join(folder, meta)) as f:
            rec = json.load(f)
        url = urllib.parse.urlsplit(rec["request"]["uri"])
        if url.path != "/search/granules.umm_json":
            continue
        q = urllib.parse.parse_qs(url.query)
        headers = {k.lower(): v for k, v in rec["request"].get("headers", {}).items()}
        after = (headers.get("cmr-search-after") or [""])[0]
        size = q.get("page_size", [None])[0]
        with open(os.path.join(folder, meta[:-len(".http.json")]), "rb") as f:
            body = f.read()
        resp = rec["response"]
        keep = {k: v[0] for k, v in resp["headers"].items()
                if k.lower() in ("cmr-hits", "cmr-search-after", "content-type")}
        out[(q["short_name"][0], int(size) if size else None, after)] = (
            resp["status"]["code"], keep, body)
    return out


def synthetic(cfg, short_name):
    for spec in cfg.synthetic:
        name, _, count = spec.partition("=")
        if name == short_name:
            first = dt.datetime(2000, 1, 1)
            return [((first + dt.timedelta(days=i)).strftime("%Y%m%d") + f"-SYN-{i:06d}.nc",
                     first + dt.timedelta(days=i)) for i in range(int(count))]
    return None


def granules(cfg, short_name):
    made = synthetic(cfg, short_name)
    if made is not None:
        return made
    folder = os.path.join(cfg.root, cfg.bucket, short_name)
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        m = re.match(r"(\d{8})", name) or re.search(r"_\d{3}_\d{3}_(\d{8})T\d{6}_", name)
        if not name.endswith(".nc") or not m:
            continue
        day = dt.datetime.strptime(m.group(1), "%Y%m%d")
        out.append((name, day))
    return out


def umm_granule(cfg, short_name, name, day):
    key = f"{cfg.bucket}/{short_name}/{name}"
    track = re.search(r"_(\d{3})_(\d{3})_\d{8}T\d{6}_", name)
    spatial = {"SpatialExtent": {"HorizontalSpatialDomain": {"Track": {
        "Cycle": int(track.group(1)), "Passes": [{"Pass": int(track.group(2))}]}}}} if track else {}
    return {"meta": {"concept-type": "granule", "concept-id": f"G{abs(hash(name)) % 10**9}-TEST",
                     "provider-id": "POCLOUD"},
            "umm": {**spatial, "GranuleUR": name[:-3],
                    "TemporalExtent": {"RangeDateTime": {
                        "BeginningDateTime": day.strftime("%Y-%m-%dT00:00:00.000Z"),
                        "EndingDateTime": day.strftime("%Y-%m-%dT23:59:59.999Z")}},
                    "DataGranule": {"ArchiveAndDistributionInformation": [
                        {"Name": name, "SizeInBytes": 1},
                        {"Name": name + ".md5", "SizeInBytes": 32}]},
                    "RelatedUrls": [
                        {"URL": f"{cfg.data_url}/{key}.md5", "Type": "EXTENDED METADATA"},
                        {"URL": f"{cfg.data_url}/{key}", "Type": "GET DATA"},
                        {"URL": f"s3://{key}", "Type": "GET DATA VIA DIRECT ACCESS"},
                        {"URL": f"{cfg.data_url}/s3credentials",
                         "Type": "VIEW RELATED INFORMATION"}]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.nasa.cmr.umm_results+json;version=1.6.5")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        cfg = self.server.cfg
        url = urllib.parse.urlsplit(self.path)
        if cfg.log:
            with self.server.lock, open(cfg.log, "a") as f:
                f.write(f"{url.path}?{url.query}|{self.headers.get('CMR-Search-After', '')}\n")
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        short = q.get("short_name", [""])[0]
        try:
            page_size = int(q.get("page_size", ["10"])[0])
        except ValueError:
            page_size = -1
        if not 0 <= page_size <= 2000:
            self.reply(400, {"errors": ["page_size must be a number between 0 and 2000"]})
            return
        replay = self.server.replay
        if url.path == "/search/collections.umm_json":
            items = []
            if granules(cfg, short) or short in cfg.level2 or any(
                    k[0] == short for k in replay):
                level = "2" if short in cfg.level2 else "4"
                items = [{"meta": {"concept-id": "C1-TEST"},
                          "umm": {"ShortName": short, "ProcessingLevel": {"Id": level},
                                  "DirectDistributionInformation": {
                                      "Region": "us-west-2",
                                      "S3CredentialsAPIEndpoint": f"{cfg.data_url}/s3credentials"}}}]
            self.reply(200, {"hits": len(items), "took": 1, "items": items[:page_size]},
                       {"CMR-Hits": str(len(items))})
            return
        if url.path != "/search/granules.umm_json":
            self.reply(404, {"errors": [f"unknown path {url.path}"]})
            return
        if not short:
            self.reply(400, {"errors": ["The CMR does not allow querying across granules in all "
                                        "collections. To help optimize your search, you should "
                                        "limit your query using conditions that identify one or "
                                        "more collections, such as provider, provider_id, "
                                        "concept_id, collection_concept_id, short_name, version "
                                        "or entry_title."]})
            return
        if cfg.throttle_once and not self.server.throttled:
            self.server.throttled = True
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        after = self.headers.get("CMR-Search-After", "")
        recorded = [k for k in replay if k[0] == short]
        if recorded:
            for key in recorded:
                status, headers, body = replay[key]
                page = json.loads(body)
                complete = page.get("hits") == len(page.get("items", []))
                if key[2] == after and (key[1] in (None, page_size) or (
                        complete and len(page.get("items", [])) <= page_size)):
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
            hits = next((json.loads(replay[k][2]).get("hits", 0) for k in recorded), 0)
            self.reply(200, {"hits": hits, "took": 1, "items": []}, {"CMR-Hits": str(hits)})
            return
        found = granules(cfg, short)
        for t in q.get("temporal[]", []):
            a, _, b = t.partition(",")
            lo = dt.datetime.strptime(a, "%Y-%m-%dT%H:%M:%SZ") if a else dt.datetime.min
            hi = dt.datetime.strptime(b, "%Y-%m-%dT%H:%M:%SZ") if b else dt.datetime.max
            found = [(n, d) for n, d in found if d <= hi and d + dt.timedelta(days=1) > lo]
        names = q.get("readable_granule_name[]", [])
        if names:
            pattern = q.get("options[readable_granule_name][pattern]", [""])[0] == "true"
            match = fnmatch.fnmatchcase if pattern else (lambda a, b: a == b)
            found = [(n, d) for n, d in found if any(match(n[:-3], p) for p in names)]
        start = 0
        if after:
            try:
                start = int(json.loads(after)[1]) + 1
            except (ValueError, IndexError, TypeError):
                self.reply(400, {"errors": ["search-after header value is invalid, must be in "
                                            "the form of a JSON array."]})
                return
        page = found[start:start + page_size]
        headers = {"CMR-Hits": str(len(found))}
        if page:
            headers["CMR-Search-After"] = json.dumps(["pocloud", start + len(page) - 1, 1])
        self.reply(200, {"hits": len(found), "took": 1,
                         "items": [umm_granule(cfg, short, n, d) for n, d in page]}, headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--data-url", required=True)
    ap.add_argument("--log")
    ap.add_argument("--throttle-once", action="store_true")
    ap.add_argument("--level2", nargs="*", default=[])
    ap.add_argument("--synthetic", action="append", default=[])
    ap.add_argument("--replay")
    cfg = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    server.lock = threading.Lock()
    server.throttled = False
    server.replay = load_replay(cfg.replay)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
