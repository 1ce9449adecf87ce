#!/usr/bin/env python3
"""A small S3 test server for loopback tests: path-style GET/HEAD of files under a root
directory (/bucket/key -> ROOT/bucket/key) with single-range support and ETags, and every
request's AWS Signature Version 4 verified independently of vzgen's signer (a wrong signature
gets 403 SignatureDoesNotMatch, a wrong session token 403 InvalidToken, as S3 answers).

Usage: s3_server.py ROOT --access-key ID --secret KEY [--token T] [--region R]
Prints "PORT <n>" on stdout once listening on 127.0.0.1.
"""
import argparse
import hashlib
import hmac
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(method, path, query, headers, signed, payload_hash, amz_date, region,
                       secret):
    canon_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    pairs = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                   for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_query = "&".join(f"{k}={v}" for k, v in pairs)
    creq = "\n".join([method, path, canon_query, canon_headers, ";".join(signed), payload_hash])
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _error(self, status, code, message):
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>{message}</Message></Error>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorised(self, path, query):
        cfg = self.server.cfg
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            self._error(403, "AccessDenied", "missing SigV4 Authorization")
            return False
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = fields.get("Credential", "").split("/")
        signed = fields.get("SignedHeaders", "").split(";")
        if cred[0] != cfg.access_key:
            self._error(403, "InvalidAccessKeyId", "unknown access key")
            return False
        for required in ("host", "x-amz-date", "x-amz-content-sha256"):
            if required not in signed:
                self._error(403, "AccessDenied", f"{required} not signed")
                return False
        if cfg.token is not None:
            if self.headers.get("x-amz-security-token") != cfg.token:
                self._error(403, "InvalidToken", "The provided token is malformed or invalid")
                return False
            if "x-amz-security-token" not in signed:
                self._error(403, "AccessDenied", "x-amz-security-token not signed")
                return False
        headers = {k.lower(): v for k, v in self.headers.items()}
        want = expected_signature(self.command, path, query, headers, signed,
                                  headers.get("x-amz-content-sha256", ""),
                                  headers.get("x-amz-date", ""), cfg.region, cfg.secret)
        if not hmac.compare_digest(want, fields.get("Signature", "")):
            self._error(403, "SignatureDoesNotMatch", "signature mismatch")
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        raw_path, _, query = self.path.partition("?")
        if not self._authorised(raw_path, query):
            return
        rel = urllib.parse.unquote(raw_path).lstrip("/")
        full = os.path.realpath(os.path.join(self.server.cfg.root, rel))
        if not full.startswith(os.path.realpath(self.server.cfg.root) + os.sep) or \
                not os.path.isfile(full):
            self._error(404, "NoSuchKey", "The specified key does not exist.")
            return
        with open(full, "rb") as f:
            data = f.read()
        st = os.stat(full)
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        if_match = self.headers.get("If-Match")
        if if_match and if_match != etag:
            self._error(412, "PreconditionFailed", "At least one of the preconditions failed")
            return
        rng = self.headers.get("Range")
        status, body, extra = 200, data, {}
        if rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            first = int(first)
            last = min(int(last) if last else len(data) - 1, len(data) - 1)
            if first >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, body = 206, data[first:last + 1]
            extra["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--token")
    ap.add_argument("--region", default="us-west-2")
    cfg = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
