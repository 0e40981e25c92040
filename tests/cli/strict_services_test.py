#!/usr/bin/python3
"""Against the harness (issue 22): db, redis and s3 bucket create refuse a
name that is no registered app unless --standalone (exit 3, nothing
made); app destroy --purge with PostgreSQL down refuses with exit 5 and
changes nothing, and once it is up removes every file and lock."""
import os

from clitest import Test, private_caddy

t = Test("cli-strict-services")
t.require_env("TOWLION_PG_URL", "TOWLION_REDIS_URL", "TOWLION_DOCKER_HOST",
              "TOWLION_S3_ENDPOINT")
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-strict",
            **private_caddy(t))
pid = os.getpid() % 100000
ghost, app = f"ghost{pid}", f"strict{pid}"
state = os.path.join(t.tmp, "state")


def expect(code, args, env=env, has=()):
    rc, out, err = t.run(args, env=env)
    line = "towlion " + " ".join(args)
    t.check(rc == code, f"{line}: exit {rc}, expected {code}: {err.strip()[-400:]}")
    for words in has:
        t.check(words in err, f"{line}: stderr lacks {words!r}: {err.strip()[-400:]}")
    return out


t.cleanups.append(lambda: t.run(["db", "drop", ghost, "--yes"], env=env))
t.cleanups.append(lambda: t.run(["app", "destroy", app, "--yes", "--purge"], env=env))

# ---- tenancy for a name that is no app
for args in (["db", "create", ghost], ["redis", "create", ghost],
             ["s3", "bucket", "create", ghost]):
    expect(3, args, has=("no registered app", "--standalone"))
t.check(not os.path.exists(os.path.join(state, "apps", ghost)),
        "a refused create made the name's state directory")
expect(0, ["db", "create", ghost, "--standalone"])
expect(0, ["db", "drop", ghost, "--yes"])

# ---- destroy with PostgreSQL down, then up
expect(0, ["app", "create", app, "--domain", f"{app}.towlion.test"])
expect(0, ["db", "create", app])
expect(0, ["redis", "create", app])
down = dict(env, TOWLION_PG_URL="postgresql://postgres@127.0.0.1:1/postgres")
expect(5, ["app", "destroy", app, "--yes", "--purge"], env=down,
       has=("PostgreSQL", "nothing was changed"))
expect(0, ["app", "show", app])
t.check(os.path.exists(os.path.join(state, "apps", app, "app.env")),
        "the refused destroy removed the env file")
out = expect(0, ["db", "url", app])
t.check(out.startswith("postgresql://"), f"the database survived: {out[:40]!r}")
expect(0, ["app", "destroy", app, "--yes", "--purge"])
expect(3, ["app", "show", app])
t.check(not os.path.exists(os.path.join(state, "apps", app)),
        f"state/apps/{app} is left: {os.listdir(os.path.join(state, 'apps'))}")
locks = os.path.join(state, "locks")
left = [f for f in os.listdir(locks) if app in f] if os.path.isdir(locks) else []
t.check(not left, f"lock files left: {left}")
expect(3, ["db", "url", app])

t.finish()
