#!/usr/bin/env python3
"""vzgen's S3, SSM and AWS-credential paths against two independent peers on 127.0.0.1:

- moto (PyPI, server mode, tests/servers/moto_server.py) with IAM authentication on: botocore's
  SigV4 code checks every signature, STS's AssumeRole mints the temporary credentials (key,
  secret, session token) that the job gets from its ECS credential endpoint, SSM holds the
  Earthdata Login credentials as SecureString parameters;
- the project's own tests/servers/s3_server.py, which checks signatures with its own SigV4 code.

For each peer it runs `vzgen job` (build, then append) publishing to OUTPUT_BUCKET and
STAGING_BUCKET, a job whose store is larger than VZ_S3_PART_SIZE (a multipart upload in 5 MiB
parts, the smallest AWS accepts), a job reading the granules from the peer's S3 with the DAAC's
s3credentials (direct access), `vzgen build --collection -o s3://...`, `vzgen verify s3://...`
(the store and its chunks read from the peer), and the SSM and credential failures. Published
objects are read back with boto3, and their references must equal a local build of the same
granules. Only CMR, Earthdata Login / the download host / s3credentials (earthdata_server.py)
and the ECS credential endpoint (metadata_server.py) stay the project's own: no emulator of them
exists.

vzgen does not send conditional writes (If-None-Match) today, so none are tested here.

Run with the peers venv: build/venv/peers/bin/python peers_s3.py --vzgen BIN [--peer moto|own]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import boto3
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "servers"))
import loopback  # noqa: E402

# The peers venv holds moto and boto3, not netCDF4: granules are written by Debian's Python,
# which bench/gen_granules.py is made for (python3-netcdf4 and python3-h5py, make deps).
GRANULE_PYTHON = "/usr/bin/python3"

BUCKET = "podaac-ops-cumulus-protected"
COLL = "MUR-JPL-L4-GLOB-v4.1"
BIG = "BIG-CHUNKS-L4"
REGION = "us-west-2"
PART = 5 << 20
FAILURES = []

# One granule with ~69,000 uncompressed 512-byte chunks: its store is over 6 MB, so publishing
# it with VZ_S3_PART_SIZE=5 MiB is a multipart upload of two parts.
BIG_GRANULE = """
import sys, netCDF4, numpy as np
with netCDF4.Dataset(sys.argv[1], "w") as d:
    d.createDimension("time", 1)
    d.createDimension("y", 270)
    d.createDimension("x", 16384)
    t = d.createVariable("time", "i4", ("time",))
    t.units = "seconds since 1981-01-01 00:00:00 UTC"
    t[:] = [1325419200]
    v = d.createVariable("field", "f8", ("time", "y", "x"), chunksizes=(1, 1, 64))
    v[0] = np.arange(270 * 16384, dtype="f8").reshape(270, 16384)
"""


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


def normalise(text: str) -> dict:
    refs = json.loads(text)["refs"]
    return {k: ([os.path.basename(v[0])] + v[1:] if isinstance(v, list) else v)
            for k, v in refs.items()}


def urls_of(text: str) -> set:
    return {v[0] for v in json.loads(text)["refs"].values() if isinstance(v, list)}


def s3_client(endpoint: str, creds: dict):
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds["key"], aws_secret_access_key=creds["secret"],
                        aws_session_token=creds.get("token") or None,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def start_moto(servers, www: str, granules: dict) -> dict:
    """moto with buckets, the granules, SSM parameters, an IAM user and a role; then IAM
    authentication on and the role assumed through STS. Returns the peer's description."""
    (port,) = servers.command([sys.executable, os.path.join(ROOT, "tests", "servers",
                                                            "moto_server.py")])
    endpoint = f"http://127.0.0.1:{port}"
    setup = {"key": "AKIASETUP", "secret": "setup"}

    def client(service, creds):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=creds["key"],
                            aws_secret_access_key=creds["secret"],
                            aws_session_token=creds.get("token") or None)

    iam = client("iam", setup)
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    user_arn = iam.create_user(UserName="operator")["User"]["Arn"]
    iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=allow_all)
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    user = {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    role = iam.create_role(RoleName="vzgen-task", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": user_arn},
            "Action": "sts:AssumeRole"}]}))["Role"]
    iam.put_role_policy(RoleName="vzgen-task", PolicyName="all", PolicyDocument=allow_all)
    s3 = s3_client(endpoint, setup)
    for b in (BUCKET, "out-bucket", "staging-bucket", "direct-bucket"):
        s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": REGION})
    for key_name, path in granules.items():
        s3.upload_file(path, BUCKET, key_name)
    ssm = client("ssm", setup)
    for name, value in (("/edl/user", "edluser"), ("/edl/pass", "edlpass"),
                        ("/edl/wrongpass", "nope")):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                 headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(req).read()
    # From here on every request is authenticated: the setup keys no longer work.
    try:
        s3.list_buckets()
        check("moto: IAM authentication is on (unknown keys refused)", False)
    except s3.exceptions.ClientError as e:
        check("moto: IAM authentication is on (unknown keys refused)",
              e.response["Error"]["Code"] == "InvalidAccessKeyId", str(e))
    sts = client("sts", user)
    c = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="vzgen-job")["Credentials"]
    task = {"key": c["AccessKeyId"], "secret": c["SecretAccessKey"], "token": c["SessionToken"]}
    check("moto: STS AssumeRole gives temporary credentials with a session token",
          task["key"].startswith("ASIA") and task["token"], task["key"])
    return {"name": "moto", "endpoint": endpoint, "task": task, "reader": user,
            "bad_secret": {"AWS_ACCESS_KEY_ID": user["key"], "AWS_SECRET_ACCESS_KEY": "wrong"},
            "bad_token": {"AWS_ACCESS_KEY_ID": task["key"],
                          "AWS_SECRET_ACCESS_KEY": task["secret"],
                          "AWS_SESSION_TOKEN": task["token"][:-4] + "AAAA"}}


