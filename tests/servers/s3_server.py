#!/usr/bin/env python3
"""A small S3 (and SSM) test server for loopback tests: path-style GET/HEAD of files under a
root directory (/bucket/key -> ROOT/bucket/key) with single-range support and ETags; PUT (with
Content-MD5 and x-amz-content-sha256 checked against the body) and multipart uploads
(CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload), an object
appearing only when complete, with S3's ETag of a multipart object and the Content-Type given;
and SSM GetParameter (POST / with X-Amz-Target AmazonSSM.GetParameter) answering from a JSON
file of parameters. Every request's AWS Signature Version 4 is verified independently of vzgen's
signer (a wrong signature gets 403 SignatureDoesNotMatch, a wrong session token 403 InvalidToken,
as AWS answers).

Usage: s3_server.py ROOT --access-key ID --secret KEY [--token T] [--region R]
                    [--ssm-params FILE.json]   ({"name": "value", ...}; all SecureString)
                    [--deny-prefix P]          (PUTs under /P answer 403 AccessDenied)
                    [--log FILE]               (one line "METHOD /bucket/key" per request)
PUT honours If-None-Match: * and If-Match: ETAG (412 PreconditionFailed when they do not hold).
Prints "PORT <n>" on stdout once listening on 127.0.0.1.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_signature(method, path, query, headers, signed, payload_hash, amz_date, region,
                       secret, service="s3"):
    canon_headers = "".join(f"{h}:{' '.join(headers.get(h, '').split())}\n" for h in signed)
    pairs = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                   for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    canon_query = "&".join(f"{k}={v}" for k, v in pairs)
    creq = "\n".join([method, path, canon_query, canon_headers, ";".join(signed), payload_hash])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
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

    def _authorised(self, path, query, body=None):
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
        service = cred[3] if len(cred) > 3 else "s3"
        required_headers = ("host", "x-amz-date") + (("x-amz-content-sha256",)
                                                      if service == "s3" else ())
        for required in required_headers:
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
        payload_hash = headers.get("x-amz-content-sha256", "")
        if body is not None:
            actual = hashlib.sha256(body).hexdigest()
            if service != "s3" or payload_hash != "UNSIGNED-PAYLOAD":
                if service != "s3":
                    payload_hash = actual
                elif payload_hash != actual:
                    self._error(400, "XAmzContentSHA256Mismatch",
                                "The provided 'x-amz-content-sha256' header does not match")
                    return False
        want = expected_signature(self.command, path, query, headers, signed, payload_hash,
                                  headers.get("x-amz-date", ""), cfg.region, cfg.secret, service)
        if not hmac.compare_digest(want, fields.get("Signature", "")):
            self._error(403, "SignatureDoesNotMatch", "signature mismatch")
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def _log(self):
        if self.server.cfg.log:
            with self.server.put_lock, open(self.server.cfg.log, "a") as f:
                f.write(f"{self.command} {self.path.partition('?')[0]}\n")

    def do_GET(self):
        self._log()
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
        # What a PUT or multipart upload recorded (S3 keeps an object's ETag and Content-Type);
        # files laid in the root by the tests get the MD5 ETag of a single PUT.
        meta = self.server.meta.get(full)
        if meta is None or meta["mtime"] != st.st_mtime_ns or meta["size"] != st.st_size:
            meta = {"etag": '"%s"' % hashlib.md5(data).hexdigest(),
                    "type": "binary/octet-stream"}
        etag = meta["etag"]
        if_match = self.headers.get("If-Match")
        if if_match and if_match != etag:
            self._error(412, "PreconditionFailed", "At least one of the preconditions failed")
            return
        rng = self.headers.get("Range")
        status, body, extra = 200, data, {}
        if rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            if first:
                first = int(first)
                last = min(int(last) if last else len(data) - 1, len(data) - 1)
            else:  # a suffix range: the last N bytes, as S3 answers "bytes=-N"
                first, last = max(0, len(data) - int(last)), len(data) - 1
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
        self.send_header("Content-Type", meta["type"])
        self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


    def _read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def _reply(self, status, body=b"", ctype="application/xml", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _object_path(self, raw_path):
        rel = urllib.parse.unquote(raw_path).lstrip("/")
        root = os.path.realpath(self.server.cfg.root)
        full = os.path.realpath(os.path.join(root, rel))
        if not full.startswith(root + os.sep) or rel.count("/") < 1:
            return None
        return full

    def _write_atomically(self, full, data, content_type, etag=None):
        os.makedirs(os.path.dirname(full), exist_ok=True)
        tmp = f"{full}.upload-{threading.get_ident()}"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, full)
        etag = etag or '"%s"' % hashlib.md5(data).hexdigest()
        st = os.stat(full)
        self.server.meta[full] = {"etag": etag, "type": content_type or "binary/octet-stream",
                                  "mtime": st.st_mtime_ns, "size": st.st_size}
        return etag

    def do_PUT(self):
        self._log()
        raw_path, _, query = self.path.partition("?")
        body = self._read_body()
        if not self._authorised(raw_path, query, body):
            return
        md5 = self.headers.get("Content-MD5")
        if md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            self._error(400, "BadDigest", "The Content-MD5 you specified did not match")
            return
        deny = self.server.cfg.deny_prefix
        if deny and urllib.parse.unquote(raw_path).lstrip("/").startswith(deny):
            self._error(403, "AccessDenied", "Access Denied")
            return
        full = self._object_path(raw_path)
        if full is None:
            self._error(400, "InvalidRequest", "path-style /bucket/key expected")
            return
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if "uploadId" in q:
            up = self.server.uploads.get(q["uploadId"])
            if up is None or up["path"] != full:
                self._error(404, "NoSuchUpload", "The specified upload does not exist")
                return
            up["parts"][int(q.get("partNumber", "0"))] = body
            etag = '"%s"' % hashlib.md5(body).hexdigest()
            self._reply(200, b"", extra={"ETag": etag})
            return
        # Conditional writes, as S3 has them: If-None-Match: * (create only) and If-Match: ETAG
        # (replace only that version), decided and written under one lock so that of two
        # racing writers exactly one wins and the other gets 412.
        if_none = self.headers.get("If-None-Match")
        if_match = self.headers.get("If-Match")
        with self.server.put_lock:
            if if_none is not None or if_match is not None:
                current = self._current_etag(full)
                if (if_none == "*" and current is not None) or \
                        (if_match is not None and if_match != current):
                    self.server.conditional_refused += 1
                    self._error(412, "PreconditionFailed",
                                "At least one of the preconditions you specified did not hold")
                    return
            etag = self._write_atomically(full, body, self.headers.get("Content-Type"))
            self.server.puts += 1
        self._reply(200, b"", extra={"ETag": etag})

    def _current_etag(self, full):
        """The ETag a GET of `full` would answer, or None when there is no such object."""
        if not os.path.isfile(full):
            return None
        st = os.stat(full)
        meta = self.server.meta.get(full)
        if meta is not None and meta["mtime"] == st.st_mtime_ns and meta["size"] == st.st_size:
            return meta["etag"]
        with open(full, "rb") as f:
            return f'"{hashlib.md5(f.read()).hexdigest()}"'

    def do_POST(self):
        raw_path, _, query = self.path.partition("?")
        body = self._read_body()
        if not self._authorised(raw_path, query, body):
            return
        target = self.headers.get("X-Amz-Target", "")
        if raw_path == "/" and target == "AmazonSSM.GetParameter":
            try:
                req = json.loads(body)
            except ValueError:
                req = {}
            name = req.get("Name", "")
            params = self.server.ssm
            if name not in params:
                self._reply(400, json.dumps({"__type": "ParameterNotFound", "message": ""}).encode(),
                            "application/x-amz-json-1.1")
                return
            value = params[name] if req.get("WithDecryption") else "<encrypted>"
            out = {"Parameter": {"Name": name, "Type": "SecureString", "Value": value,
                                 "Version": 1}}
            self._reply(200, json.dumps(out).encode(), "application/x-amz-json-1.1")
            return
        full = self._object_path(raw_path)
        if full is None:
            self._error(400, "InvalidRequest", "path-style /bucket/key expected")
            return
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        if "uploads" in q:
            uid = hashlib.sha256(f"{full}{time.time()}{len(self.server.uploads)}".encode()).hexdigest()[:32]
            self.server.uploads[uid] = {"path": full, "parts": {},
                                        "type": self.headers.get("Content-Type")}
            key = urllib.parse.unquote(raw_path).lstrip("/").partition("/")[2]
            self._reply(200, (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>"
                              f"<Key>{key}</Key><UploadId>{uid}</UploadId>"
                              f"</InitiateMultipartUploadResult>").encode())
            return
        if "uploadId" in q:
            up = self.server.uploads.pop(q["uploadId"], None)
            if up is None or up["path"] != full:
                self._error(404, "NoSuchUpload", "The specified upload does not exist")
                return
            numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
            if not numbers or numbers != sorted(numbers) or any(n not in up["parts"] for n in numbers):
                self._error(400, "InvalidPart", "One or more of the specified parts could not be found")
                return
            # S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, "-<parts>".
            digests = b"".join(hashlib.md5(up["parts"][n]).digest() for n in numbers)
            etag = '"%s-%d"' % (hashlib.md5(digests).hexdigest(), len(numbers))
            self._write_atomically(full, b"".join(up["parts"][n] for n in numbers), up["type"],
                                   etag)
            self.server.puts += 1
            self._reply(200, (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult>"
                              f"<ETag>{etag}</ETag></CompleteMultipartUploadResult>").encode())
            return
        self._error(400, "InvalidRequest", "unsupported POST")

    def do_DELETE(self):
        raw_path, _, query = self.path.partition("?")
        if not self._authorised(raw_path, query, b""):
            return
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        self.server.uploads.pop(q.get("uploadId", ""), None)
        self._reply(204)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--token")
    ap.add_argument("--region", default="us-west-2")
    ap.add_argument("--ssm-params")
    ap.add_argument("--deny-prefix")
    ap.add_argument("--log")
    cfg = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    server.uploads = {}
    server.meta = {}
    server.puts = 0
    server.put_lock = threading.Lock()
    server.conditional_refused = 0
    server.ssm = {}
    if cfg.ssm_params:
        with open(cfg.ssm_params) as f:
            server.ssm = json.load(f)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
