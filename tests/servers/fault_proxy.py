#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for loopback tests and benchmarks. It forwards every request to
an upstream server (same method, path, query and the headers a range read needs) and, on the
way, can add latency and break responses the way real networks and services do:

  --latency-ms N       wait N ms before answering each request (one round trip of latency)
  --fault-every K      every K-th request (counted across all clients) gets the next fault of
  --faults LIST        a comma-separated cycle of: 500, 503, 429 (with Retry-After), reset
                       (connection closed without an answer), truncate (a 206 whose body stops
                       half-way), slow (a 2 s stall before answering)
  --retry-after S      Retry-After value for 429/503 (default 1)

GET /__stats answers {"requests": n, "faults": {...}, "retry_after_violations": n} and is never
faulted or forwarded; a violation is a request for the same path and range that came back
before the Retry-After of its 429/503 had passed.
Usage: fault_proxy.py --upstream http://127.0.0.1:PORT [options]
Prints "PORT <n>" once listening on 127.0.0.1.
"""
import argparse
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARD = ("range", "authorization", "if-match", "cookie", "x-amz-date", "x-amz-content-sha256",
           "x-amz-security-token", "user-agent", "accept")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def next_fault(self):
        cfg = self.server.cfg
        with self.server.lock:
            self.server.requests += 1
            n = self.server.requests
            if cfg.fault_every <= 0 or not cfg.faults or n % cfg.fault_every != 0:
                return None
            fault = cfg.faults[self.server.fault_index % len(cfg.faults)]
            self.server.fault_index += 1
            self.server.fault_counts[fault] = self.server.fault_counts.get(fault, 0) + 1
            return fault

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path == "/__stats":
            with self.server.lock:
                body = json.dumps({"requests": self.server.requests,
                                   "faults": self.server.fault_counts,
                                   "retry_after_violations": self.server.violations}).encode()
            self.answer(200, body, {"Content-Type": "application/json"})
            return
        cfg = self.server.cfg
        key = (self.path, self.headers.get("Range", ""))
        with self.server.lock:
            not_before = self.server.not_before.pop(key, None)
            if not_before is not None and time.time() < not_before - 0.05:
                self.server.violations += 1
        if cfg.latency_ms > 0:
            time.sleep(cfg.latency_ms / 1000.0)
        fault = self.next_fault()
        if fault in ("500", "503", "429"):
            if fault != "500" and cfg.retry_after > 0:
                with self.server.lock:
                    self.server.not_before[key] = time.time() + cfg.retry_after
            self.answer(int(fault), b"injected fault",
                        {"Retry-After": str(cfg.retry_after), "Content-Type": "text/plain"})
            return
        if fault == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            self.connection.close()
            return
        if fault == "slow":
            time.sleep(2)
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARD}
        try:
            conn.request(self.command, self.path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        except OSError as e:
            self.answer(502, f"upstream failed: {e}".encode())
            return
        finally:
            conn.close()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding", "keep-alive"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate" and len(body) > 1:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_WR)
            return
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # 64 clients at once must not be refused

    def handle_error(self, request, client_address):
        pass  # clients that hang up (killed tests, resets) are expected here


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--fault-every", type=int, default=0)
    ap.add_argument("--faults", default="")
    ap.add_argument("--retry-after", type=int, default=1)
    cfg = ap.parse_args()
    cfg.faults = [f for f in cfg.faults.split(",") if f]
    for f in cfg.faults:
        if f not in ("500", "503", "429", "reset", "truncate", "slow"):
            sys.exit(f"fault_proxy: unknown fault {f}")
    server = Server(("127.0.0.1", 0), Proxy)
    server.cfg = cfg
    server.upstream = urllib.parse.urlsplit(cfg.upstream)
    server.lock = threading.Lock()
    server.requests = 0
    server.fault_index = 0
    server.fault_counts = {}
    server.not_before = {}
    server.violations = 0
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
