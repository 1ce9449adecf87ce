#!/usr/bin/env python3
"""plan -> shard -> merge -> publish (docs/job.md, "Beyond one machine") end to end:

- exactness: with 1, 2, 3, 7 and N shards run in shuffled order, the merged store is byte for
  byte what `vzgen build` writes for the same granules, for granules along time and for Level-2
  swaths along a new `granule` dimension; locally, with the run under s3:// on the project's S3
  server and on moto, and from a collection planned through the loopback CMR (the published
  stores equal `vzgen job`'s);
- faults: a shard killed with SIGKILL and retried; two attempts of one index at once; a deleted
  _SUCCESS (merge names it, a rerun of every index reads only that shard's granules, counted
  on the S3 server); a changed meta.json; a granule whose schema drifted (merge names it); two
  publishes racing; a stale run publishing over a newer one.

Usage: scale.py --vzgen BIN [--keep DIR] [--only local|s3|moto|cmr]
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback
from time_granules import make_time_granules

sys.path.insert(0, os.path.join(ROOT, "bench"))
from remote_bench import write_swath

FAILURES = []
PEERS_PY = os.path.join(ROOT, "build", "venv", "peers", "bin", "python")
BOTO_GET = """import sys, boto3
c = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="AKIDSCALE",
                 aws_secret_access_key="scalesecret", region_name="us-west-2")
bucket, key = sys.argv[2].split("/", 1)
try:
    sys.stdout.buffer.write(c.get_object(Bucket=bucket, Key=key)["Body"].read())
except c.exceptions.NoSuchKey:
    sys.exit(3)
