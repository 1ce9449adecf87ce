#!/usr/bin/python3
"""The job image (`make image`) run as ECS runs it, against the loopback servers of tests/e2e/job.py
started on the host: `buildah run --isolation chroot --network host` of the image's own
entrypoint with the seed's environment variables, plus the ECS credential endpoint variables ECS
injects and the endpoint overrides that point at loopback (VZ_CMR_URL, VZ_AWS_ENDPOINT,
VZ_EDL_HOST, AWS_EC2_METADATA_DISABLED). It checks:

- the image: a non-root user, entrypoint `vzgen job`, a CA bundle, TLS verification on;
- the container sees exactly those variables and nothing from the host;
- the stores it publishes are byte for byte those of `vzgen job` run on the host (the host
  build) with the same environment, and its report lists the same granules;
- the container writes nothing outside its output: its file system after the runs equals the
  one before (every path, type, mode, owner, size and file mtime), except the output directory
  of the run that writes locally (VZ_OUTPUT_DIR);
- bad configuration (missing COLLECTION, a wrong SSM name) exits 2 and bad credentials (a wrong
  Earthdata password, a wrong AWS secret) exit 4 from inside the container, with the documented
  error line.

Usage: image_test.py --vzgen HOST_BIN --store BUILDAH_STORE [--image NAME] [--keep DIR]
"""
import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback  # noqa: E402 (loopback.py sits beside the servers)

BUCKET = "podaac-ops-cumulus-protected"
COLL = "MUR-JPL-L4-GLOB-v4.1"
FAILURES = []
# What buildah itself puts in every container's environment (chroot isolation).
BUILDAH_ENV = {"HOSTNAME"}


