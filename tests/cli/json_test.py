#!/usr/bin/python3
"""--json against the real services: every verb of the command table has a
schema in docs/cli-json.md, and a representative run of commands (an app
created, provisioned, deployed from examples/apps/hello behind a private
Caddy, inspected, backed up, then destroyed) prints exactly one document
on stdout that validates against its schema; errors print the error
document."""
import os
import time

import schema
import subprocess

from clitest import Test, table, command, private_caddy, example_app, github_standin, http, ROOT

t = Test("cli-json")
t.require_env("TOWLION_PG_URL", "TOWLION_REDIS_URL", "TOWLION_DOCKER_HOST", "TOWLION_S3_ENDPOINT")
schemas, defs = schema.load(os.path.join(ROOT, "docs", "cli-json.md"))
for g in table(t):
    for v in g["verbs"]:
        t.check(command(g, v) in schemas, f"docs/cli-json.md has no schema for "
                f"'{command(g, v)}'")

gh = github_standin(t)
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-test",
            **private_caddy(t), TOWLION_GITHUB_API=gh["TOWLION_GITHUB_API"],
            TOWLION_GITHUB_TOKEN=gh["TOWLION_GITHUB_TOKEN"])
app = f"clij{os.getpid() % 100000}"
host = f"{app}.towlion.test"
db = f"{app}_db"
seen = set()


def doc(key, args, want_rc=0, timeout=300):
    rc, d, err = t.json(args, env=env, timeout=timeout)
    where = f"towlion --json {' '.join(args)}"
    t.check(rc == want_rc, f"{where}: exit {rc}, expected {want_rc}: {err.strip()[-400:]}")
    if d is None:
        return None
    s = {"$ref": "error"} if key == "error" else schemas.get(key)
    if t.check(s is not None, f"no schema '{key}'"):
        errs = schema.errors(d, s, defs)
        t.check(not errs, f"{where}: the document breaks the schema of '{key}': {errs[:5]}")
    seen.add(key)
    return d


def destroy():
    t.run(["app", "destroy", app, "--yes", "--purge"], env=env, timeout=300)


t.cleanups.append(destroy)

doc("--version", ["--version"])
doc("help", ["help"])
doc("config show", ["config", "show"])
d = doc("doctor", ["doctor"])
doc("error", ["app", "show", app], want_rc=3)
doc("app create", ["--dry-run", "app", "create", app])
d = doc("app create", ["app", "create", app, "--domain", host, "--drain-ms", "200"])
t.check(d and d.get("domains") == [host], f"app create: domains {d}")
doc("app show", ["app", "show", app])
d = doc("app list", ["app", "list"])
t.check(d and [a["name"] for a in d["apps"]] == [app], f"app list: {d}")
doc("error", ["app", "create", app], want_rc=4)

doc("db create", ["db", "create", app])
d = doc("db list", ["db", "list"])
t.check(d and any(x["database"] == db for x in d["databases"]), f"db list has {db}")
d = doc("db url", ["db", "url", app])
t.check(d and d["database_url"].startswith("postgresql://"), "db url")
doc("db rotate", ["--dry-run", "db", "rotate", app])
doc("db schema", ["db", "schema", "create", app, "--pr", "3"])
doc("db schema", ["db", "schema", "drop", app, "--pr", "3"])
doc("redis create", ["redis", "create", app])
doc("redis stats", ["redis", "stats", app])
doc("redis drop", ["--dry-run", "redis", "drop", app])

d = doc("s3 bucket", ["s3", "bucket", "create", app])
bucket = d and d["bucket"]
doc("s3 bucket", ["s3", "bucket", "list"])
doc("s3 ls", ["s3", "ls"])
src = os.path.join(t.tmp, "object.txt")
with open(src, "w") as f:
    f.write("hello from the cli json test\n")
doc("s3 put", ["s3", "put", src, f"{bucket}/dir/object.txt"])
d = doc("s3 ls", ["s3", "ls", f"{bucket}/", "--recursive"])
t.check(d and [o["key"] for o in d["objects"]] == ["dir/object.txt"], f"s3 ls: {d}")
doc("s3 get", ["s3", "get", f"{bucket}/dir/object.txt", os.path.join(t.tmp, "back.txt")])
doc("s3 rm", ["s3", "rm", f"{bucket}/dir/object.txt"])

doc("route init", ["--dry-run", "route", "init"])
doc("route init", ["route", "init"])
doc("route reload", ["route", "reload"])
doc("route check", ["route", "check"])
doc("route list", ["route", "list"])

doc("compose check", ["compose", "check", os.path.join(ROOT, "examples", "apps", "hello")])
srcdir = example_app(t)
doc("deploy", ["--dry-run", "deploy", app, "--path", srcdir])
d = doc("deploy", ["deploy", app, "--path", srcdir, "--timeout", "120"], timeout=600)
d = doc("releases", ["releases", app])
t.check(d and len(d["releases"]) == 1 and d["releases"][0]["status"] == "active",
        f"releases: {d}")