"""
VZGEN = ""
ENV = dict(os.environ)


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


def vz(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([VZGEN, *args], check=False, capture_output=True, text=True, timeout=600,
                          env=env or ENV)


def read(location: str, name: str, s3_root: str | None = None) -> bytes | None:
    """An object of a run or destination: a local path, or s3://bucket/key read from the S3
    server's root directory (the project's server keeps objects as files)."""
    path = os.path.join(location, name) if name else location
    if location.startswith("s3://"):
        path = os.path.join(s3_root, path[5:])
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def plan(inputs: list[str], output: str, shard_size: int, *extra: str,
         env: dict | None = None) -> tuple[str, int]:
    p = vz("plan", *inputs, "-o", output, "--shard-size", str(shard_size), *extra, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"plan failed: {p.stderr}")
    run = p.stdout.strip().splitlines()[-1]
    shards = int(p.stdout.split(" granules in ")[1].split()[0])
    return run, shards


def shards_in_order(run: str, order: list[int], env: dict | None = None) -> list[str]:
    outs = []
    for k in order:
        p = vz("shard", run, "--index", str(k), "-q", env=env)
        if p.returncode != 0:
            raise RuntimeError(f"shard {k} failed: {p.stderr}")
        outs.append(p.stdout)
    return outs


def exactness(label: str, inputs: list[str], expected: bytes, counts: list[int], runs: str,
              extra: tuple = (), env: dict | None = None, s3_root: str | None = None) -> None:
    n = len(inputs)
    rng = random.Random(19)
    for want in counts:
        size = -(-n // want)
        run, shards = plan(inputs, runs, size, *extra, env=env)
        order = list(range(shards))
        rng.shuffle(order)
        shards_in_order(run, order, env=env)
        m = vz("merge", run, env=env)
        got = read(run, "merged/store.json", s3_root)
        check(f"{label}: {shards} shards (of {size}) in order {order} give build's bytes",
              m.returncode == 0 and got == expected and shards == want,
              m.stderr[-500:] or f"{len(got or b'')} vs {len(expected)} bytes")


def time_granules(d: str, n: int, dtype: str = "f4", offset: int = 0) -> list[str]:
    paths = make_time_granules(d, n, (1, 40, 50), (1, 20, 25), ["sst", "ice"],
                               lambda i, name: np.full((1, 40, 50), i + offset, dtype))
    return paths


def local_tests(work: str) -> None:
    tdir = os.path.join(work, "time")
    tg = time_granules(tdir, 14)
    expected_path = os.path.join(work, "time-build.json")
    p = vz("build", *tg, "-o", expected_path, "-q")
    check("build of the time granules", p.returncode == 0, p.stderr)
    expected = read(expected_path, "")
    runs = os.path.join(work, "runs")
    exactness("local, along time", tg, expected, [1, 2, 3, 7, 14], runs)

    l2dir = os.path.join(work, "l2")
    os.makedirs(l2dir)
    swaths = []
    for k in range(7):
        swaths.append(os.path.join(l2dir, f"swath_{k}.nc"))
        write_swath(swaths[-1], k)
    l2_path = os.path.join(work, "l2-build.json")
    p = vz("build", *swaths, "--new-dim", "granule", "-o", l2_path, "-q")
    check("build of the Level-2 swaths", p.returncode == 0, p.stderr)
    exactness("local, Level 2 along a new granule dimension", swaths,
              read(l2_path, ""), [1, 2, 3, 7], runs, ("--new-dim", "granule"))

    # The same inputs give the same run, and a finished shard is not run again.
    run_a, _ = plan(tg, runs, 5)
    run_b, _ = plan(list(tg), runs, 5)
    check("plan: the same inputs give the same run id", run_a == run_b, f"{run_a} {run_b}")
    again = shards_in_order(run_a, [0])
    check("shard: a finished shard exits 0 at once", "already done" in again[0], again[0])

    # A shard killed mid-write with SIGKILL, then retried: no _SUCCESS, then the same result.
    run, _ = plan(tg, os.path.join(work, "runs-kill"), 14)
    killed = False
    for delay in (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4):  # until one lands in time
        proc = subprocess.Popen([VZGEN, "shard", run, "--index", "0", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if read(run, "shards/00000/_SUCCESS") is None:
            killed = True
            break
    check("SIGKILL mid-shard leaves no _SUCCESS", killed)
    m = vz("merge", run)
    check("merge refuses the killed shard, naming it",
          m.returncode != 0 and "shards/00000/_SUCCESS" in m.stderr, m.stderr)
    shards_in_order(run, [0])
    m = vz("merge", run)
    check("after the retry the merge is build's", m.returncode == 0 and
          read(run, "merged/store.json") == expected, m.stderr)

    # Two attempts of one index at once: both exit 0, one marker, build's bytes.
    run, _ = plan(tg, os.path.join(work, "runs-twice"), 7)
    procs = [subprocess.Popen([VZGEN, "shard", run, "--index", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [pr.communicate() for pr in procs]
    check("two attempts of one index both exit 0",
          all(pr.returncode == 0 for pr in procs), str(outs))
    shards_in_order(run, [0])
    m = vz("merge", run)
    check("two attempts of one index: merge gives build's bytes",
          m.returncode == 0 and read(run, "merged/store.json") == expected, m.stderr)

    # A changed meta.json: merge refuses, naming it.
    meta = os.path.join(run, "shards/00001/meta.json")
    with open(meta) as f:
        text = f.read()
    with open(meta, "w") as f:
        f.write(text.replace('"first": 7', '"first": 6'))
    m = vz("merge", run)
    check("merge refuses a changed meta.json, naming it",
          m.returncode != 0 and "shards/00001/meta.json" in m.stderr and "changed" in m.stderr,
          m.stderr)
    with open(meta, "w") as f:
        f.write("{not json")
    m = vz("merge", run)
    check("merge refuses a corrupted meta.json, naming it",
          m.returncode != 0 and "shards/00001/meta.json" in m.stderr, m.stderr)

    # Schema drift across shards: the last granule's variables are float64.
    ddir = os.path.join(work, "drift")
    dg = time_granules(ddir, 3)
    odd = time_granules(os.path.join(work, "drift-odd"), 1, "f8", offset=3)[0]
    moved = os.path.join(ddir, "g003.nc")
    shutil.move(odd, moved)
    # (its time value is that of day 0: give it day 3)
    import h5py
    with h5py.File(moved, "r+") as f:
        f["time"][0] = 3 * 86400
    run, _ = plan([*dg, moved], os.path.join(work, "runs-drift"), 1)
    shards_in_order(run, [3, 1, 0, 2])
    m = vz("merge", run)
    check("merge refuses schema drift, naming the granule and the variable",
          m.returncode != 0 and "g003.nc" in m.stderr and "<f8" in m.stderr and
          "ice" in m.stderr, m.stderr)

    # Publishing: racing publishes of two runs, and a stale run.
    pub = os.path.join(work, "published")
    old_run, n_old = plan(tg, os.path.join(work, "runs-old"), 7)
    shards_in_order(old_run, list(range(n_old)))
    vz("merge", old_run)
    new_run, n_new = plan(tg[:12], os.path.join(work, "runs-new"), 4)
    shards_in_order(new_run, list(range(n_new)))
    vz("merge", new_run)
    procs = [subprocess.Popen([VZGEN, "publish", r, "--to", pub], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in (new_run, old_run)]
    outs = [pr.communicate() for pr in procs]
    pointer = json.loads(read(pub, "_PUBLISHED.json"))
    store = read(pub, "store_virtual_local.json")
    check("racing publishes: the newer run stands, with its own store",
          pointer["run_id"] in new_run and store == read(new_run, "merged/store.json"),
          f"{pointer} {outs}")
    p = vz("publish", old_run, "--to", pub)
    check("a stale run does not replace a newer one",
          p.returncode != 0 and "stale" in p.stderr and
          read(pub, "store_virtual_local.json") == read(new_run, "merged/store.json"), p.stderr)
    p = vz("publish", new_run, "--to", pub)
    check("publishing a run twice is allowed (idempotent)", p.returncode == 0, p.stderr)

    # Errors a user reads.
    p = vz("merge", old_run, "--format", "parquet")
    check("merge --format parquet: not yet", p.returncode != 0 and "not yet" in p.stderr,
          p.stderr)
    p = vz("shard", old_run, "--index", "9")
    check("shard index out of range is named", p.returncode != 0 and "out of range" in p.stderr,
          p.stderr)
    p = vz("shard", old_run, "--index-env", "VZ_TEST_NO_SUCH_VARIABLE")
    check("--index-env names an unset variable",
          p.returncode != 0 and "VZ_TEST_NO_SUCH_VARIABLE" in p.stderr, p.stderr)
    env = dict(ENV, AWS_BATCH_JOB_ARRAY_INDEX="1", VZ_JOB_MODE="shard", VZ_RUN=old_run)
    p = subprocess.run([VZGEN, "job"], check=False, env=env, capture_output=True, text=True, timeout=300)
    check("VZ_JOB_MODE=shard takes AWS_BATCH_JOB_ARRAY_INDEX",
          p.returncode == 0 and '"already_done":"true"' in p.stderr, p.stderr[-400:])


def s3_tests(work: str, peer: str) -> None:
    """The run under s3:// on the project's S3 server (`own`) or on moto; granules read from
    S3 too."""
    www = os.path.join(work, f"www-{peer}")
    data = os.path.join(www, "data-bucket", "coll")
    os.makedirs(os.path.join(www, "runs-bucket"), exist_ok=True)
    os.makedirs(os.path.join(www, "pub-bucket"), exist_ok=True)
    local = time_granules(data, 9)
    urls = [f"s3://data-bucket/coll/{os.path.basename(p)}" for p in local]
    log = os.path.join(work, f"s3-{peer}.log")
    with loopback.Servers() as servers:
        if peer == "own":
            (port,) = servers.python("s3_server.py", [www, "--access-key", "AKIDSCALE",
                                                      "--secret", "scalesecret", "--log", log])
        else:
            (port,) = servers.command([PEERS_PY, os.path.join(HERE, "..", "servers",
                                                              "moto_server.py")])
        endpoint = f"http://127.0.0.1:{port}"
        if peer == "moto":
            # (not urllib's form encoding, which moto would parse as a form)
            binary = {"Content-Type": "application/octet-stream"}
            for bucket in ("data-bucket", "runs-bucket", "pub-bucket"):
                urllib.request.urlopen(urllib.request.Request(
                    f"{endpoint}/{bucket}", data=b"", method="PUT", headers=binary))
            for p in local:
                with open(p, "rb") as f:
                    urllib.request.urlopen(urllib.request.Request(
                        f"{endpoint}/data-bucket/coll/{os.path.basename(p)}", data=f.read(),
                        method="PUT", headers=binary))
        env = {k: v for k, v in ENV.items() if not k.startswith(("AWS_", "VZ_"))}
        env.update({"AWS_ACCESS_KEY_ID": "AKIDSCALE", "AWS_SECRET_ACCESS_KEY": "scalesecret",
                    "AWS_EC2_METADATA_DISABLED": "true", "VZ_AWS_ENDPOINT": endpoint,
                    "VZ_S3_ENDPOINT": endpoint, "HOME": work})
        expected_path = os.path.join(work, f"s3-build-{peer}.json")
        p = vz("build", *urls, "-o", expected_path, "-q", env=env)
        check(f"{peer}: build of s3:// granules", p.returncode == 0, p.stderr)
        expected = read(expected_path, "")
        s3_root = www if peer == "own" else None

        def fetch(url: str) -> bytes | None:
            if peer == "own":
                return read(url, "", s3_root)
            # moto refuses unsigned GETs of objects: botocore (the peers venv) reads them.
            p = subprocess.run([PEERS_PY, "-c", BOTO_GET, endpoint, url[5:]],
                               check=False, capture_output=True, timeout=120)
            return p.stdout if p.returncode == 0 else None

        runs = "s3://runs-bucket/runs/"
        rng = random.Random(7)
        for want in ([1, 3, 9] if peer == "own" else [2, 3]):
            run, shards = plan(urls, runs, -(-9 // want), env=env)
            order = list(range(shards))
            rng.shuffle(order)
            shards_in_order(run, order, env=env)
            m = vz("merge", run, env=env)
            check(f"{peer}: {shards} shards under s3:// in order {order} give build's bytes",
                  m.returncode == 0 and fetch(run + "merged/store.json") == expected,
                  m.stderr[-400:])
        # Two attempts of one index at once: the conditional PUT lets one win.
        run, shards = plan(urls, runs, 2, env=env)
        procs = [subprocess.Popen([VZGEN, "shard", run, "--index", "2"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [pr.communicate() for pr in procs]
        check(f"{peer}: two attempts of one index both exit 0",
              all(pr.returncode == 0 for pr in procs), str(outs))
        shards_in_order(run, [k for k in range(shards) if k != 2], env=env)
        m = vz("merge", run, env=env)
        check(f"{peer}: after two attempts of one index the merge is build's",
              m.returncode == 0 and fetch(run + "merged/store.json") == expected, m.stderr)
        if peer == "own":
            # A deleted _SUCCESS: merge names it; rerunning every index reads only that shard.
            os.remove(os.path.join(www, run[5:], "shards/00003/_SUCCESS"))
            m = vz("merge", run, env=env)
            check("own: merge names the shard whose _SUCCESS was deleted",
                  m.returncode != 0 and "shards/00003/_SUCCESS" in m.stderr and
                  "1 of 5" in m.stderr, m.stderr)
            open(log, "w").close()
            shards_in_order(run, list(range(shards)), env=env)
            with open(log) as f:
                lines = f.read().splitlines()
            granule_gets = {x.split()[1] for x in lines if x.startswith("GET /data-bucket/")}
            want_keys = {f"/data-bucket/coll/g{i:03d}.nc" for i in (6, 7)}
            check("own: the rerun read only the granules of the shard that had no _SUCCESS",
                  granule_gets == want_keys, str(sorted(granule_gets)))
            m = vz("merge", run, env=env)
            check("own: then merge gives build's bytes",
                  m.returncode == 0 and fetch(run + "merged/store.json") == expected, m.stderr)
        # Publishing under s3://: the twins, the pointer, a stale run refused.
        old_run, n = plan(urls, runs, 4, env=env)
        shards_in_order(old_run, list(range(n)), env=env)
        vz("merge", old_run, env=env)
        time.sleep(0.01)
        new_run, n = plan(urls[:8], runs, 4, env=env)
        shards_in_order(new_run, list(range(n)), env=env)
        vz("merge", new_run, env=env)
        dest = "s3://pub-bucket/virtual_collections/coll/"
        results = [None, None]

        def publish(i: int, r: str) -> None:
            results[i] = vz("publish", r, "--to", dest, env=env)

        threads = [threading.Thread(target=publish, args=(i, r))
                   for i, r in enumerate((new_run, old_run))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pointer = json.loads(fetch(dest + "_PUBLISHED.json") or b"{}")
        s3_store = json.loads(fetch(dest + "store_virtual_s3.json") or b"{}")
        new_store = json.loads(fetch(new_run + "merged/store.json"))
        check(f"{peer}: racing publishes leave the newer run, pointer and stores alike",
              pointer.get("run_id", "-") in new_run and
              s3_store.get("refs") == new_store["refs"],
              str([r.stderr for r in results]))
        p = vz("publish", old_run, "--to", dest, env=env)
        check(f"{peer}: a stale run does not replace the newer one",
              p.returncode != 0 and "stale" in p.stderr, p.stderr)
        https = json.loads(fetch(dest + "store_virtual_https.json") or b"{}")
        https_urls = {v[0] for v in https.get("refs", {}).values() if isinstance(v, list)}
        check(f"{peer}: the https twin points at the download host",
              https_urls and all(u.startswith("https://archive.podaac.earthdata.nasa.gov/data-"
                                              "bucket/") for u in https_urls),
              str(sorted(https_urls))[:300])


def cmr_tests(work: str) -> None:
    """A collection planned through the loopback CMR, its granules read over HTTP (nginx):
    the published stores equal those `vzgen job` publishes for the same collection."""
    www = os.path.join(work, "www-cmr")
    bucket = "podaac-test"
    coll = "SCALE-TEST-L4"
    l2coll = "SCALE_L2_SWATH"
    d = os.path.join(www, bucket, coll)
    tmp = os.path.join(work, "cmr-src")
    for i, p in enumerate(time_granules(tmp, 8)):
        os.makedirs(d, exist_ok=True)
        shutil.copy(p, os.path.join(d, f"202001{i + 1:02d}-granule.nc"))
    l2 = os.path.join(www, bucket, l2coll)
    os.makedirs(l2)
    for k in range(5):
        write_swath(os.path.join(l2, f"SCALE_L2_007_{12 + k:03d}_20240101T{k:02d}0000_"
                                     f"20240101T{k:02d}5000_X.nc"), k)
    with loopback.Servers() as servers:
        data_port = servers.nginx(www)
        data_url = f"http://127.0.0.1:{data_port}"
        (cmr_port,) = servers.python("cmr_test_server.py", [www, "--bucket", bucket,
                                                            "--data-url", data_url,
                                                            "--level2", l2coll])
        cmr = f"http://127.0.0.1:{cmr_port}/search"
        env = {k: v for k, v in ENV.items() if not k.startswith(("AWS_", "VZ_", "EARTHDATA"))}
        env.update({"HOME": work, "AWS_EC2_METADATA_DISABLED": "true"})
        for c, counts in ((coll, [1, 3, 8]), (l2coll, [2, 5])):
            jobdir = os.path.join(work, f"job-{c}")
            p = subprocess.run([VZGEN, "job"], check=False, env=dict(env, COLLECTION=c, VZ_CMR_URL=cmr,
                                                        VZ_ACCESS="https", VZ_OUTPUT_DIR=jobdir),
                               capture_output=True, text=True, timeout=600)
            check(f"cmr {c}: the job publishes", p.returncode == 0, p.stderr[-500:])
            job_dir = os.path.join(jobdir, "virtual_collections", c)
            for want in counts:
                p = vz("plan", "--collection", c, "--cmr-url", cmr, "-o",
                       os.path.join(work, "runs-cmr"), "--shard-size", str(-(-len(
                           os.listdir(os.path.join(www, bucket, c))) // want)), env=env)
                check(f"cmr {c}: plan", p.returncode == 0, p.stderr)
                run = p.stdout.strip().splitlines()[-1]
                shards = int(p.stdout.split(" granules in ")[1].split()[0])
                order = list(range(shards))
                random.Random(want).shuffle(order)
                shards_in_order(run, order, env=env)
                m = vz("merge", run, env=env)
                pub = os.path.join(work, f"pub-{c}-{want}")
                p = vz("publish", run, "--to", pub, env=env)
                same = all(read(pub, f"{c}_virtual_{k}.json") ==
                           read(job_dir, f"{c}_virtual_{k}.json") for k in ("s3", "https"))
                check(f"cmr {c}: {shards} shards published equal the job's stores",
                      m.returncode == 0 and p.returncode == 0 and same,
                      (m.stderr + p.stderr)[-500:])
            # The same through `vzgen job`, step by step, as the container runs it: plan writes
            # latest.json, the shards take Kubernetes' JOB_COMPLETION_INDEX.
            steps = dict(env, COLLECTION=c, VZ_CMR_URL=cmr, VZ_ACCESS="https",
                         VZ_OUTPUT_DIR=os.path.join(work, f"steps-{c}"), VZ_SHARD_SIZE="2")

            def step(mode: str, steps: dict = steps, **extra: str) -> subprocess.CompletedProcess:
                return subprocess.run([VZGEN, "job"], check=False, capture_output=True, text=True,
                                      timeout=600, env=dict(steps, VZ_JOB_MODE=mode, **extra))

            p = step("plan")
            latest = json.loads(read(os.path.join(work, f"steps-{c}", "runs", c), "latest.json")
                                or b"{}")
            check(f"cmr {c}: VZ_JOB_MODE=plan writes latest.json with the run and its shards",
                  p.returncode == 0 and latest.get("shards") == -(-len(os.listdir(
                      os.path.join(www, bucket, c))) // 2), p.stderr[-400:])
            codes = [step("shard", VZ_RUN=latest.get("run", ""), JOB_COMPLETION_INDEX=str(k))
                     .returncode for k in reversed(range(latest.get("shards", 0)))]
            m = step("merge", VZ_RUN=latest.get("run", ""))
            p = step("publish", VZ_RUN=latest.get("run", ""))
            pub = os.path.join(work, f"steps-{c}", "virtual_collections", c)
            same = all(read(pub, f"{c}_virtual_{k}.json") ==
                       read(job_dir, f"{c}_virtual_{k}.json") for k in ("s3", "https"))
            check(f"cmr {c}: the job's plan, shard, merge and publish steps publish the job's "
                  "stores", codes and set(codes) == {0} and m.returncode == 0 and
                  p.returncode == 0 and same, (m.stderr + p.stderr)[-500:])


def main() -> int:
    global VZGEN
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--keep")
    ap.add_argument("--only", choices=("local", "s3", "moto", "cmr"), action="append")
    args = ap.parse_args()
    VZGEN = os.path.abspath(args.vzgen)
    work = args.keep or tempfile.mkdtemp(prefix="vz_scale_")
    os.makedirs(work, exist_ok=True)
    only = args.only or ["local", "s3", "moto", "cmr"]
    if "local" in only:
        local_tests(work)
    if "s3" in only:
        s3_tests(work, "own")
    if "moto" in only:
        s3_tests(work, "moto")
    if "cmr" in only:
        cmr_tests(work)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'FAILED: ' + ', '.join(FAILURES) if FAILURES else 'all scale-out checks passed'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
