#!/usr/bin/env python3
"""Loopback stand-ins for the three hosts of an Earthdata HTTPS download, behaving like the real
services described in the shared EARTHDATA.md (sections 3.3-3.4):

  data host (TEA)  127.0.0.1  GET /<bucket>/<key>: bearer token or asf-urs cookie -> 303 to a
                              presigned S3 URL with Cache-Control max-age; no credentials ->
                              302 to EDL /oauth/authorize; /login?code&state -> 301 + cookie
  EDL              127.0.0.2  /oauth/authorize: Basic credentials -> 302 back with a code,
                              otherwise 401 + WWW-Authenticate: Basic;
                              POST /api/users/find_or_create_token
  S3               127.0.0.3  presigned GET with Range -> 206; an Authorization header as well
                              as a presigned query -> 400 InvalidArgument (as S3 answers)

                              GET /s3credentials (logged in as for data): temporary S3 keys
                              ({"accessKeyId", ...}) expiring --s3creds-ttl seconds later

Usage: earthdata_server.py ROOT --user U --password P --token T [--s3creds-ttl S]
                           [--s3-access-key ID --s3-secret KEY --s3-token T]
Prints "PORTS <data> <edl> <s3>" once listening. Files are served from ROOT/<bucket>/<key>.
"""
import argparse
import base64
import calendar
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_KEY = secrets.token_bytes(16)
STATS = {"edl_authorize": 0, "data": 0, "s3": 0}


def _presign(path, expires):
    return hmac.new(SERVER_KEY, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()


class Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Edl(Base):
    def _basic_ok(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return False
        user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
        return user == self.server.cfg.user and pw == self.server.cfg.password

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/oauth/authorize":
            STATS["edl_authorize"] += 1
            q = dict(urllib.parse.parse_qsl(url.query))
            if not self._basic_ok():
                self.reply(401, b"<html>login</html>", {
                    "WWW-Authenticate": 'Basic realm="Please enter your Earthdata Login credentials"',
                    "Content-Type": "text/html; charset=utf-8"})
                return
            code = secrets.token_hex(8)
            self.server.codes.add(code)
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
            self.reply(302, b"", {"Location": loc})
            return
        self.reply(404, b"not found")

    def do_POST(self):
        if self.path == "/api/users/find_or_create_token":
            if not self._basic_ok():
                self.reply(401, json.dumps({"error": "invalid_credentials",
                                            "error_description": "Invalid user credentials"}).encode(),
                           {"Content-Type": "application/json"})
                return
            self.reply(200, json.dumps({"access_token": self.server.cfg.token, "token_type": "Bearer",
                                        "expiration_date": "1/1/2099"}).encode(),
                       {"Content-Type": "application/json"})
            return
        self.reply(404, b"not found")


class Data(Base):
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        cfg = self.server.cfg
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__stats":
            self.reply(200, json.dumps(STATS).encode(), {"Content-Type": "application/json"})
            return
        STATS["data"] += 1
        if url.path == "/login":
            q = dict(urllib.parse.parse_qsl(url.query))
            if q.get("code") not in self.server.edl.codes:
                self.reply(401, b"bad code")
                return
            self.server.edl.codes.discard(q["code"])
            jwt = secrets.token_hex(12)
            self.server.sessions.add(jwt)
            self.reply(301, b"", {"Location": q["state"], "Set-Cookie": f"asf-urs={jwt}; Path=/"})
            return
        auth = self.headers.get("Authorization", "")
        cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
        authorised = auth == f"Bearer {cfg.token}" or cookies.get("asf-urs") in self.server.sessions
        if not authorised:
            if auth.startswith("Bearer "):
                self.reply(401, b'{"error": "invalid_token"}', {"Content-Type": "application/json"})
                return
            state = urllib.parse.quote(self.path)
            loc = (f"http://127.0.0.2:{self.server.edl.server_address[1]}/oauth/authorize?client_id=test"
                   f"&response_type=code&redirect_uri=http://127.0.0.1:{self.server_port()}/login"
                   f"&state={state}&app_type=401")
            self.reply(302, b"", {"Location": loc, "Content-Type": "application/json"})
            return
        if url.path == "/s3credentials":
            STATS["s3credentials"] = STATS.get("s3credentials", 0) + 1
            expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=cfg.s3creds_ttl)
            body = json.dumps({"accessKeyId": cfg.s3_access_key, "secretAccessKey": cfg.s3_secret,
                               "sessionToken": cfg.s3_token,
                               "expiration": expires.strftime("%Y-%m-%d %H:%M:%S+00:00")})
            self.reply(200, body.encode(), {"Content-Type": "application/json; charset=utf-8"})
            return
        full = os.path.join(cfg.root, url.path.lstrip("/"))
        if not os.path.isfile(full):
            self.reply(404, b"<html>Could not find requested data</html>", {"Content-Type": "text/html"})
            return
        # As TEA presigns: X-Amz-Date now, X-Amz-Expires a duration, max-age 60 s shorter.
        now = int(time.time())
        lifetime = cfg.presign_seconds
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        sig = _presign(url.path, now + lifetime)
        loc = (f"http://127.0.0.3:{self.server.s3.server_address[1]}{url.path}?A-userid=test"
               f"&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={amz_date}"
               f"&X-Amz-Expires={lifetime}&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}")
        self.reply(303, b"", {"Location": loc,
                              "Cache-Control": f"private, max-age={max(lifetime - 60, 0)}"})

    def server_port(self):
        return self.server.server_address[1]


class S3(Base):
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        STATS["s3"] += 1
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if "Authorization" in self.headers:
            self.reply(400, b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                            b"allowed</Message></Error>", {"Content-Type": "application/xml"})
            return
        try:
            start = calendar.timegm(time.strptime(q.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ"))
            expires = start + int(q.get("X-Amz-Expires", "0"))
        except ValueError:
            expires = 0
        if not hmac.compare_digest(_presign(url.path, expires), q.get("X-Amz-Signature", "")) or \
                expires < time.time():
            self.reply(403, b"<Error><Code>AccessDenied</Code></Error>")
            return
        full = os.path.join(self.server.cfg.root, url.path.lstrip("/"))
        with open(full, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            if a:
                a = int(a)
                b = min(int(b) if b else len(data) - 1, len(data) - 1)
            else:  # a suffix range: the last b bytes
                a, b = max(0, len(data) - int(b)), len(data) - 1
            if a >= len(data):
                self.reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
                return
            self.reply(206, data[a:b + 1], {"Content-Range": f"bytes {a}-{b}/{len(data)}", "ETag": etag})
            return
        self.reply(200, data, {"ETag": etag})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--s3creds-ttl", type=int, default=3600)
    ap.add_argument("--presign-seconds", type=int, default=3600)
    ap.add_argument("--s3-access-key", default="ASIATEMPORARY")
    ap.add_argument("--s3-secret", default="temporary-secret")
    ap.add_argument("--s3-token", default="temporary-session-token")
    cfg = ap.parse_args()
    edl = ThreadingHTTPServer(("127.0.0.2", 0), Edl)
    s3 = ThreadingHTTPServer(("127.0.0.3", 0), S3)
    data = ThreadingHTTPServer(("127.0.0.1", 0), Data)
    edl.codes = set()
    data.sessions = set()
    data.edl, data.s3 = edl, s3
    for srv in (edl, s3, data):
        srv.cfg = cfg
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(f"PORTS {data.server_address[1]} {edl.server_address[1]} {s3.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