d = doc("status", ["status"])
t.check(d and d["apps"][0]["healthy"] is True and d["apps"][0]["database"] is not None,
        f"status: {d}")
doc("status", ["status", app])
d = doc("docker ps", ["docker", "ps", "--app", app])
t.check(d and len(d["containers"]) >= 1, f"docker ps: {d}")
doc("route list", ["route", "list", "--health"])
d = doc("logs", ["logs", app, "--tail", "20"])
d = doc("exec", ["exec", app, "--", "echo", "from-exec"])
t.check(d and d.get("stdout") == "from-exec\n" and d.get("exit_code") == 0, f"exec: {d}")
doc("exec", ["--dry-run", "exec", app, "--", "rm", "-rf", "/"])
doc("error", ["--dry-run", "rollback", app], want_rc=3)  # one release: nothing earlier
doc("deploy", ["deploy", app, "--path", example_app(t, version="2.0.0")], timeout=600)
doc("rollback", ["--dry-run", "rollback", app])
d = doc("rollback", ["rollback", app], timeout=600)
t.check(d and d.get("status") == "active", f"rollback: {d}")
doc("route add", ["route", "add", f"{app}-extra", f"{app}-extra.towlion.test", "--upstream",
                  "127.0.0.1:9"])
doc("route rm", ["--dry-run", "route", "rm", f"{app}-extra"])
doc("route rm", ["route", "rm", f"{app}-extra"])
doc("error", ["route", "rm", f"{app}-extra"], want_rc=3)
d = doc("preview up", ["preview", "up", app, "--pr", "4", "--path", srcdir], timeout=600)
doc("preview list", ["preview", "list", app])
doc("preview down", ["preview", "down", app, "--pr", "4"], timeout=300)
http(gh["TOWLION_GITHUB_API"] + "/_standin/prs", "POST",
     {"repo": "acme/shop", "number": 9, "state": "open", "head_sha": "b" * 40,
      "head_ref": "feature", "base_ref": "main", "title": "a change"})
doc("github pr", ["github", "pr", "acme/shop", "9"])
doc("github comment", ["--dry-run", "github", "comment", "acme/shop", "--pr", "9", "--body", "x"])
d = doc("github comment", ["github", "comment", "acme/shop", "--pr", "9", "--body", "one"])
t.check(d and d.get("action") == "created", f"github comment: {d}")
d = doc("github comment", ["github", "comment", "acme/shop", "--pr", "9", "--body", "two"])
t.check(d and d.get("action") == "edited", f"github comment again: {d}")
doc("preview gc", ["--dry-run", "preview", "gc", "--no-github"])

d = doc("backup run", ["backup", "run", "--db", db])
t.check(d and d["ok"] and len(d["backups"]) == 1, f"backup run: {d}")
d = doc("backup list", ["backup", "list"])
if d and d["backups"]:
    doc("backup verify", ["backup", "verify", d["backups"][0]["file"]])
    copy = f"{app}_copy"
    t.cleanups.append(lambda: subprocess.run(
        ["psql", "-X", "-q", env["TOWLION_PG_URL"], "-c", f"drop database if exists {copy}"],
        capture_output=True))
    d2 = doc("backup restore", ["backup", "restore", db, d["backups"][0]["file"], "--yes",
                                "--into", copy], timeout=600)
    t.check(d2 and d2.get("mode") == "side-by-side", f"backup restore --into: {d2}")
    # the copy is owned by the app's role: it goes before the role can
    subprocess.run(["psql", "-X", "-q", env["TOWLION_PG_URL"], "-c",
                    f"drop database if exists {copy}"], capture_output=True)
doc("backup prune", ["--dry-run", "backup", "prune"])
doc("backup key", ["backup", "key", "generate", os.path.join(t.tmp, "backup.key")])

doc("metrics", ["metrics"])
doc("metrics", ["metrics", "-o", os.path.join(t.tmp, "towlion.prom")])
doc("metrics", ["metrics", "--textfile", t.tmp])
doc("alerts check", ["--dry-run", "alerts", "check"])
doc("platform init", ["--dry-run", "platform", "init", "--root", os.path.join(t.tmp, "root"),
                      "--no-docker"])
doc("platform compose", ["platform", "compose", "-o", "-"])
doc("app destroy", ["--dry-run", "app", "destroy", app, "--purge"])
doc("redis drop", ["redis", "drop", app])
doc("db drop", ["db", "drop", app, "--yes"])
doc("app destroy", ["app", "destroy", app, "--yes", "--purge"], timeout=300)
doc("error", ["releases", "NOT-AN-APP"], want_rc=1)
print(f"validated {len(seen)} kinds of documents: {', '.join(sorted(seen))}")
t.finish()
