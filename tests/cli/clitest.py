"""Helpers for the CLI tests: run the towlion binary, collect failures,
skip or fail without services (CI=true turns a skip into a failure)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback

SKIP = 77  # ctest SKIP_RETURN_CODE


class Test:
    def __init__(self, name):
        if len(sys.argv) < 2:
            sys.exit(f"usage: {sys.argv[0]} PATH/TO/towlion [ARGS]")
        self.name = name
        self.towlion = os.path.abspath(sys.argv[1])
        self.args = sys.argv[2:]
        self.failures = []
        self.checks = 0
        self.tmp = tempfile.mkdtemp(prefix=f"tl-cli-{name}-")
        self.cleanups = []
        # a crash still cleans up what the test made (apps, a private Caddy)
        def hook(tp, value, tb):
            traceback.print_exception(tp, value, tb)
            self.failures.append(f"crashed: {value!r}")
            self.finish()
        sys.excepthook = hook

    def run(self, args, env=None, input=None, timeout=300, cwd=None):
        """Run towlion ARGS; returns (exit code, stdout, stderr)."""
        p = subprocess.run([self.towlion] + list(args), env=env, input=input,
                           capture_output=True, text=True, timeout=timeout, cwd=cwd)
        return p.returncode, p.stdout, p.stderr

    def json(self, args, env=None, **kw):
        """Run with --json: (exit code, parsed document or None, stderr)."""
        rc, out, err = self.run(["--json"] + list(args), env=env, **kw)
        try:
            doc = json.loads(out)
        except ValueError:
            self.fail(f"towlion --json {' '.join(args)}: stdout is not one JSON "
                      f"document: {out[:300]!r} (stderr {err[:300]!r})")
            doc = None
        return rc, doc, err

    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.fail(what)
        return cond

    def fail(self, what):
        self.failures.append(what)
        print(f"FAIL: {what}", flush=True)

    def require_env(self, *names):
        """The harness's variables, or skip (fail under CI=true)."""
        missing = [n for n in names if not os.environ.get(n)]
        if missing:
            msg = f"{self.name}: needs {', '.join(missing)} (run it under the harness)"
            if os.environ.get("CI") == "true":
                print(f"FAIL: {msg}")
                sys.exit(1)
            print(f"SKIP: {msg}")
            sys.exit(SKIP)

    def env(self, **overrides):
        """The environment with an isolated state: this test's own state,
        apps, data and backup directories (services stay the harness's)."""
        e = dict(os.environ)
        for k in ("NO_COLOR", "TOWLION_BACKUP_KEY", "TOWLION_BACKUP_REMOTE"):
            e.pop(k, None)
        e["TOWLION_DATA_DIR"] = os.path.join(self.tmp, "data")
        e["TOWLION_STATE_DIR"] = os.path.join(self.tmp, "state")
        e["TOWLION_APPS_DIR"] = os.path.join(self.tmp, "apps")
        e["TOWLION_BACKUP_DIR"] = os.path.join(self.tmp, "backups")
        e.update({k: v for k, v in overrides.items() if v is not None})
        for k, v in overrides.items():
            if v is None:
                e.pop(k, None)
        return e

    def finish(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as ex:  # cleanup must not hide the result
                print(f"cleanup: {ex}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.failures:
            print(f"{self.name}: {len(self.failures)} of {self.checks} checks failed")
            sys.exit(1)
        print(f"{self.name}: all {self.checks} checks passed")
        sys.exit(0)


def table(t):
    """The command table, from `towlion --json help`."""
    rc, doc, err = t.json(["help"])
    if rc != 0 or not doc:
        t.fail(f"towlion --json help failed ({rc}): {err}")
        t.finish()
    return doc["groups"]


def command(group, verb):
    return f"{group['name']} {verb['name']}".strip()


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def private_caddy(t):
    """A Caddy of this test's own (tests/harness/start --services caddy), so
    that route changes never touch the shared one; stopped at finish().
    Returns the TOWLION_* variables that point at it."""
    d = os.path.join(t.tmp, "caddy-harness")
    p = subprocess.run([f"{ROOT}/tests/harness/start", "--services", "caddy", "--dir", d],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        t.fail(f"cannot start a private Caddy: {p.stderr}")
        t.finish()
    t.cleanups.append(lambda: subprocess.run([f"{ROOT}/tests/harness/stop", d],
                                             capture_output=True, timeout=120))
    out = {}
    for line in p.stdout.splitlines():
        k, _, v = line.removeprefix("export ").partition("=")
        if k in ("TOWLION_CADDY_ADMIN", "TOWLION_CADDY_DIR", "TOWLION_HTTP_PORT",
                 "TOWLION_HTTPS_PORT", "TOWLION_TLS"):
            out[k] = v
    return out


def example_app(t, name="hello", version="1.0.0"):
    """A copy of examples/apps/NAME with its deploy/.env, to deploy from."""
    dst = os.path.join(t.tmp, "src", name)
    if not os.path.isdir(dst):
        shutil.copytree(os.path.join(ROOT, "examples", "apps", name), dst)
    with open(os.path.join(dst, "deploy", ".env"), "w") as f:
        f.write(f"APP_VERSION={version}\n")
    return dst


def github_standin(t):
    """A GitHub API stand-in of this test's own; returns its variables."""
    d = os.path.join(t.tmp, "github")
    p = subprocess.run([f"{ROOT}/tests/harness/github-standin/start", d], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        t.fail(f"cannot start the GitHub stand-in: {p.stderr}")
        t.finish()
    t.cleanups.append(lambda: subprocess.run([f"{ROOT}/tests/harness/github-standin/stop", d],
                                             capture_output=True, timeout=60))
    out = {}
    for line in p.stdout.splitlines():
        k, _, v = line.removeprefix("export ").partition("=")
        out[k] = v
    return out


def http(url, method="GET", body=None, unix=None):
    """A small HTTP client (stdlib), over TCP or a unix socket."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    if unix:
        import socket

        class Conn(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(unix)
        c = Conn("localhost", timeout=30)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    data = json.dumps(body).encode() if body is not None else None
    c.request(method, u.path + ("?" + u.query if u.query else ""), body=data,
              headers={"Content-Type": "application/json"} if data else {})
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw.decode(errors="replace")