def start_own(servers, www: str, work: str) -> dict:
    params = os.path.join(work, "ssm.json")
    with open(params, "w") as f:
        json.dump({"/edl/user": "edluser", "/edl/pass": "edlpass", "/edl/wrongpass": "nope"}, f)
    for b in ("out-bucket", "staging-bucket", "direct-bucket"):
        os.makedirs(os.path.join(www, b), exist_ok=True)
    task = {"key": "AKIDJOB", "secret": "jobsecret", "token": "TASKTOKEN"}
    (port,) = servers.python("s3_server.py", [
        www, "--access-key", task["key"], "--secret", task["secret"], "--token", task["token"],
        "--ssm-params", params])
    return {"name": "own", "endpoint": f"http://127.0.0.1:{port}", "task": task, "reader": task,
            "bad_secret": {"AWS_ACCESS_KEY_ID": "AKIDJOB", "AWS_SECRET_ACCESS_KEY": "wrong"},
            "bad_token": {"AWS_ACCESS_KEY_ID": "AKIDJOB", "AWS_SECRET_ACCESS_KEY": "jobsecret",
                          "AWS_SESSION_TOKEN": "WRONGTOKEN"}}


def run_peer(kind: str, vzgen: str, work: str, www: str, names: list, spare: str,
             expected: dict) -> None:
    data = os.path.join(www, BUCKET, COLL)
    granules = {f"{COLL}/{n}": os.path.join(data, n) for n in names[:3]}
    granules[f"{BIG}/20230101-big.nc"] = os.path.join(www, BUCKET, BIG, "20230101-big.nc")
    with loopback.Servers() as servers:
        peer = (start_moto(servers, www, granules) if kind == "moto"
                else start_own(servers, www, work))
        p = peer["name"]
        task = peer["task"]
        data_port, _edl, _s3p = servers.python("earthdata_server.py", [
            www, "--user", "edluser", "--password", "edlpass", "--token", "edl-token",
            "--s3-access-key", task["key"], "--s3-secret", task["secret"],
            "--s3-token", task["token"]])
        data_url = f"http://127.0.0.1:{data_port}"
        (meta_port,) = servers.python("metadata_server.py", [
            "--access-key", task["key"], "--secret", task["secret"],
            "--session-token", task["token"], "--token", "ecs-auth-token"])
        (cmr_port,) = servers.python("cmr_test_server.py", [
            www, "--bucket", BUCKET, "--data-url", data_url])
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "EARTHDATA_", "VZ_")) and k != "NETRC"}
        base.update({"HOME": work,
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{meta_port}/creds",
                     "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-auth-token",
                     "AWS_EC2_METADATA_DISABLED": "true",
                     "VZ_AWS_ENDPOINT": peer["endpoint"],
                     "VZ_S3_ENDPOINT": peer["endpoint"],
                     "VZ_CMR_URL": f"http://127.0.0.1:{cmr_port}/search",
                     "VZ_EDL_HOST": "127.0.0.2"})
        env = dict(base, COLLECTION=COLL, LOADABLE_VARS="lat,lon,time", START_DATE="1-1-2023",
                   END_DATE="12-31-2023", OUTPUT_BUCKET="out-bucket",
                   STAGING_BUCKET="staging-bucket", SSM_EDL_USERNAME="/edl/user",
                   SSM_EDL_PASSWORD="/edl/pass", CPU_COUNT="2", VZ_ACCESS="https")
        s3 = s3_client(peer["endpoint"], peer["reader"])

        def get(bucket, key):
            try:
                return s3.get_object(Bucket=bucket, Key=key)
            except s3.exceptions.ClientError as e:
                return {"error": e.response["Error"]}

        def job(e):
            r = subprocess.run([vzgen, "job"], env=e, capture_output=True, text=True,
                               timeout=300)
            lines = [json.loads(x) for x in r.stderr.splitlines() if x.startswith("{")]
            return r.returncode, lines, r.stderr

        prefix = f"virtual_collections/{COLL}/{COLL}_1-1-2023_to_12-31-2023_virtual_"
        rc, _, err = job(env)
        check(f"{p}: job exit 0 (SSM GetParameter, publishing)", rc == 0, err[-800:])
        got = {k: get("out-bucket", prefix + k + ".json") for k in ("s3", "https", "report")}
        check(f"{p}: both stores and the report in OUTPUT_BUCKET",
              all("Body" in g for g in got.values()), str({k: g.get("error") for k, g in
                                                          got.items()}))
        staged = get("staging-bucket", prefix + "s3.json")
        check(f"{p}: a copy in STAGING_BUCKET", "Body" in staged, str(staged.get("error")))
        if all("Body" in g for g in got.values()):
            s3_text = got["s3"]["Body"].read().decode()
            https_text = got["https"]["Body"].read().decode()
            check(f"{p}: s3 store equals the local build", normalise(s3_text) == expected["3"])
            check(f"{p}: https store equals the local build",
                  normalise(https_text) == expected["3"])
            check(f"{p}: s3 store points at s3://", urls_of(s3_text) ==
                  {f"s3://{BUCKET}/{COLL}/{n}" for n in names[:3]}, str(urls_of(s3_text)))
            check(f"{p}: stored as application/json",
                  got["s3"].get("ContentType") == "application/json",
                  str(got["s3"].get("ContentType")))

        # verify: the store itself and its chunks read from the peer's S3.
        r = subprocess.run([vzgen, "verify", f"s3://out-bucket/{prefix}s3.json", "-q"], env=base,
                           capture_output=True, text=True)
        check(f"{p}: verify s3:// reads the store and its chunks from S3", r.returncode == 0,
              r.stderr[-600:])

        # build --collection -o s3://...: the same pipeline from the command line, with the
        # credentials in the environment (the session token included).
        cli = dict(base, EARTHDATA_TOKEN="edl-token", AWS_ACCESS_KEY_ID=task["key"],
                   AWS_SECRET_ACCESS_KEY=task["secret"], AWS_SESSION_TOKEN=task["token"])
        r = subprocess.run([vzgen, "build", "--collection", COLL, "--start", "1-1-2023",
                            "--end", "12-31-2023", "--loadable-vars", "lat,lon,time",
                            "-o", "s3://out-bucket/cli/"], env=cli, capture_output=True,
                           text=True, timeout=300)
        key = f"cli/{COLL}/{COLL}_1-1-2023_to_12-31-2023_virtual_s3.json"
        obj = get("out-bucket", key)
        check(f"{p}: build -o s3:// publishes the store", r.returncode == 0 and "Body" in obj,
              f"{r.stderr[-500:]} {obj.get('error')}")
        if "Body" in obj:
            check(f"{p}: build -o s3:// equals the local build",
                  normalise(obj["Body"].read().decode()) == expected["3"])

        # Multipart: a store over VZ_S3_PART_SIZE goes up in parts.
        big_prefix = f"virtual_collections/{BIG}/{BIG}_1-1-2023_to_12-31-2023_virtual_"
        rc, _, err = job(dict(env, COLLECTION=BIG, LOADABLE_VARS="time", VZ_S3_PART_SIZE=str(PART)))
        obj = get("out-bucket", big_prefix + "s3.json")
        check(f"{p}: multipart: job exit 0", rc == 0 and "Body" in obj,
              f"{err[-600:]} {obj.get('error')}")
        if "Body" in obj:
            text = obj["Body"].read().decode()
            etag = obj.get("ETag", "")
            check(f"{p}: multipart: the store is larger than one part",
                  len(text) > PART, str(len(text)))
            check(f"{p}: multipart: the store equals the local build",
                  normalise(text) == expected["big"])
            # S3's ETag of a multipart object is the MD5 of the parts' MD5s, then "-<parts>".
            check(f"{p}: multipart: S3 assembled it from {-(-len(text) // PART)} parts",
                  etag.strip('"').endswith(f"-{-(-len(text) // PART)}"), etag)
        rc, lines, err = job(dict(env, COLLECTION=BIG, VZ_S3_PART_SIZE="5MB"))
        last = lines[-1] if lines else {}
        check(f"{p}: a bad VZ_S3_PART_SIZE is a configuration error before any work",
              rc == 2 and "VZ_S3_PART_SIZE" in last.get("error", ""), err[-300:])

        # Append: a new granule arrives (in the catalog, on the download host and in S3).
        shutil.copy(os.path.join(spare, names[3]), data)
        s3.upload_file(os.path.join(data, names[3]), BUCKET, f"{COLL}/{names[3]}")
        rc, _, err = job(dict(env, VZ_JOB_MODE="append"))
        obj = get("out-bucket", prefix + "s3.json")
        appended = obj["Body"].read().decode() if "Body" in obj else ""
        check(f"{p}: append reads the published store back and adds the new granule",
              rc == 0 and appended and normalise(appended) == expected["4"], err[-600:])

        # Direct (in-region) access: the granules are read from the peer's S3 with the
        # temporary keys of the DAAC's s3credentials endpoint.
        rc, lines, err = job(dict(env, VZ_ACCESS="direct", OUTPUT_BUCKET="direct-bucket",
                                  STAGING_BUCKET=""))
        obj = get("direct-bucket", prefix + "s3.json")
        check(f"{p}: direct access reads the granules from S3",
              rc == 0 and "Body" in obj and any(
                  x.get("event") == "access" and x.get("mode") == "direct" for x in lines),
              f"{err[-600:]} {obj.get('error')}")
        if "Body" in obj:
            check(f"{p}: direct access equals the local build",
                  normalise(obj["Body"].read().decode()) == expected["4"])

        # SSM and credential failures: exit codes and the words of docs/job.md.
        cases = [
            ("wrong SSM name", {"SSM_EDL_PASSWORD": "/edl/missing"}, 2, "/edl/missing"),
            ("bad Earthdata password from SSM", {"SSM_EDL_PASSWORD": "/edl/wrongpass"}, 4,
             "Earthdata Login rejected the credentials for edluser"),
            ("wrong AWS secret", peer["bad_secret"], 4, "SSM parameter"),
            ("tampered session token", peer["bad_token"], 4, "SSM parameter"),
        ]
        for what, change, code, words in cases:
            rc, lines, err = job(dict(env, **change))
            last = lines[-1] if lines else {}
            check(f"{p}: {what}: exit {code}, one error line saying why",
                  rc == code and last.get("level") == "error" and words in last.get("error", "")
                  and task["secret"] not in err and "edlpass" not in err,
                  f"rc={rc} {err[-400:]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vzgen", required=True)
    ap.add_argument("--peer", choices=("moto", "own"), action="append")
    ap.add_argument("--keep")
    args = ap.parse_args()
    vzgen = os.path.abspath(args.vzgen)
    top = args.keep or tempfile.mkdtemp(prefix="vz_peers_")
    spare = os.path.join(top, "spare")
    subprocess.run([GRANULE_PYTHON, os.path.join(ROOT, "bench", "gen_granules.py"), "--small",
                    "--count", "4", "--out", spare], check=True, stdout=subprocess.DEVNULL)
    names = sorted(n for n in os.listdir(spare) if n.endswith(".nc"))
    big = os.path.join(top, "20230101-big.nc")
    subprocess.run([GRANULE_PYTHON, "-c", BIG_GRANULE, big], check=True)

    def local(paths, loadable):
        out = os.path.join(top, "local.json")
        subprocess.run([vzgen, "build"] + paths + ["--loadable-vars", loadable, "-o", out, "-q"],
                       check=True)
        with open(out) as f:
            return normalise(f.read())

    expected = {"3": local([os.path.join(spare, n) for n in names[:3]], "lat,lon,time"),
                "4": local([os.path.join(spare, n) for n in names], "lat,lon,time"),
                "big": local([big], "time")}
    for kind in args.peer or ["moto", "own"]:
        work = os.path.join(top, kind)
        www = os.path.join(work, "www")
        data = os.path.join(www, BUCKET, COLL)
        os.makedirs(data)
        os.makedirs(os.path.join(www, BUCKET, BIG))
        for n in names[:3]:
            shutil.copy(os.path.join(spare, n), data)
        shutil.copy(big, os.path.join(www, BUCKET, BIG))
        run_peer(kind, vzgen, work, www, names, spare, expected)
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else
          "vzgen publishes, reads and verifies alike against moto and the project's S3 server")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
