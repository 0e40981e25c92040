"""Helpers for the CLI tests: run the towlion binary, collect failures,
skip or fail without services (CI=true turns a skip into a failure)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

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
