#!/usr/bin/env python3
"""Loopback stand-ins for the two AWS credential endpoints a task or instance asks
(EARTHDATA.md section 6): the ECS container endpoint (GET /creds, Authorization header checked
when --token is given) and EC2 IMDSv2 (PUT /latest/api/token, then the role name and its
credentials with the x-aws-ec2-metadata-token header; 401 without it). Credentials expire
--ttl seconds after each fetch; GET /__count says how many credential fetches were served.

Usage: metadata_server.py --access-key ID --secret KEY --session-token T [--token AUTH] [--ttl S]
Prints "PORT <n>" once listening on 127.0.0.1.
"""
import argparse
import datetime as dt
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROLE = "vzgen-task-role"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def credentials(self):
        cfg = self.server.cfg
        with self.server.lock:
            self.server.count += 1
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=cfg.ttl)
        return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": cfg.access_key,
                           "SecretAccessKey": cfg.secret, "Token": cfg.session_token,
                           "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def do_PUT(self):
        if self.path == "/latest/api/token":
            token = secrets.token_hex(16)
            self.server.imds_tokens.add(token)
            self.reply(200, token, "text/plain")
            return
        self.reply(404, "not found", "text/plain")

    def do_GET(self):
        cfg = self.server.cfg
        if self.path == "/__count":
            self.reply(200, json.dumps({"fetches": self.server.count}))
            return
        if self.path == "/creds":
            if cfg.token and self.headers.get("Authorization") != cfg.token:
                self.reply(401, json.dumps({"message": "unauthorized"}))
                return
            self.reply(200, self.credentials())
            return
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("x-aws-ec2-metadata-token") not in self.server.imds_tokens:
                self.reply(401, "", "text/plain")
                return
            rest = self.path[len("/latest/meta-data/iam/security-credentials/"):]
            if rest == "":
                self.reply(200, ROLE, "text/plain")
            elif rest == ROLE:
                self.reply(200, self.credentials())
            else:
                self.reply(404, "", "text/plain")
            return
        self.reply(404, "not found", "text/plain")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--session-token", required=True)
    ap.add_argument("--token")
    ap.add_argument("--ttl", type=int, default=3600)
    cfg = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    server.lock = threading.Lock()
    server.count = 0
    server.imds_tokens = set()
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
