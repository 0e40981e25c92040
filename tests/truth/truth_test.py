#!/usr/bin/python3
"""status and doctor tell the truth (issue 22): against the harness's real
dockerd and PostgreSQL and a Caddy of this test's own, break an app the
way an operator or a killed deploy would and check what `status` and
`doctor` say and how they exit.

Usage: truth_test.py PATH/TO/towlion PYTHON_MODULE_DIR"""
from http.server import BaseHTTPRequestHandler, HTTPServer
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clitest import Test, ROOT, private_caddy, example_app, http  # noqa: E402
import schema  # noqa: E402

EXIT_UNAVAILABLE, EXIT_UNHEALTHY = 5, 6

t = Test("truth")
SCHEMAS, DEFS = schema.load(os.path.join(ROOT, "docs", "cli-json.md"))


def conforms(cmd, doc):
    """Every document this test reads is checked against docs/cli-json.md."""
    errs = schema.errors(doc, SCHEMAS[cmd], DEFS) if doc is not None else ["no document"]
    t.check(not errs, f"{cmd} --json breaks its schema: {errs[:3]}")
t.require_env("TOWLION_PG_URL", "TOWLION_DOCKER_HOST")
pymod = t.args[0] if t.args else None
caddy = private_caddy(t)
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-test",
            TOWLION_S3_ENDPOINT=None, **caddy)
app = f"truth{os.getpid() % 100000}"
host = f"{app}.towlion.test"
docker_sock = env["TOWLION_DOCKER_HOST"].removeprefix("unix://")
OLD = "20000101T000000Z-leftover"


def docker(method, path, body=None):
    return http(f"http://localhost{path}", method=method, body=body, unix=docker_sock)


def status(*extra, e=env):
    """(exit code, the app's status document, stderr)."""
    rc, doc, err = t.json(["status", app] + list(extra), env=e)
    conforms("status", doc)
    apps = (doc or {}).get("apps") or [{}]
    return rc, apps[0], err


def doctor(e=env):
    rc, doc, err = t.json(["doctor"], env=e, timeout=120)
    conforms("doctor", doc)
    return rc, {c["name"]: c for c in (doc or {}).get("checks", [])}, err


def deploy(version):
    rc, out, err = t.run(["deploy", app, "--path", example_app(t, "hello", version),
                          "--timeout", "120"], env=env, timeout=900)
    if not t.check(rc == 0, f"deploy {version}: exit {rc}: {err.strip()[-400:]}"):
        t.finish()  # nothing below means anything without a deployed app


def leftover(name, running):
    """A container of a release that is not the active one, labelled as a
    killed deploy leaves it (busybox, from the harness's image)."""
    spec = {"Image": "towlion-test/busybox:latest", "Cmd": ["sleep", "600"],
            "Labels": {"towlion.app": app, "towlion.project": app, "towlion.release": OLD,
                       "towlion.service": "app", "towlion.role": "web", "towlion.test": "truth"},
            "HostConfig": {"Init": True}}
    st, body = docker("POST", f"/containers/create?name={name}", spec)
    t.check(st == 201, f"create leftover {name}: HTTP {st} {body}")
    t.cleanups.append(lambda: docker("DELETE", f"/containers/{name}?force=1"))
    if running:
        st, body = docker("POST", f"/containers/{name}/start")
        t.check(st == 204, f"start leftover {name}: HTTP {st} {body}")


def names(cs):
    return sorted(c["name"] for c in cs)


t.cleanups.append(lambda: t.run(["app", "destroy", app, "--yes", "--purge"], env=env,
                                 timeout=300))
rc, _, err = t.run(["route", "init"], env=env)
t.check(rc == 0, f"route init: {err}")
rc, _, err = t.run(["app", "create", app, "--domain", host, "--drain-ms", "100"], env=env)
t.check(rc == 0, f"app create: {err}")

# Not deployed: no health to judge, exit 0, no route expected.
rc, st, err = status()
t.check(rc == 0 and st.get("healthy") is False and st.get("health") == "none" and
        st.get("route", {}).get("state") == "none",
        f"before any deploy: exit {rc}, {st}")

deploy("1.0.0")
t0 = time.monotonic()
rc, st, err = status()
print(f"status of a healthy app took {time.monotonic() - t0:.2f} s", flush=True)
t.check(rc == 0 and st["healthy"] and st["health"] == "healthy" and st["reason"] == "",
        f"deployed: exit {rc}, {st} {err}")
