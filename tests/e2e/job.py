#!/usr/bin/env python3
"""`vzgen job` end to end, configured only by environment variables, against loopback stand-ins
of every service: CMR (tests/servers/cmr_test_server.py), the Earthdata download host and Login
(earthdata_server.py), and S3 + SSM (s3_server.py, which checks every signature). It checks:

- both stores land at s3://OUTPUT_BUCKET/virtual_collections/<C>/<C>_<start>_to_<end>_virtual_
  {s3,https}.json (and in STAGING_BUCKET), with the run report beside them;
- their references equal a local-file build of the same granules (URLs reduced to file names),
  the s3 store pointing at s3:// and the https store at the download host;
- `vzgen verify` reads and decodes both through their own transports;
- append mode adds a new granule, and a second append changes nothing;
- a collection profile's two searches make one store of the granules both found;
- a SWOT-like Level-2 collection becomes one store along a new `granule` dimension with the
  catalog's file name, begin time, cycle and pass as coordinates, equal to xarray's stacking;
- bad configuration and bad credentials give the documented exit codes and one clear log line.

Usage: job.py --vzgen BIN [--keep DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback  # noqa: E402
from time_granules import fill_disk  # noqa: E402

sys.path.insert(0, HERE)
import oracle  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "bench"))
from remote_bench import write_swath  # noqa: E402

BUCKET = "podaac-ops-cumulus-protected"
COLL = "MUR-JPL-L4-GLOB-v4.1"
L2COLL = "SWOT_L2_LR_SSH_Basic_2.0"
FAILURES = []


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


def normalise(text):
    refs = json.loads(text)["refs"]
    return {k: ([os.path.basename(v[0])] + v[1:] if isinstance(v, list) else v)
            for k, v in refs.items()}


def urls_of(text):
    return {v[0] for v in json.loads(text)["refs"].values() if isinstance(v, list)}


def check_level2(store, folder, names, url_prefix):
    """Opens the job's Level-2 store with xarray (references pointed at the local copies of the
    same files) and compares it with xarray's own stacking of the originals."""
    import numpy as np
    import xarray as xr
    refs = json.load(open(store))["refs"]
    urls = {v[0] for v in refs.values() if isinstance(v, list)}
    check("level 2: references point at the download host",
          urls and all(u.startswith(url_prefix) for u in urls), str(sorted(urls))[:300])
    local = {k: ([os.path.join(folder, os.path.basename(v[0]))] + v[1:]
                 if isinstance(v, list) else v) for k, v in refs.items()}

    def open_store(group=None):
        # As users open it, with the oracle's marked workaround for zarr 3's subgroup listing.
        return oracle.open_refs_xarray({"version": 1, "refs": local}, group=group)

    ds = open_store()
    check("level 2: a granule dimension of three", ds.sizes.get("granule") == 3, str(ds.sizes))
    got = {c: [str(x) if not isinstance(x, bytes) else x.decode() for x in ds[c].values]
           for c in ("filename", "cycle", "pass") if c in ds.variables}
    check("level 2: catalog coordinates filename, cycle and pass",
          got.get("filename") == names and got.get("cycle") == ["7"] * 3 and
          got.get("pass") == ["12", "13", "14"], str(got))
    check("level 2: the granules' begin times", "granule_begin_time" in ds.variables and
          all(str(v).startswith("2024-01-01") for v in ds["granule_begin_time"].values),
          str(ds.variables.get("granule_begin_time")))
    paths = [os.path.join(folder, n) for n in names]
    for group, var in ((None, "latitude"), ("data_01", "ssha"), ("data_02", "wind_speed")):
        want = np.stack([xr.open_dataset(p, group=group)[var].values for p in paths])
        have = (open_store(group) if group else ds)[var].values
        check(f"level 2: {group or ''}/{var} equals the stacked originals",
              have.shape == want.shape and np.allclose(have, want, equal_nan=True),
              f"{have.shape} vs {want.shape}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--keep")
    ap.add_argument("--package", action="store_true",
                    help="--vzgen is the Python package's command (it writes Parquet)")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    work = args.keep or tempfile.mkdtemp(prefix="vz_job_")
    os.makedirs(work, exist_ok=True)
    www = os.path.join(work, "www")
    data = os.path.join(www, BUCKET, COLL)
    os.makedirs(data, exist_ok=True)
    # SWOT-like Level-2 swaths: cycle 7, passes 12 to 14, catalogued with their Track.
    l2data = os.path.join(www, BUCKET, L2COLL)
    os.makedirs(l2data, exist_ok=True)
    swaths = []
    for k in range(3):
        name = (f"SWOT_L2_LR_SSH_Basic_007_{12 + k:03d}_20240101T{k:02d}0000_"
                f"20240101T{k:02d}5000_PIC0_01.nc")
        write_swath(os.path.join(l2data, name), k)
        swaths.append(name)
    os.makedirs(os.path.join(www, "out-bucket"), exist_ok=True)
    os.makedirs(os.path.join(www, "staging-bucket"), exist_ok=True)
    spare = os.path.join(work, "spare")
    subprocess.run([loopback.PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"), "--small",
                    "--count", "4", "--out", spare], check=True, stdout=subprocess.DEVNULL)
    names = sorted(n for n in os.listdir(spare) if n.endswith(".nc"))
    for n in names[:3]:
        shutil.copy(os.path.join(spare, n), data)
    params = os.path.join(work, "ssm.json")
    with open(params, "w") as f:
        json.dump({"/edl/user": "edluser", "/edl/pass": "edlpass", "/edl/wrongpass": "nope"}, f)

    # The expected references: a local build of the same granules.
    local = os.path.join(work, "local.json")
    subprocess.run([vzgen, "build"] + [os.path.join(data, n) for n in names[:3]] +
                   ["--loadable-vars", "lat,lon,time", "-o", local, "-q"], check=True)
    with open(local) as f:
        expected = normalise(f.read())

    with loopback.Servers() as servers:
        data_port, _edl, _s3p = servers.python("earthdata_server.py", [
            www, "--user", "edluser", "--password", "edlpass", "--token", "edl-token",
            "--s3-access-key", "AKIDJOB", "--s3-secret", "jobsecret", "--s3-token", "TASKTOKEN"])
        data_url = f"http://127.0.0.1:{data_port}"
        (s3port,) = servers.python("s3_server.py", [
            www, "--access-key", "AKIDJOB", "--secret", "jobsecret", "--token", "TASKTOKEN",
            "--ssm-params", params])
        (meta_port,) = servers.python("metadata_server.py", [
            "--access-key", "AKIDJOB", "--secret", "jobsecret", "--session-token", "TASKTOKEN",
            "--token", "ecs-auth-token"])
        log = os.path.join(work, "cmr.log")
        (cmr_port,) = servers.python("cmr_test_server.py", [
            www, "--bucket", BUCKET, "--data-url", data_url, "--log", log, "--throttle-once"])
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "EARTHDATA_", "VZ_")) and k != "NETRC"}
        # The task's AWS identity comes from the ECS container endpoint, as on ECS.
        base.update({"HOME": work,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{meta_port}/creds",
                     "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-auth-token",
                     "AWS_EC2_METADATA_DISABLED": "true",
                     "VZ_AWS_ENDPOINT": f"http://127.0.0.1:{s3port}",
                     "VZ_CMR_URL": f"http://127.0.0.1:{cmr_port}/search",
                     "VZ_EDL_HOST": "127.0.0.2"})
        env = dict(base, COLLECTION=COLL, LOADABLE_VARS="lat,lon,time", START_DATE="1-1-2023",
                   END_DATE="12-31-2023", OUTPUT_BUCKET="out-bucket",
                   STAGING_BUCKET="staging-bucket", SSM_EDL_USERNAME="/edl/user",
                   SSM_EDL_PASSWORD="/edl/pass", CPU_COUNT="2", MEMORY_LIMIT="12GB")

        def job(e):
            p = subprocess.run([vzgen, "job"], env=e, capture_output=True, text=True, timeout=300)
            lines = [json.loads(x) for x in p.stderr.splitlines() if x.startswith("{")]
            return p.returncode, lines, p.stderr

        rc, lines, err = job(env)
        check("job: exit 0", rc == 0, err[-800:])
        check("job: every log line is JSON", all(
            "event" in x and "time" in x for x in lines) and len(lines) == len(err.splitlines()),
            err[-400:])
        check("job: secrets never logged", "edlpass" not in err and "jobsecret" not in err)
        prefix = f"virtual_collections/{COLL}/{COLL}_1-1-2023_to_12-31-2023_virtual_"
        out = {kind: os.path.join(www, "out-bucket", prefix + kind + ".json")
               for kind in ("s3", "https", "report")}
        check("job: both stores and the report published",
              all(os.path.exists(p) for p in out.values()), str(os.listdir(
                  os.path.join(www, "out-bucket")) if os.path.isdir(
                      os.path.join(www, "out-bucket")) else []))
        check("job: copies in STAGING_BUCKET", os.path.exists(
            os.path.join(www, "staging-bucket", prefix + "s3.json")))
        with open(log) as f:
            queries = f.read().splitlines()
        want = ("/search/granules.umm_json?short_name=MUR-JPL-L4-GLOB-v4.1&temporal%5B%5D="
                "2023-01-01T00%3A00%3A00Z%2C2023-12-31T23%3A59%3A59Z&sort_key%5B%5D=start_date"
                "&page_size=2000|")
        check("job: the exact CMR query (after one 429)", queries.count(want) >= 2, "\n".join(queries))
        if all(os.path.exists(p) for p in out.values()):
            s3_text = open(out["s3"]).read()
            https_text = open(out["https"]).read()
            check("job: s3 store equals the local build", normalise(s3_text) == expected)
            check("job: https store equals the local build", normalise(https_text) == expected)
            check("job: s3 store points at s3://",
                  urls_of(s3_text) == {f"s3://{BUCKET}/{COLL}/{n}" for n in names[:3]},
                  str(sorted(urls_of(s3_text))))
            check("job: https store points at the download host",
                  urls_of(https_text) == {f"{data_url}/{BUCKET}/{COLL}/{n}" for n in names[:3]},
                  str(sorted(urls_of(https_text))))
            report = json.load(open(out["report"]))
            check("job: report lists granules and a sample read back",
                  len(report.get("granules_used", [])) == 3 and report.get("sample") and
                  not report.get("sample_failures"), json.dumps(report)[:400])
            p = subprocess.run([vzgen, "verify", out["https"], "-q"],
                               env=dict(base, EARTHDATA_TOKEN="edl-token"), capture_output=True,
                               text=True)
            check("job: the https store reads back through Earthdata", p.returncode == 0, p.stderr)
            p = subprocess.run([vzgen, "verify", out["s3"], "-q"],
                               env=dict(base, VZ_S3_ENDPOINT=base["VZ_AWS_ENDPOINT"]),
                               capture_output=True, text=True)
            check("job: the s3 store reads back through S3", p.returncode == 0, p.stderr)

            # Append: a new granule arrives; then nothing new.
            shutil.copy(os.path.join(spare, names[3]), data)
            rc, _, err = job(dict(env, VZ_JOB_MODE="append"))
            appended = open(out["s3"]).read()
            check("append: exit 0 and the new granule is in",
                  rc == 0 and len(urls_of(appended)) == 4, err[-600:])
            full = os.path.join(work, "full.json")
            subprocess.run([vzgen, "build"] + [os.path.join(data, n) for n in names] +
                           ["--loadable-vars", "lat,lon,time", "-o", full, "-q"], check=True)
            check("append: equals a build of all four",
                  normalise(appended) == normalise(open(full).read()))
            rc, lines, err = job(dict(env, VZ_JOB_MODE="append"))
            check("append again: nothing new, store unchanged",
                  rc == 0 and open(out["s3"]).read() == appended, err[-400:])

        # Direct (in-region) access: the DAAC's s3credentials, then S3 reads.
        direct = dict(env, VZ_ACCESS="direct", OUTPUT_BUCKET="direct-bucket", STAGING_BUCKET="",
                      VZ_S3_ENDPOINT=base["VZ_AWS_ENDPOINT"])
        os.makedirs(os.path.join(www, "direct-bucket"), exist_ok=True)
        rc, lines, err = job(direct)
        dstore = os.path.join(www, "direct-bucket", prefix + "s3.json")
        check("direct: exit 0 reading granules from S3 with s3credentials",
              rc == 0 and os.path.exists(dstore) and any(
                  x.get("event") == "access" and x.get("mode") == "direct" for x in lines),
              err[-600:])
        if os.path.exists(dstore):
            with open(dstore) as f:
                text = f.read()
            full = os.path.join(work, "full.json")
            if os.path.exists(full):
                check("direct: the store equals a local build of the same granules",
                      normalise(text) == normalise(open(full).read()))

        # A collection profile: two searches (their own name patterns and windows, as SWOT's
        # reprocessed and forward-processed periods) merged into one store.
        profile = os.path.join(work, "profile.json")
        with open(profile, "w") as f:
            json.dump({"searches": [
                {"granule_names": ["20230103*", "20230101*"], "end": "2023-01-02"},
                {"granule_names": ["20230102*", "20230101*"]}]}, f)
        open(log, "w").close()
        p = subprocess.run([vzgen, "search", "--collection", COLL, "--start", "1-1-2023",
                            "--end", "12-31-2023", "--profile", profile, "--json"],
                           env=base, capture_output=True, text=True)
        found = [json.loads(x)["name"] for x in p.stdout.splitlines() if x.startswith("{")]
        check("profile: search merges both searches, each granule once, in time order",
              p.returncode == 0 and found == names[:2], f"{found} {p.stderr[-300:]}")
        with open(log) as f:
            queries = [q for q in f.read().splitlines() if "granules.umm_json" in q]
        pat = "&options%5Breadable_granule_name%5D%5Bpattern%5D=true"
        want = [
            f"/search/granules.umm_json?short_name={COLL}&readable_granule_name%5B%5D=20230103%2A"
            f"&readable_granule_name%5B%5D=20230101%2A{pat}&temporal%5B%5D=2023-01-01T00%3A00%3A00Z"
            "%2C2023-01-02T23%3A59%3A59Z&sort_key%5B%5D=start_date&page_size=2000|",
            f"/search/granules.umm_json?short_name={COLL}&readable_granule_name%5B%5D=20230102%2A"
            f"&readable_granule_name%5B%5D=20230101%2A{pat}&temporal%5B%5D=2023-01-01T00%3A00%3A00Z"
            "%2C2023-12-31T23%3A59%3A59Z&sort_key%5B%5D=start_date&page_size=2000|"]
        check("profile: the exact CMR query of each search", queries == want, "\n".join(queries))
        pdir = os.path.join(work, "profile_out")
        rc, lines, err = job(dict(env, VZ_PROFILE=profile, OUTPUT_BUCKET="", STAGING_BUCKET="",
                                  VZ_ACCESS="https",
                                  VZ_OUTPUT_DIR=pdir))
        pstore = os.path.join(pdir, f"virtual_collections/{COLL}/{COLL}_1-1-2023_to_12-31-2023"
                              "_virtual_https.json")
        two = os.path.join(work, "two.json")
        subprocess.run([vzgen, "build"] + [os.path.join(data, n) for n in names[:2]] +
                       ["--loadable-vars", "lat,lon,time", "-o", two, "-q"], check=True)
        check("profile: the job's store equals a local build of the granules both searches found",
              rc == 0 and os.path.exists(pstore) and
              normalise(open(pstore).read()) == normalise(open(two).read()), err[-600:])
        # VZ_FORMAT: a name that is no format, and Parquet from the program built without
        # Python, are bad configuration (exit 2) before anything is searched or written; the
        # package's vzgen publishes Parquet twins beside the JSON stores, with the same values.
        for formats, words in (("json,xml", "'xml' is none of json, parquet, icechunk"),
                               ("json,parquet", "the parquet format needs the Python package")):
            fdir = os.path.join(work, "format_out")
            shutil.rmtree(fdir, ignore_errors=True)
            rc, lines, err = job(dict(env, VZ_PROFILE=profile, OUTPUT_BUCKET="",
                                      STAGING_BUCKET="", VZ_ACCESS="https", VZ_OUTPUT_DIR=fdir,
                                      VZ_FORMAT=formats))
            if args.package and formats == "json,parquet":
                stem = os.path.join(fdir, f"virtual_collections/{COLL}/{COLL}_1-1-2023_to_"
                                    "12-31-2023_virtual_")
                check("VZ_FORMAT=json,parquet: JSON and Parquet twins published",
                      rc == 0 and all(os.path.isfile(os.path.join(stem + k + ".parq",
                                                                  ".zmetadata"))
                                      for k in ("s3", "https")) and
                      os.path.isfile(stem + "https.json"), err[-600:])
                continue
            check(f"VZ_FORMAT={formats}: exit 2 naming the problem, nothing written",
                  rc == 2 and words in err and not os.path.exists(fdir), err[-400:])
        # A full disk under the local output: the job fails naming the path and the reason, and
        # the store published before survives byte for byte (a small tmpfs; needs root).
        if os.geteuid() == 0 and os.path.exists(pstore):
            small = os.path.join(work, "small_disk")
            os.makedirs(small)
            mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small]
            if subprocess.run(mount).returncode == 0:
                try:
                    kept = os.path.join(small, os.path.relpath(pstore, pdir))
                    os.makedirs(os.path.dirname(kept))
                    shutil.copy(pstore, kept)
                    before = open(kept, "rb").read()
                    fill_disk(small)
                    rc, lines, err = job(dict(env, VZ_PROFILE=profile, OUTPUT_BUCKET="",
                                              STAGING_BUCKET="", VZ_ACCESS="https",
                                              VZ_OUTPUT_DIR=small))
                    check("full disk: the job fails naming the output and ENOSPC",
                          rc == 1 and "No space left on device" in err and small in err, err[-500:])
                    check("full disk: the store published before survives byte for byte",
                          open(kept, "rb").read() == before)
                    check("full disk: no temporary file left", not any(
                        ".tmp" in n for n in os.listdir(os.path.dirname(kept))))
                finally:
                    subprocess.run(["umount", small])
        else:
            print("SKIP  full disk: not root (a small tmpfs is mounted for it)")
        rc, lines, err = job(dict(env, VZ_PROFILE=os.path.join(work, "no-such-profile.json")))
        last = lines[-1] if lines else {}
        check("profile: a missing profile is a configuration error naming it",
              rc == 2 and "no-such-profile.json" in last.get("error", ""), err[-300:])

        # A Level-2 collection: one store along a new `granule` dimension whose coordinates come
        # from the catalog (begin time, file name, cycle and pass of the UMM-G Track).
        l2dir = os.path.join(work, "l2_out")
        rc, lines, err = job(dict(env, COLLECTION=L2COLL, LOADABLE_VARS="", START_DATE="1-1-2024",
                                  END_DATE="1-1-2024", OUTPUT_BUCKET="", STAGING_BUCKET="",
                                  VZ_ACCESS="https", VZ_OUTPUT_DIR=l2dir))
        l2store = os.path.join(l2dir, f"virtual_collections/{L2COLL}/{L2COLL}_1-1-2024_to_"
                               "1-1-2024_virtual_https.json")
        check("level 2: exit 0 and the https store written", rc == 0 and os.path.exists(l2store),
              err[-600:])
        if os.path.exists(l2store):
            check_level2(l2store, l2data, swaths, f"{data_url}/{BUCKET}/{L2COLL}/")

        # Bad configuration and bad credentials.
        cases = [
            ("missing COLLECTION", {"COLLECTION": ""}, 2, "COLLECTION is not set"),
            ("unknown collection", {"COLLECTION": "NO-SUCH-COLLECTION"}, 2, "no collection named"),
            ("wrong SSM name", {"SSM_EDL_PASSWORD": "/edl/missing"}, 2, "/edl/missing"),
            ("bad dates", {"START_DATE": "31-12-2023"}, 2, "START_DATE"),
            ("empty search", {"START_DATE": "1-1-1999", "END_DATE": "1-2-1999"}, 2,
             "no granules"),
            ("bad Earthdata password", {"SSM_EDL_PASSWORD": "/edl/wrongpass"}, 4,
             "Earthdata Login rejected the credentials for edluser"),
            ("bad AWS secret", {"AWS_ACCESS_KEY_ID": "AKIDJOB", "AWS_SECRET_ACCESS_KEY": "wrong"},
             4, "SSM parameter"),
        ]
        for what, change, code, text in cases:
            e = dict(env, **change)
            if not e["COLLECTION"]:
                del e["COLLECTION"]
            rc, lines, err = job(e)
            last = lines[-1] if lines else {}
            check(f"{what}: exit {code}, one error line saying why",
                  rc == code and last.get("level") == "error" and text in last.get("error", "")
                  and "jobsecret" not in err and "edlpass" not in err, f"rc={rc} {err[-500:]}")

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else "the job publishes what a local build gives")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
