#!/usr/bin/python3
"""Caddy on the main Caddyfile that `platform init` generates, with no
hand-set TOWLION_CADDY_ADMIN_LISTEN: its admin API is the unix socket named
in towlion.conf (no TCP admin port), and `towlion route add` through that
socket makes a route that serves. The host's Caddy (Debian's 2.6) stands in
for the container's: the Caddyfile and the socket are the same."""
import http.server
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
import urllib.request

from clitest import SKIP, Test

t = Test("conf-caddy")
caddy = shutil.which("caddy")
if not caddy:
    if os.environ.get("CI") == "true":
        t.fail("caddy is not installed (scripts/setup installs it)")
        t.finish()
    print("SKIP: caddy is not installed")
    raise SystemExit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


data = os.path.join(t.tmp, "data")
http_port, https_port = free_port(), free_port()
env = {k: v for k, v in os.environ.items() if not k.startswith("TOWLION_")}
env.update(TOWLION_DATA_DIR=data, TOWLION_APPS_DIR=os.path.join(t.tmp, "apps"),
           TOWLION_HTTP_PORT=str(http_port), TOWLION_HTTPS_PORT=str(https_port),
           TOWLION_TLS="off", TOWLION_DOMAIN="towlion.test")
rc, out, err = t.run(["platform", "init", "--no-docker"], env=env)
t.check(rc == 0, f"platform init: {err}")
state = os.path.join(data, "towlion")
sock = os.path.join(state, "caddy-admin", "admin.sock")
caddyfile = os.path.join(data, "caddy", "Caddyfile")

# Caddy as the container runs it: `caddy run` on the main Caddyfile.
cenv = dict(env, HOME=t.tmp, XDG_DATA_HOME=os.path.join(t.tmp, "xdg-data"),
            XDG_CONFIG_HOME=os.path.join(t.tmp, "xdg-config"))
log = open(os.path.join(t.tmp, "caddy.log"), "w")
proc = subprocess.Popen([caddy, "run", "--config", caddyfile, "--adapter", "caddyfile"],
                        cwd=os.path.dirname(caddyfile), env=cenv, stdout=log,
                        stderr=subprocess.STDOUT)


def stop_caddy():
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


t.cleanups.append(stop_caddy)
deadline = time.monotonic() + 30
while not os.path.exists(sock) and proc.poll() is None and time.monotonic() < deadline:
    time.sleep(0.1)
if not t.check(os.path.exists(sock) and stat.S_ISSOCK(os.stat(sock).st_mode),
               f"Caddy listens on {sock}: {open(log.name).read()[-2000:]}"):
    t.finish()
t.check(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700,
        "the socket's directory is 0700")
# No admin API on TCP: none of this Caddy's listening sockets is 2019.
inodes = {os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{proc.pid}/fd")}
tcp_ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as f:
        for line in list(f)[1:]:
            cols = line.split()
            if cols[3] == "0A" and f"socket:[{cols[9]}]" in inodes:  # LISTEN
                tcp_ports.add(int(cols[1].rsplit(":", 1)[1], 16))
t.check(2019 not in tcp_ports and tcp_ports <= {http_port, https_port},
        f"Caddy listens on TCP only for sites: {sorted(tcp_ports)}")


# An upstream: answers with a marker.
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello through the socket-admin caddy\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
threading.Thread(target=upstream.serve_forever, daemon=True).start()
t.cleanups.append(upstream.shutdown)

# towlion reaches the admin API through the socket named in towlion.conf.
rc, out, err = t.run(["route", "add", "hello", "hello.towlion.test", "--upstream",
                      f"127.0.0.1:{upstream.server_address[1]}", "--tls", "off"], env=env)
t.check(rc == 0, f"route add through the unix admin socket: {rc} {err}")
req = urllib.request.Request(f"http://127.0.0.1:{http_port}/",
                             headers={"Host": "hello.towlion.test"})
body = ""
for _ in range(50):
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            body = r.read().decode()
            break
    except OSError:
        time.sleep(0.1)
t.check("hello through the socket-admin caddy" in body, f"the route serves: {body!r}")
rc, out, err = t.run(["route", "list"], env=env)
t.check(rc == 0 and "hello" in out, f"route list reads the live config: {err}")
t.finish()
