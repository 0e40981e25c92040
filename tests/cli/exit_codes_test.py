#!/usr/bin/python3
"""Exit codes per the design, each produced by a real situation against
the real services: 0 ok, 1 failed, 2 usage, 3 not found, 4 conflict or
locked, 5 unavailable, 6 unhealthy release, 7 auth. The message on stderr
says what failed and what to do; with --json the same code comes with the
error document."""
import fcntl
import os
import re
import time
import urllib.parse

from clitest import Test, private_caddy, example_app

t = Test("cli-exit-codes")
t.require_env("TOWLION_PG_URL", "TOWLION_REDIS_URL", "TOWLION_DOCKER_HOST", "TOWLION_S3_ENDPOINT")
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-test",
            **private_caddy(t))
app = f"clix{os.getpid() % 100000}"


def expect(code, args, env=env, stderr_has=(), timeout=300, document="error"):
    line = f"towlion {' '.join(args)}"
    rc, out, err = t.run(args, env=env, timeout=timeout)
    t.check(rc == code, f"{line}: exit {rc}, expected {code}; stderr: {err.strip()[-400:]}")
    for pat in stderr_has:
        t.check(re.search(pat, err, re.I), f"{line}: stderr says /{pat}/: {err.strip()[-400:]}")
    if code:
        rc2, doc, _ = t.json(args, env=env, timeout=timeout)
        t.check(rc2 == code and doc and ("error" in doc) == (document == "error"),
                f"towlion --json {' '.join(args)}: exit {rc2} and the {document} document: "
                f"{str(doc)[:300]}")
    return err


t.cleanups.append(lambda: t.run(["app", "destroy", app, "--yes", "--purge"], env=env,
                                 timeout=300))
# 0
expect(0, ["config", "show"])
expect(0, ["route", "init"])
expect(0, ["route", "reload"])
expect(0, ["app", "create", app, "--domain", f"{app}.towlion.test", "--drain-ms", "100"])
# 1: a compose file that is not YAML; a name that is not a name
bad = os.path.join(t.tmp, "bad")
os.makedirs(bad)
with open(os.path.join(bad, "compose.yaml"), "w") as f:
    f.write("services:\n  app: [unclosed\n")
expect(1, ["compose", "check", bad], stderr_has=[r"compose\.yaml:\d+"])
expect(1, ["app", "show", "Not_A_Name"], stderr_has=["Not_A_Name"])
# 2: usage
expect(2, ["app", "list", "--bogus"], stderr_has=["unknown option", r"towlion app list --help"])
expect(2, ["deploy", app], stderr_has=["--path"])
expect(2, ["nosuchgroup"], stderr_has=["unknown command"])
# 3: not found
expect(3, ["app", "show", f"{app}x"], stderr_has=[f"{app}x", "towlion app create"])
expect(3, ["releases", f"{app}x"])
expect(3, ["--dry-run", "rollback", app], stderr_has=["no earlier release", "towlion releases"])
expect(3, ["backup", "verify", "nosuch_db_20260101T000000Z.dump.zst"])
# 4: conflict, and a lock another process holds (the registry lock, which
# app create waits 30 s for)
expect(4, ["app", "create", app], stderr_has=["exists"])
locks = os.path.join(env["TOWLION_STATE_DIR"], "locks")
os.makedirs(locks, exist_ok=True)
with open(os.path.join(locks, "registry.lock"), "a+") as lk:
    fcntl.flock(lk, fcntl.LOCK_EX)
    t0 = time.time()
    rc, out, err = t.run(["app", "create", f"{app}l"], env=env, timeout=120)
    fcntl.flock(lk, fcntl.LOCK_UN)
t.check(rc == 4, f"app create under a held lock: exit {rc}, expected 4: {err.strip()}")
t.check("locked" in err and "registry" in err, f"the message names the lock: {err.strip()}")
t.check(time.time() - t0 >= 25, "it waited for the lock before giving up")
# 5: services that do not answer
closed = "127.0.0.1:9"
u = urllib.parse.urlsplit(env["TOWLION_PG_URL"])
expect(5, ["db", "list"], env={**env, "TOWLION_PG_URL": u._replace(
    netloc=f"{u.username}:{u.password}@{closed}").geturl()}, stderr_has=[r"127\.0\.0\.1:9|port 9"])
expect(5, ["route", "check"], env={**env, "TOWLION_CADDY_ADMIN": f"http://{closed}"},
       stderr_has=[closed])
expect(5, ["docker", "ps"], env={**env, "TOWLION_DOCKER_HOST": "unix:///nonexistent.sock"},
       stderr_has=["nonexistent.sock"])
# doctor reports every check (its report, not an error document) and exits 5
expect(5, ["doctor"], env={**env, "TOWLION_REDIS_URL": f"redis://{closed}"}, document="report")
# 7: refused credentials
expect(7, ["db", "list"], env={**env, "TOWLION_PG_URL": u._replace(
    netloc=f"{u.username}:wrong-password@{u.hostname}:{u.port}").geturl()},
    stderr_has=["password|authentication"])
r = urllib.parse.urlsplit(env["TOWLION_REDIS_URL"])
expect(7, ["redis", "stats", app], env={**env, "TOWLION_REDIS_URL": r._replace(
    netloc=f"default:wrong@{r.hostname}:{r.port}").geturl()})
expect(7, ["s3", "ls"], env={**env, "TOWLION_S3_SECRET_KEY": "wrong-secret"})
# 6: a release whose /health answers 500 is refused; the old one serves
expect(0, ["deploy", app, "--path", example_app(t, "hello")], timeout=600)
expect(6, ["deploy", app, "--path", example_app(t, "broken-health"), "--timeout", "15"],
       stderr_has=["health"], timeout=600)
rc, doc, err = t.json(["status", app], env=env)
t.check(rc == 0 and doc["apps"][0]["healthy"], f"the old release still serves: {rc} {doc}")
# rollback --dry-run refuses exactly as the rollback would (it used to pick
# its target alone and promise both): to the release that serves, and to
# the one that never served; the same exit code and the same words.
rc, doc, _ = t.json(["releases", app], env=env)
ids = {r["status"]: r["id"] for r in reversed(doc["releases"])} if doc else {}
for target, why in ((ids.get("active"), "serving already"), (ids.get("failed"), "never served")):
    dry = expect(1, ["--dry-run", "rollback", app, "--to", str(target)], stderr_has=[why])
    real = expect(1, ["rollback", app, "--to", str(target)], stderr_has=[why])
    t.check(dry == real, f"the dry run's refusal is the rollback's: {dry!r} vs {real!r}")
t.finish()
