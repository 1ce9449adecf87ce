"""Starting the loopback servers from Python tests and benchmarks: nginx (Debian) serving a
directory with range support, and our Python test servers, each killed when the test process
dies (PR_SET_PDEATHSIG) or when the Servers context exits."""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# The interpreter running the test (a test environment's python) also runs the servers.
PYTHON = sys.executable
NGINX = "/usr/sbin/nginx"


def _die_with_parent():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


class Servers:
    """with Servers() as s: port = s.nginx(root); port = s.python("s3_server.py", [...])"""

    def __init__(self):
        self.procs = []
        self.dirs = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in self.dirs:
            d.cleanup()

    def nginx(self, root, tls=False, access_log=None):
        """nginx serving `root` on a free port (with range support); with tls=True over HTTPS
        with a new self-signed certificate for 127.0.0.1, returning (port, certificate path).
        With access_log=PATH every request is logged there as "STATUS BODY_BYTES"."""
        if not os.path.exists(NGINX):
            raise RuntimeError("nginx is not installed (make deps installs nginx-light)")
        d = tempfile.TemporaryDirectory(prefix="vz_nginx_")
        self.dirs.append(d)
        port = _free_port()
        conf = os.path.join(d.name, "nginx.conf")
        tmp = os.path.join(d.name, "tmp")
        listen = f"127.0.0.1:{port}"
        if tls:
            cert = os.path.join(d.name, "cert.pem")
            key = os.path.join(d.name, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "1", "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            listen += f" ssl; ssl_certificate {cert}; ssl_certificate_key {key}"
        log = "access_log off;"
        if access_log:
            log = f"log_format counts '$status $body_bytes_sent'; access_log {access_log} counts;"
        with open(conf, "w") as f:
            f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {d.name}/nginx.pid;
error_log {d.name}/error.log;
events {{ worker_connections 1024; }}
http {{
  {log}
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  keepalive_requests 100000;
  server {{ listen {listen}; root {root}; }}
}}
""")
        p = subprocess.Popen([NGINX, "-p", d.name, "-c", conf], preexec_fn=_die_with_parent,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        if not _wait_port(port):
            raise RuntimeError("nginx did not start")
        return (port, cert) if tls else port

    def python(self, script, args):
        """Starts tests/servers/<script> and returns the numbers of its "PORT(S) ..." line."""
        return self.command([PYTHON, os.path.join(HERE, script)] + list(args))

    def command(self, argv):
        """Starts a server program and returns the numbers of its "PORT(S) ..." line."""
        p = subprocess.Popen(list(argv), preexec_fn=_die_with_parent, stdout=subprocess.PIPE,
                             stderr=sys.stderr, text=True)
        self.procs.append(p)
        line = p.stdout.readline().split()
        if not line or not line[0].startswith("PORT"):
            raise RuntimeError(f"{argv[0]} did not start")
        return [int(x) for x in line[1:]]
