#!/usr/bin/env python3
"""moto (PyPI, tests/requirements/peers.txt) in server mode on 127.0.0.1: an S3, SSM, STS and
IAM emulator written independently of vzgen and of tests/servers/s3_server.py. It starts with
authentication off, so a test can create buckets, parameters and roles; POST /moto-api/reset-auth
with body "0" then turns IAM authentication on, after which every request's SigV4 signature is
checked (by botocore's signer) and its action against the caller's IAM policies.

Usage: build/venv/peers/bin/python moto_server.py
Prints "PORT <n>" once listening on a free port of 127.0.0.1.
"""
import logging
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(f"PORT {server.get_host_and_port()[1]}", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