t.check(st["route"]["state"] == "ok" and len(st["route"]["upstreams"]) == 1,
        f"the route as Caddy has it: {st['route']}")
t.check(len(st["containers"]) == 1 and st["leftovers"] == [], f"containers: {st}")
web = st["containers"][0]["name"]

# doctor with TLS off (the private Caddy's): no HTTPS port, no "start Caddy"
# advice while Caddy runs; the apps check sees the app healthy.
rc, checks, err = doctor()
ports = checks.get("ports", {})
t.check(str(caddy["TOWLION_HTTPS_PORT"]) not in ports.get("detail", "") and
        "start Caddy" not in ports.get("hint", ""), f"ports with TLS off: {ports}")
t.check(checks.get("apps", {}).get("status") == "ok", f"apps check: {checks.get('apps')}")

# Leftovers of a killed deploy, one stopped and one running: shown apart,
# the app stays healthy; --fix --dry-run names them, --fix removes them.
left = [f"{app}-app-leftst", f"{app}-app-leftrun"]
leftover(left[0], running=False)
leftover(left[1], running=True)
rc, st, err = status()
t.check(rc == 0 and st["healthy"], f"with leftovers the app stays healthy: exit {rc} {st}")
t.check(names(st["leftovers"]) == sorted(left) and names(st["containers"]) == [web],
        f"leftovers listed apart: {st['leftovers']} / {st['containers']}")
rc, out, err = t.run(["status", app], env=env)
t.check("--fix" in out and "leftover" in out, f"human status points at --fix: {out}")
rc, checks, err = doctor()
t.check(checks.get("apps", {}).get("status") == "warn" and
        "leftover" in checks["apps"]["detail"], f"doctor warns of leftovers: {checks.get('apps')}")
rc, st, err = status("--fix", "--dry-run")
t.check(rc == 0 and sorted(st.get("removed", [])) == sorted(left) and
        len(st["leftovers"]) == 2, f"--fix --dry-run names them, removes nothing: {st}")
rc, st, err = status("--fix")
t.check(rc == 0 and sorted(st.get("removed", [])) == sorted(left) and st["leftovers"] == [] and
        st["healthy"], f"--fix removed them: exit {rc} {st} {err}")
for n in left:
    code, _ = docker("GET", f"/containers/{n}/json")
    t.check(code == 404, f"{n} is gone after --fix (HTTP {code})")

# The route changed by hand in Caddy: not healthy, the reason says where
# it points; `route reload` puts the file's route back.
admin = caddy["TOWLION_CADDY_ADMIN"]
code, cfg = http(f"{admin}/config/")
text = json.dumps(cfg).replace(st["route"]["upstreams"][0], "127.0.0.1:9")
code, body = http(f"{admin}/load", method="POST", body=json.loads(text))
t.check(code == 200, f"load a hand-made route: HTTP {code} {body}")
rc, st, err = status()
t.check(rc == EXIT_UNHEALTHY and not st["healthy"] and st["route"]["state"] == "elsewhere" and
        "127.0.0.1:9" in st["reason"], f"route elsewhere: exit {rc} {st}")
# No route at all (Caddy emptied by hand, as after a restart without its
# config): "missing", not "unknown".
code, cfg = http(f"{admin}/config/")
cfg.get("apps", {}).pop("http", None)
code, body = http(f"{admin}/load", method="POST", body=cfg)
rc, st, err = status()
t.check(rc == EXIT_UNHEALTHY and st["route"]["state"] == "missing" and
        "no route" in st["reason"], f"route missing: exit {rc} {st}")
rc, _, err = t.run(["route", "reload"], env=env)
t.check(rc == 0, f"route reload: {err}")
rc, st, err = status()
t.check(rc == 0 and st["healthy"], f"after route reload: exit {rc} {st}")

# S3 answering 500: an error, not "ok".
class Err500(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"boom")

    def log_message(self, *a):
        pass


srv = HTTPServer(("127.0.0.1", 0), Err500)
threading.Thread(target=srv.serve_forever, daemon=True).start()
s3env = {**env, "TOWLION_S3_ENDPOINT": f"http://127.0.0.1:{srv.server_address[1]}"}
rc, checks, err = doctor(s3env)
s3 = checks.get("s3", {})
t.check(s3.get("status") == "fail" and "500" in s3.get("detail", "") and rc == EXIT_UNAVAILABLE,
        f"doctor with S3 answering 500: exit {rc}, {s3}")
