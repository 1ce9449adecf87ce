#!/usr/bin/env python3
"""The same granules read through every transport give the same references: `vzgen scan` and
`vzgen build` over local files, plain HTTP (nginx), HTTP through a proxy that injects 500, 503,
429, connection resets and truncated bodies, S3 (our SigV4-checking server, with a session
token), and the Earthdata download flow (bearer token and the netrc login redirect, then a
presigned S3 redirect) must all equal the local-file output once each reference's URL is
reduced to the file name. Everything runs on loopback.

Usage: transports.py --vzgen BIN [--keep DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback  # noqa: E402

BUCKET = "podaac-ops-cumulus-protected"
PREFIX = "MUR-JPL-L4-GLOB-v4.1"
FAILURES = []


def normalise(path):
    """The store's refs with every [url, offset, length] reduced to the file name."""
    with open(path) as f:
        refs = json.load(f)["refs"]
    out = {}
    for k, v in refs.items():
        if isinstance(v, list) and v:
            v = [os.path.basename(v[0])] + v[1:]
        out[k] = v
    return out


def run(vzgen, args, env):
    p = subprocess.run([vzgen] + args, env=env, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stderr.strip()


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)
    if not ok:
        FAILURES.append(name)


def compare(name, vzgen, inputs, env, work, expected_scan, expected_build, extra=()):
    """Scans the first input and builds all of them; both must match the local results."""
    scan_out = os.path.join(work, f"{name}-scan.json")
    rc, err = run(vzgen, ["scan", inputs[0], "-o", scan_out] + list(extra), env)
    check(f"{name}: scan", rc == 0 and normalise(scan_out) == expected_scan,
          err or "references differ from the local scan")
    build_out = os.path.join(work, f"{name}-build.json")
    rc, err = run(vzgen, ["build"] + inputs + ["--loadable-vars", "lat,lon", "-o", build_out,
                                                "-q", "-j", "4"] + list(extra), env)
    check(f"{name}: build", rc == 0 and normalise(build_out) == expected_build,
          err or "references differ from the local build")
    return build_out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--keep")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    work = args.keep or tempfile.mkdtemp(prefix="vz_transports_")
    os.makedirs(work, exist_ok=True)
    root = os.path.join(work, "www")
    data = os.path.join(root, BUCKET, PREFIX)
    os.makedirs(data, exist_ok=True)
    subprocess.run([loopback.PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"), "--small",
                    "--count", "3", "--out", data], check=True, stdout=subprocess.DEVNULL)
    names = sorted(n for n in os.listdir(data) if n.endswith(".nc"))
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "EARTHDATA_", "VZ_")) and k != "NETRC"}
    base_env["HOME"] = work  # no ~/.netrc or ~/.aws of the user running the tests

    local = [os.path.join(data, n) for n in names]
    rc, err = run(vzgen, ["scan", local[0], "-o", os.path.join(work, "local-scan.json")], base_env)
    check("local: scan", rc == 0, err)
    rc, err = run(vzgen, ["build"] + local + ["--loadable-vars", "lat,lon", "-o",
                                              os.path.join(work, "local-build.json"), "-q"],
                  base_env)
    check("local: build", rc == 0, err)
    if FAILURES:
        return 1
    expected_scan = normalise(os.path.join(work, "local-scan.json"))
    expected_build = normalise(os.path.join(work, "local-build.json"))

    with loopback.Servers() as servers:
        # Plain HTTP from nginx.
        port = servers.nginx(root)
        http = [f"http://127.0.0.1:{port}/{BUCKET}/{PREFIX}/{n}" for n in names]
        out = compare("http", vzgen, http, base_env, work, expected_scan, expected_build)
        with open(out) as f:
            urls = {v[0] for v in json.load(f)["refs"].values() if isinstance(v, list)}
        check("http: references carry the http URLs", urls == set(http), str(sorted(urls)))
        rc, err = run(vzgen, ["verify", out, "-q"], base_env)
        check("http: verify reads and decodes chunks over http", rc == 0, err)

        # Granules of one collection over HTTP: once the first has shown how much of its front
        # its metadata takes, the others read only that much first, in the same two rounds,
        # and the store equals the local one.
        big = os.path.join(root, "big")
        os.makedirs(big)
        subprocess.run([loopback.PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"),
                        "--count", "1", "--out", big], check=True, stdout=subprocess.DEVNULL)
        (one,) = os.listdir(big)
        copies = [f"g{k}.nc" for k in range(4)]
        for c in copies:
            shutil.copy(os.path.join(big, one), os.path.join(big, c))
        stack = ["--new-dim", "granule", "--identical-vars", "time,lat,lon", "-q", "-j", "1"]
        local_store = os.path.join(work, "learn-local.json")
        rc, err = run(vzgen, ["build"] + [os.path.join(big, c) for c in copies] +
                      ["-o", local_store] + stack, base_env)
        remote_store = os.path.join(work, "learn-http.json")
        rc2, err2 = run(vzgen, ["build"] + [f"http://127.0.0.1:{port}/big/{c}" for c in copies] +
                        ["-o", remote_store] + stack, base_env)
        check("learned first read: the store equals the local one",
              rc == 0 and rc2 == 0 and normalise(remote_store) == normalise(local_store),
              err or err2 or "references differ")
        if rc2 == 0:
            with open(remote_store + ".report.json") as f:
                rep = json.load(f)
            first = (1 << 20) + (64 << 10) + (256 << 10)  # head, tail, one block of B-trees
            check("learned first read: 2 rounds each, later granules read less",
                  rep["rounds"] == 8 and rep["bytes_read"] < first + 3 * (first // 2),
                  json.dumps({k: rep[k] for k in ("rounds", "requests", "bytes_read")}))

        # HTTPS is always verified: a self-signed server is refused, unless its CA is given.
        tport, cert = servers.nginx(root, tls=True)
        https = [f"https://127.0.0.1:{tport}/{BUCKET}/{PREFIX}/{n}" for n in names]
        rc, err = run(vzgen, ["scan", https[0], "-o", os.path.join(work, "tls.json")], base_env)
        check("https: a certificate no CA vouches for is refused, naming the URL",
              rc == 1 and https[0] in err and "certificate" in err.lower(), err)
        # Sanitizer builds: full unwinding through OpenSSL so that tests/lsan.supp can tell its
        # per-thread state from a leak (no effect on other builds).
        asan = os.environ.get("ASAN_OPTIONS", "")
        tls_env = dict(base_env, ASAN_OPTIONS=(asan + ":" if asan else "") +
                       "fast_unwind_on_malloc=0")
        compare("https --ca-bundle", vzgen, https, tls_env, work, expected_scan, expected_build,
                extra=["--ca-bundle", cert])
        rc, err = run(vzgen, ["scan", https[0], "-o", os.path.join(work, "tls.json")],
                      dict(tls_env, VZ_CA_BUNDLE=cert))
        check("https: VZ_CA_BUNDLE works as --ca-bundle", rc == 0, err)
        rc, err = run(vzgen, ["scan", https[0], "-o", os.path.join(work, "tls.json"),
                              "--ca-bundle", os.path.join(work, "no-such-ca.pem")], base_env)
        check("https: a missing CA bundle is a usage error naming it",
              rc == 2 and "no-such-ca.pem" in err, err)
        with open(out) as f:
            broken = json.load(f)
        key = next(k for k, v in broken["refs"].items()
                   if isinstance(v, list) and k.startswith("analysed_sst/"))
        broken["refs"][key][1] += 3
        bad_store = os.path.join(work, "broken.json")
        with open(bad_store, "w") as f:
            json.dump(broken, f)
        rc, err = run(vzgen, ["verify", bad_store, "-q"], base_env)
        check("http: verify names a chunk whose reference is wrong",
              rc == 1 and key in err and "does not decode" in err, f"rc={rc} {err}")

        # HTTP through the fault-injecting proxy: every 3rd request fails in a new way (small
        # reads so that there are many requests to break).
        (proxy,) = servers.python("fault_proxy.py", [
            "--upstream", f"http://127.0.0.1:{port}", "--fault-every", "3",
            "--faults", "500,429,reset,truncate,503", "--retry-after", "0"])
        faulty = [f"http://127.0.0.1:{proxy}/{BUCKET}/{PREFIX}/{n}" for n in names]
        compare("faults", vzgen, faulty, base_env, work, expected_scan, expected_build,
                ["--first-read", "16384", "--block-size", "4096"])
        stats = json.loads(subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{proxy}/__stats"], capture_output=True,
            text=True).stdout or "{}")
        injected = stats.get("faults", {})
        check("faults: every kind of fault was injected",
              all(injected.get(k, 0) > 0 for k in ("500", "429", "reset", "truncate")),
              json.dumps(stats))

        # An append killed half-way (SIGKILL while it reads a slow granule) leaves the store
        # exactly as it was: the new store is only ever renamed into place when complete.
        (slowproxy,) = servers.python("fault_proxy.py", [
            "--upstream", f"http://127.0.0.1:{port}", "--latency-ms", "1500"])
        killed = os.path.join(work, "killed.json")
        rc, err = run(vzgen, ["build"] + http[:2] + ["--loadable-vars", "lat,lon", "-o", killed,
                                                     "-q"], base_env)
        before = open(killed, "rb").read() if rc == 0 else b""
        p = subprocess.Popen([vzgen, "append", killed,
                              f"http://127.0.0.1:{slowproxy}/{BUCKET}/{PREFIX}/{names[2]}", "-q"],
                             env=base_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.7)
        p.kill()
        p.wait()
        check("append killed half-way: the store is untouched",
              rc == 0 and open(killed, "rb").read() == before and json.loads(before)["refs"],
              err)

        # 429 and 503 with Retry-After: 1 are retried no sooner than asked.
        (polite,) = servers.python("fault_proxy.py", [
            "--upstream", f"http://127.0.0.1:{port}", "--fault-every", "2",
            "--faults", "429,503", "--retry-after", "1"])
        slow = [f"http://127.0.0.1:{polite}/{BUCKET}/{PREFIX}/{n}" for n in names]
        compare("retry-after", vzgen, slow, base_env, work, expected_scan, expected_build,
                ["--first-read", "65536", "--block-size", "16384"])
        stats = json.loads(subprocess.run(
            ["curl", "-s", f"http://127.0.0.1:{polite}/__stats"], capture_output=True,
            text=True).stdout or "{}")
        check("retry-after: honoured on every retry",
              sum(stats.get("faults", {}).values()) > 0 and
              stats.get("retry_after_violations") == 0, json.dumps(stats))

        # A proxy that always fails: a clear error naming the URL, after bounded retries.
        (broken,) = servers.python("fault_proxy.py", [
            "--upstream", f"http://127.0.0.1:{port}", "--fault-every", "1", "--faults", "503",
            "--retry-after", "0"])
        url = f"http://127.0.0.1:{broken}/{BUCKET}/{PREFIX}/{names[0]}"
        rc, err = run(vzgen, ["scan", url, "-o", os.path.join(work, "broken.json")], base_env)
        check("faults: persistent 503 is a clear error", rc == 1 and "503" in err and url in err,
              f"rc={rc} {err}")

        # S3 with temporary credentials (session token), signatures checked by the server.
        s3env = dict(base_env, AWS_ACCESS_KEY_ID="ASIATESTKEY", AWS_SECRET_ACCESS_KEY="s3cr3t",
                     AWS_SESSION_TOKEN="session-token-1", AWS_REGION="us-west-2")
        (s3port,) = servers.python("s3_server.py", [root, "--access-key", "ASIATESTKEY",
                                                    "--secret", "s3cr3t", "--token",
                                                    "session-token-1"])
        s3env["VZ_S3_ENDPOINT"] = f"http://127.0.0.1:{s3port}"
        s3 = [f"s3://{BUCKET}/{PREFIX}/{n}" for n in names]
        out = compare("s3", vzgen, s3, s3env, work, expected_scan, expected_build)
        with open(out) as f:
            urls = {v[0] for v in json.load(f)["refs"].values() if isinstance(v, list)}
        check("s3: references carry the s3:// URLs", urls == set(s3), str(sorted(urls)))
        rc, err = run(vzgen, ["verify", out, "-q"], s3env)
        check("s3: verify reads and decodes chunks over s3", rc == 0, err)
        bad = dict(s3env, AWS_SECRET_ACCESS_KEY="wrong")
        rc, err = run(vzgen, ["scan", s3[0], "-o", os.path.join(work, "s3bad.json")], bad)
        check("s3: a wrong secret is a clear 403 error without the secret",
              rc == 1 and "403" in err and "wrong" not in err, f"rc={rc} {err}")

        # Earthdata: bearer token, and netrc through the EDL redirect flow.
        data_port, _edl_port, _s3p = servers.python("earthdata_server.py", [
            root, "--user", "edluser", "--password", "edlpass", "--token", "edl-token",
            "--s3-access-key", "ASIATESTKEY", "--s3-secret", "s3cr3t", "--s3-token",
            "session-token-1"])
        tea = [f"http://127.0.0.1:{data_port}/{BUCKET}/{PREFIX}/{n}" for n in names]
        # In-region access as a user runs it: s3:// granules with the DAAC's temporary keys.
        daac = {k: v for k, v in s3env.items() if not k.startswith("AWS_")}
        daac.update(EARTHDATA_TOKEN="edl-token", AWS_EC2_METADATA_DISABLED="true",
                    AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "none"))
        creds = f"http://127.0.0.1:{data_port}/s3credentials"
        compare("s3 with --s3-credentials-url", vzgen, s3, daac, work, expected_scan,
                expected_build, extra=["--s3-credentials-url", creds])
        rc, err = run(vzgen, ["scan", s3[0], "-o", os.path.join(work, "creds.json"),
                              "--s3-credentials-url", creds], dict(daac, EARTHDATA_TOKEN="refused-token-xyz"))
        check("s3credentials refused: a clear error naming the endpoint, no token",
              rc == 1 and creds in err and "refused-token-xyz" not in err, err)
        compare("earthdata-token", vzgen, tea, dict(base_env, EARTHDATA_TOKEN="edl-token"), work,
                expected_scan, expected_build)
        netrc = os.path.join(work, "netrc")
        with open(netrc, "w") as f:
            f.write("machine 127.0.0.2 login edluser password edlpass\n")
        os.chmod(netrc, 0o600)
        compare("earthdata-netrc", vzgen, tea, dict(base_env, NETRC=netrc), work, expected_scan,
                expected_build)
        badnetrc = os.path.join(work, "badnetrc")
        with open(badnetrc, "w") as f:
            f.write("machine 127.0.0.2 login edluser password wrong\n")
        os.chmod(badnetrc, 0o600)
        rc, err = run(vzgen, ["scan", tea[0], "-o", os.path.join(work, "denied.json")],
                      dict(base_env, NETRC=badnetrc, VZ_EDL_HOST="127.0.0.2"))
        check("earthdata: a wrong password names the user, never the password",
              rc == 1 and "Earthdata Login rejected the credentials for edluser" in err and
              "wrong" not in err.replace(badnetrc, ""), f"rc={rc} {err}")
        rc, err = run(vzgen, ["scan", tea[0], "-o", os.path.join(work, "denied.json")],
                      dict(base_env, EARTHDATA_TOKEN="expired-token"))
        check("earthdata: a refused token says so",
              rc == 1 and "rejected the bearer token" in err and "expired-token" not in err,
              f"rc={rc} {err}")

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else "all transports give the same references")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