def check(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


class Image:
    """One working container of the image in the test's buildah store."""

    def __init__(self, store, image):
        self.cmd = ["buildah", "--root", os.path.join(store, "root"), "--runroot",
                    os.path.join(store, "run"), "--storage-driver", "vfs"]
        self.image = image
        info = json.loads(self.run_buildah(["inspect", "--type", "image", image]))
        self.config = info["OCIv1"]["config"]
        self.ctr = self.run_buildah(["from", "-q", "--pull=never", image]).strip()
        self.root = self.run_buildah(["mount", self.ctr]).strip()

    def run_buildah(self, args):
        p = subprocess.run(self.cmd + args, check=False, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def run(self, argv, env, timeout=300):
        """Runs argv in the container on the host network with exactly `env` added."""
        flags = []
        for k, v in env.items():
            flags += ["--env", f"{k}={v}"]
        return subprocess.run(self.cmd + ["run", "--isolation", "chroot", "--network", "host"] +
                              flags + [self.ctr, "--"] + list(argv),
                              check=False, capture_output=True, text=True, timeout=timeout)

    def close(self):
        subprocess.run(self.cmd + ["umount", self.ctr], check=False, capture_output=True)
        subprocess.run(self.cmd + ["rm", self.ctr], check=False, capture_output=True)


def snapshot(root):
    """Every path under the container's root with what a write would change. Directory mtimes
    are left out: a file made and removed again (the job's private netrc) changes its
    directory's mtime and nothing else."""
    out = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in ("proc", "sys", "dev"):
            dirs[:] = []
            continue
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            key = os.path.relpath(p, root)
            if stat.S_ISDIR(st.st_mode):
                out[key] = ("dir", st.st_mode, st.st_uid, st.st_gid)
            elif stat.S_ISLNK(st.st_mode):
                out[key] = ("link", os.readlink(p), st.st_uid)
            else:
                out[key] = ("file", st.st_mode, st.st_uid, st.st_gid, st.st_size,
                            st.st_mtime_ns)
    return out


def differences(before, after):
    return sorted({k for k in before.keys() | after.keys() if before.get(k) != after.get(k)})


def read(path):
    with open(path, "rb") as f:
        return f.read()


def last_error(stderr):
    lines = [json.loads(x) for x in stderr.splitlines() if x.startswith("{")]
    return lines[-1] if lines else {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True, help="the host build of vzgen")
    ap.add_argument("--store", required=True, help="buildah storage of `make image`")
    ap.add_argument("--image", default="localhost/vzgen:latest")
    ap.add_argument("--keep")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    work = args.keep or tempfile.mkdtemp(prefix="vz_image_")
    os.makedirs(work, exist_ok=True)
    www = os.path.join(work, "www")
    data = os.path.join(www, BUCKET, COLL)
    os.makedirs(data, exist_ok=True)
    subprocess.run([loopback.PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"), "--small",
                    "--count", "3", "--out", data], check=True, stdout=subprocess.DEVNULL)
    names = sorted(n for n in os.listdir(data) if n.endswith(".nc"))
    for b in ("host-bucket", "image-bucket", "host-staging", "image-staging"):
        os.makedirs(os.path.join(www, b), exist_ok=True)
    params = os.path.join(work, "ssm.json")
    with open(params, "w") as f:
        json.dump({"/edl/user": "edluser", "/edl/pass": "edlpass", "/edl/wrongpass": "nope"}, f)

    image = Image(os.path.abspath(args.store), args.image)
    try:
        cfg = image.config
        check("image: entrypoint is vzgen job",
              cfg.get("Entrypoint") == ["/usr/local/bin/vzgen", "job"], str(cfg.get("Entrypoint")))
        user = cfg.get("User", "")
        p = image.run(["/usr/bin/id", "-u"], {})
        check("image: runs as a non-root user", user not in ("", "0", "root") and
              p.returncode == 0 and p.stdout.strip() not in ("", "0"), f"{user!r} {p.stdout}")
        bundle = os.path.join(image.root, "etc/ssl/certs/ca-certificates.crt")
        count = read(bundle).count(b"BEGIN CERTIFICATE") if os.path.exists(bundle) else 0
        check("image: CA certificates installed", count > 100, f"{count} certificates")

        with loopback.Servers() as servers:
            # TLS verification is on and finds its bundle: a self-signed loopback server is
            # refused for its certificate (not for a missing CA file).
            tls_port, _cert = servers.nginx(data, tls=True)
            p = image.run([cfg["Entrypoint"][0], "inspect",
                           f"https://127.0.0.1:{tls_port}/{names[0]}"], {})
            check("image: TLS peers are verified against the CA bundle", p.returncode != 0 and
                  "certificate" in p.stderr.lower() and "ca file" not in p.stderr.lower(),
                  p.stderr[-300:])

            data_port, _edl, _s3p = servers.python("earthdata_server.py", [
                www, "--user", "edluser", "--password", "edlpass", "--token", "edl-token",
                "--s3-access-key", "AKIDJOB", "--s3-secret", "jobsecret", "--s3-token",
                "TASKTOKEN"])
            data_url = f"http://127.0.0.1:{data_port}"
            (s3port,) = servers.python("s3_server.py", [
                www, "--access-key", "AKIDJOB", "--secret", "jobsecret", "--token", "TASKTOKEN",
                "--ssm-params", params])
            (meta_port,) = servers.python("metadata_server.py", [
                "--access-key", "AKIDJOB", "--secret", "jobsecret", "--session-token",
                "TASKTOKEN", "--token", "ecs-auth-token"])
            (cmr_port,) = servers.python("cmr_test_server.py", [
                www, "--bucket", BUCKET, "--data-url", data_url])
            # ECS injects the container credential endpoint; the rest points at loopback.
            platform = {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{meta_port}/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-auth-token",
                "AWS_EC2_METADATA_DISABLED": "true",
                "VZ_AWS_ENDPOINT": f"http://127.0.0.1:{s3port}",
                "VZ_CMR_URL": f"http://127.0.0.1:{cmr_port}/search",
                "VZ_EDL_HOST": "127.0.0.2"}
            seed = {"COLLECTION": COLL, "LOADABLE_VARS": "lat,lon,time",
                    "START_DATE": "1-1-2023", "END_DATE": "12-31-2023",
                    "SSM_EDL_USERNAME": "/edl/user", "SSM_EDL_PASSWORD": "/edl/pass",
                    "CPU_COUNT": "2"}
            env = dict(seed, **platform)

            p = image.run(["/usr/bin/env"], env)
            seen = {line.split("=", 1)[0] for line in p.stdout.splitlines() if "=" in line}
            image_env = {e.split("=", 1)[0] for e in cfg.get("Env", [])}
            check("container: exactly the image's, the seed's and the platform's variables",
                  seen - BUILDAH_ENV - {"HOME"} == set(env) | image_env,
                  f"{sorted(seen ^ (set(env) | image_env | BUILDAH_ENV | {'HOME'}))} "
                  f"rc={p.returncode} {p.stderr[-300:]}")

            # Warm up (buildah's own files for a run), then the snapshot the job must keep.
            image.run([cfg["Entrypoint"][0], "--version"], {})
            before = snapshot(image.root)

            def container_job(e):
                p = image.run(cfg["Entrypoint"], e)
                return p.returncode, p.stderr

            def host_job(e):
                home = os.path.join(work, "home")
                os.makedirs(home, exist_ok=True)
                p = subprocess.run([vzgen, "job"], env=dict(e, PATH="/usr/bin:/bin", HOME=home),
                                   check=False, capture_output=True, text=True, timeout=300, cwd=home)
                return p.returncode, p.stderr

            prefix = f"virtual_collections/{COLL}/{COLL}_1-1-2023_to_12-31-2023_virtual_"
            outputs = {}
            for where, run in (("host", host_job), ("image", container_job)):
                rc, err = run(dict(env, OUTPUT_BUCKET=f"{where}-bucket",
                                   STAGING_BUCKET=f"{where}-staging"))
                check(f"{where}: vzgen job exits 0", rc == 0, err[-600:])
                check(f"{where}: secrets never logged",
                      "edlpass" not in err and "jobsecret" not in err)
                outputs[where] = {
                    kind: os.path.join(www, f"{where}-bucket", prefix + kind + ".json")
                    for kind in ("s3", "https", "report")}
                outputs[where]["staging"] = os.path.join(www, f"{where}-staging",
                                                         prefix + "s3.json")
            if all(os.path.exists(p) for o in outputs.values() for p in o.values()):
                for kind in ("s3", "https", "staging"):
                    same = read(outputs["host"][kind]) == read(outputs["image"][kind])
                    check(f"image: the {kind} store equals the host's byte for byte", same)
                reports = [json.loads(read(outputs[w]["report"])) for w in ("host", "image")]
                check("image: its report lists the host's granules",
                      reports[0].get("granules_used") == reports[1].get("granules_used") and
                      len(reports[1].get("granules_used", [])) == len(names) and
                      not reports[1].get("sample_failures"), json.dumps(reports[1])[:400])
                with open(outputs["image"]["s3"]) as f:
                    urls = {v[0] for v in json.load(f)["refs"].values() if isinstance(v, list)}
                check("image: the s3 store points at the granules in S3",
                      urls == {f"s3://{BUCKET}/{COLL}/{n}" for n in names}, str(sorted(urls)))
            else:
                check("both runs published their stores", False,
                      str({w: [os.path.exists(p) for p in o.values()]
                           for w, o in outputs.items()}))

            # Bad configuration and bad credentials, from inside the container.
            cases = [
                ("missing COLLECTION", {"COLLECTION": None}, 2, "COLLECTION is not set"),
                ("wrong SSM name", {"SSM_EDL_PASSWORD": "/edl/missing"}, 2, "/edl/missing"),
                ("bad Earthdata password", {"SSM_EDL_PASSWORD": "/edl/wrongpass"}, 4,
                 "Earthdata Login rejected the credentials for edluser"),
                ("bad AWS secret", {"AWS_ACCESS_KEY_ID": "AKIDJOB",
                                    "AWS_SECRET_ACCESS_KEY": "wrong"}, 4, "SSM parameter"),
            ]
            for what, change, code, text in cases:
                e = dict(env, OUTPUT_BUCKET="image-bucket", **change)
                e = {k: v for k, v in e.items() if v is not None}
                rc, err = container_job(e)
                last = last_error(err)
                check(f"image, {what}: exit {code}, one error line saying why",
                      rc == code and last.get("level") == "error" and
                      text in last.get("error", "") and "edlpass" not in err,
                      f"rc={rc} {err[-500:]}")

            # A run that writes locally: its output directory is the one change allowed.
            rc, err = container_job(dict(env, VZ_ACCESS="https", VZ_OUTPUT_DIR="out"))
            workdir = cfg.get("WorkingDir", "/").strip("/")
            local = os.path.join(image.root, workdir, "out", prefix + "https.json")
            check("image, local output: exit 0 and the store under WORKDIR/out",
                  rc == 0 and os.path.exists(local), err[-500:])
            if os.path.exists(local):
                check("image, local output: equals the published https store",
                      read(local) == read(outputs["image"]["https"]))
            after = snapshot(image.root)
            allowed = os.path.join(workdir, "out")
            changed = differences(before, after)
            outside = [k for k in changed if k != allowed and not k.startswith(allowed + os.sep)]
            check("image: nothing written outside the output (no netrc left in /tmp)",
                  not outside and changed, str(outside[:20]))
    finally:
        image.close()

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else
          "the image publishes what the host build publishes, and nothing else")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