srv.shutdown()

# PostgreSQL unreachable: the DB column says so (not "-", which is "no
# database"); the app's own health does not depend on it.
u = urllib.parse.urlsplit(env["TOWLION_PG_URL"])
pgdown = {**env, "TOWLION_PG_URL": u._replace(
    netloc=f"{u.username}:{u.password}@127.0.0.1:9").geturl()}
rc, st, err = status(e=pgdown)
t.check(st.get("database", {}) and st["database"].get("reachable") is False and
        st["database"].get("error"), f"PostgreSQL down, JSON: {st.get('database')}")
rc, out, err = t.run(["status"], env=pgdown)
line = next((ln for ln in out.splitlines() if ln.startswith(app)), "")
t.check("unreachable" in line.split(), f"PostgreSQL down, DB column: {out}")

# The app's container removed by hand: exit 6, healthy false with the
# reason, and doctor exits non-zero.
code, _ = docker("DELETE", f"/containers/{web}?force=1")
t.check(code == 204, f"remove {web} by hand: HTTP {code}")
rc, st, err = status()
t.check(rc == EXIT_UNHEALTHY and st["healthy"] is False and st["health"] == "unhealthy" and
        "no running container" in st["reason"]
        and st["containers"] == [], f"container gone: exit {rc} {st}")
rc, out, err = t.run(["status", app], env=env)
t.check(rc == EXIT_UNHEALTHY and "UNHEALTHY" in out and "why:" in out, f"human: {rc} {out}")
rc, checks, err = doctor()
t.check(rc != 0 and checks.get("apps", {}).get("status") == "fail" and
        app in checks["apps"]["detail"], f"doctor with the container gone: exit {rc} {checks.get('apps')}")

# The next deploy converges and removes leftovers too.
leftover(f"{app}-app-left2", running=True)
deploy("2.0.0")
rc, st, err = status()
t.check(rc == 0 and st["healthy"] and st["leftovers"] == [], f"after the next deploy: {rc} {st}")

# Python: the same fields through the binding, and remove_leftovers().
if pymod:
    leftover(f"{app}-app-left3", running=False)
    code = ("import json, towlion\n"
            "c = towlion.Context(use_config_file=False)\n"
            f"before = c.deploys.status({app!r})\n"
            f"removed = c.deploys.remove_leftovers({app!r})\n"
            f"print(json.dumps([before, removed, c.deploys.status({app!r})]))")
    p = subprocess.run(["/usr/bin/python3", "-c", code], env={**env, "PYTHONPATH": pymod},
                       capture_output=True, text=True, timeout=120)
    try:
        before, removed, after = json.loads(p.stdout)
    except ValueError:
        before, removed, after = {}, [], {}
    t.check(before.get("healthy") is True and before.get("route", {}).get("state") == "ok" and
            before.get("route", {}).get("upstreams") and before.get("reason") == "" and
            before.get("health") == "healthy" and
            before.get("operation") is None and
            names(before.get("leftovers", [])) == [f"{app}-app-left3"],
            f"Python status: {p.stdout} {p.stderr[-400:]}")
    t.check(removed == [f"{app}-app-left3"] and after.get("leftovers") == [],
            f"Python remove_leftovers: {removed} {after}")

# Caddy stopped: the route is unknown, health not claimed, exit non-zero.
subprocess.run([f"{ROOT}/tests/harness/stop", os.path.join(t.tmp, "caddy-harness")],
               capture_output=True, timeout=120)
rc, st, err = status()
t.check(rc == EXIT_UNAVAILABLE and st["healthy"] is False and st["health"] == "unknown" and
        st["route"]["state"] == "unknown"
        and "route unknown" in st["reason"], f"Caddy down: exit {rc} {st}")
rc, out, err = t.run(["status"], env=env)
t.check(rc != 0 and "healthy" not in out.replace("UNHEALTHY", ""), f"Caddy down, human: {out}")
rc, checks, err = doctor()
t.check(rc == EXIT_UNAVAILABLE and checks.get("caddy", {}).get("status") == "fail",
        f"doctor with Caddy down: exit {rc} {checks.get('caddy')}")
t.finish()
