#!/usr/bin/python3
"""--dry-run on every mutating verb prints a plan and changes nothing.

A real app is set up first (registered, database and preview schema, Redis
user, bucket with an object, two releases deployed behind a private Caddy,
a backup, a platform layout). Then each mutating verb of the command table
runs with --dry-run, and after each one the test compares what it can see
of the world: every file under the test's directories (state, apps,
backups, Caddy sites, platform root), Caddy's live config (GET /config/),
the app's and the platform's containers and images, the app's databases,
schemas, roles and password hashes, its Redis ACL rules and keys, the
objects in its bucket, the GitHub stand-in's write requests, and the
inside of the app's container."""
import hashlib
import json
import os
import subprocess
import time
import urllib.parse

import schema
from clitest import Test, table, command, private_caddy, example_app, github_standin, http, ROOT

t = Test("cli-dryrun")
t.require_env("TOWLION_PG_URL", "TOWLION_REDIS_URL", "TOWLION_DOCKER_HOST", "TOWLION_S3_ENDPOINT")
caddy = private_caddy(t)
gh = github_standin(t)
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-test", **caddy,
            TOWLION_GITHUB_API=gh["TOWLION_GITHUB_API"],
            TOWLION_GITHUB_TOKEN=gh["TOWLION_GITHUB_TOKEN"])
app = f"clid{os.getpid() % 100000}"
other = f"clie{os.getpid() % 100000}"  # never created: the plans for a new app
db = f"{app}_db"
root = os.path.join(t.tmp, "root")
sock = env["TOWLION_DOCKER_HOST"].removeprefix("unix://")


def must(args, timeout=600):
    rc, out, err = t.run(args, env=env, timeout=timeout)
    if not t.check(rc == 0, f"setup: towlion {' '.join(args)}: exit {rc}: {err.strip()[-500:]}"):
        t.finish()
    return out


t.cleanups.append(lambda: t.run(["app", "destroy", app, "--yes", "--purge"], env=env,
                                 timeout=300))
must(["route", "init"])
must(["route", "reload"])
must(["app", "create", app, "--domain", f"{app}.towlion.test", "--drain-ms", "100"])
must(["db", "create", app])
must(["db", "schema", "create", app, "--pr", "3"])
must(["redis", "create", app])
bucket = json.loads(must(["--json", "s3", "bucket", "create", app]))["bucket"]
obj = os.path.join(t.tmp, "object.txt")
with open(obj, "w") as f:
    f.write("dry-run object\n")
must(["s3", "put", obj, f"{bucket}/object.txt"])
must(["deploy", app, "--path", example_app(t, version="1.0.0")])
must(["deploy", app, "--path", example_app(t, version="2.0.0")])
must(["backup", "run", "--db", db])
backup = json.loads(must(["--json", "backup", "list"]))["backups"][0]["file"]
must(["platform", "init", "--root", root, "--no-docker"])
http(gh["TOWLION_GITHUB_API"] + "/_standin/prs", "POST",
     {"repo": "acme/shop", "number": 7, "state": "open", "head_sha": "a" * 40,
      "head_ref": "feature", "base_ref": "main", "title": "t"})


def tree():
    """Every file and directory under the test's directory, but for what
    the private services write themselves (logs, pids, Caddy's autosave
    and storage, the GitHub stand-in): mode, size, content."""
    cdir = caddy["TOWLION_CADDY_DIR"]
    hdir = os.path.dirname(cdir)

    def ignored(p):
        if p.startswith(os.path.join(t.tmp, "github")) or p.endswith((".log", ".pid")):
            return True
        if p.startswith(hdir + "/") and not (p == cdir or p.startswith(cdir + "/")):
            return True
        return p.startswith((os.path.join(cdir, "config"), os.path.join(cdir, "data")))

    out = {}
    for d, dirs, files in os.walk(t.tmp):
        for n in dirs + files:
            p = os.path.join(d, n)
            if ignored(p):
                continue
            st = os.lstat(p)
            h = ""
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
            out[p] = (st.st_mode, st.st_size if h else 0, h)
    return out


def psql(sql, dbname=None):
    url = env["TOWLION_PG_URL"]
    if dbname:
        url = url.rsplit("/", 1)[0] + "/" + dbname
    p = subprocess.run(["psql", "-X", "-Atq", url, "-c", sql], capture_output=True, text=True,
                       timeout=60)
    return p.stdout if p.returncode == 0 else f"psql failed: {p.stderr}"


def redis(*args):
    p = subprocess.run(["redis-cli", "-u", env["TOWLION_REDIS_URL"], "--no-auth-warning", *args],
                       capture_output=True, text=True, timeout=60)
    return p.stdout


def docker(path):
    status, body = http("http://docker" + path, unix=sock)
    return body


def world():
    s = {"files": tree()}
    s["caddy"] = http(caddy["TOWLION_CADDY_ADMIN"] + "/config/")
    f = urllib.parse.quote(json.dumps({"label": [f"towlion.app={app}"]}))
    s["containers"] = sorted((c["Id"], c["State"], c["Image"]) for c in docker(
        f"/containers/json?all=1&filters={f}"))
    s["images"] = sorted(i["Id"] for i in docker(f"/images/json?filters={f}"))
    # platform containers of this test's root (other tests may run their
    # own platform in the same dockerd meanwhile)
    f = urllib.parse.quote(json.dumps({"label": ["towlion.platform=1"]}))
    s["platform"] = sorted((c["Id"], c["State"]) for c in docker(
        f"/containers/json?all=1&filters={f}")
        if any(m.get("Source", "").startswith(t.tmp) for m in c.get("Mounts", [])))
    s["networks"] = sorted(n["Name"] for n in docker("/networks") if app in n["Name"])
    like = f"'{app[:4]}%'"
    s["databases"] = psql(f"select datname from pg_database where datname like {like} order by 1")
    s["roles"] = psql("select rolname, rolpassword, rolconnlimit from pg_authid "
                      f"where rolname like {like} order by 1")
    s["schemas"] = psql("select nspname from pg_namespace order by 1", db)
    s["tables"] = psql("select count(*) from pg_class", db)
    s["acl"] = sorted(u for u in redis("ACL", "LIST").splitlines() if app[:4] in u)
    s["keys"] = sorted(redis("--scan", "--pattern", f"{app}*").splitlines())
    rc, out, err = t.run(["--json", "s3", "ls", f"{bucket}/", "--recursive"], env=env)
    s["objects"] = sorted((o["key"], o["etag"]) for o in json.loads(out)["objects"]) \
        if rc == 0 else err
    rc, out, err = t.run(["--json", "s3", "bucket", "list"], env=env)
    # this test's buckets only: other tests share the S3 server
    s["buckets"] = sorted(b["name"] for b in json.loads(out)["buckets"]
                          if b["name"].startswith(app[:4])) if rc == 0 else err
    _, reqs = http(gh["TOWLION_GITHUB_API"] + "/_standin/requests")
    s["github_writes"] = [r["method"] + " " + r["path"] for r in reqs if r["method"] != "GET"]
    return s


src = example_app(t, version="3.0.0")
# Only the plans see an offsite target (s3 backup-keys names its bucket).
env["TOWLION_BACKUP_REMOTE"] = f"s3://{bucket}/offsite/"
plans = [
    ["alerts", "check"],
    ["app", "create", other],
    ["app", "destroy", app, "--purge"],
    ["backup", "run", "--db", db],
    ["backup", "verify", backup],
    ["backup", "verify", backup, "--deep"],
    ["backup", "prune"],
    ["backup", "restore", db, backup],
    ["backup", "restore", db, backup, "--into", f"{app}_copy"],
    ["backup", "repair"],
    ["backup", "key", "generate", os.path.join(t.tmp, "new.key")],
    ["deploy", app, "--path", src],
    ["rollback", app],
    ["preview", "up", app, "--pr", "5", "--path", src],
    ["preview", "down", app, "--pr", "5"],
    ["preview", "gc", "--no-github"],
    ["db", "create", app],
    ["db", "create", other, "--standalone"],
    ["db", "rotate", app],
    ["db", "drop", app],
    ["db", "schema", "create", app, "--pr", "5"],
    ["db", "schema", "drop", app, "--pr", "3"],
    ["github", "comment", "acme/shop", "--pr", "7", "--body", "hello"],
    ["exec", app, "--", "touch", "/tmp/dry-run-was-here"],
    ["platform", "init", "--root", root],
    ["platform", "compose", "--root", root, "-o", os.path.join(root, "new-compose.yml")],
    ["platform", "up", "--root", root],
    ["platform", "down", "--root", root],
    ["platform", "migrate-networks"],
    ["redis", "create", other, "--standalone"],
    ["redis", "create", app, "--rotate"],
    ["redis", "drop", app, "--purge"],
    ["route", "add", "dry-site", "dry.towlion.test", "--upstream", "127.0.0.1:9"],
    ["route", "rm", app],
    ["route", "reload"],
    ["route", "init"],
    ["s3", "bucket", "create", other, "--standalone"],
    ["s3", "app", "create", other, "--standalone"],
    ["s3", "app", "rotate", app],
    ["s3", "app", "drop", app],
    ["s3", "backup-keys"],
    ["s3", "put", obj, f"{bucket}/new.txt"],
    ["s3", "get", f"{bucket}/object.txt", os.path.join(t.tmp, "downloaded.txt")],
    ["s3", "rm", f"{bucket}/object.txt"],
    # app settings (envcfg)
    ["env", "set", app, "DRY_KEY=dry-value", "--production-only", "--restart"],
    ["env", "unset", app, "DRY_KEY", "--restart"],
]

mutating = {command(g, v) for g in table(t) for v in g["verbs"] if v["mutating"]}
schemas, defs = schema.load(os.path.join(ROOT, "docs", "cli-json.md"))
covered = set()
key_of = {}
for args in plans:
    for n in (2, 1):
        if " ".join(args[:n]) in mutating:
            covered.add(" ".join(args[:n]))
            key_of[" ".join(args)] = " ".join(args[:n])
            break
# Verbs whose world is another machine: their dry run is checked where
# that machine is (tests/e2e/bootstrap: a dry run against the fresh server
# reports no change made, installs nothing and leaves the firewall alone).
elsewhere = {"server bootstrap"}
# The cluster verbs' world is a swarm, which the shared test dockerd must
# never become: tests/cluster/run checks their dry runs on its own swarm.
elsewhere |= {"cluster init", "cluster drain", "cluster activate"}
t.check(mutating <= covered | elsewhere, f"mutating verbs without a --dry-run case here: "
        f"{sorted(mutating - covered - elsewhere)}")

before = world()
for args in plans:
    rc, out, err = t.run(["--dry-run"] + args, env=env, timeout=300)
    line = f"towlion --dry-run {' '.join(args)}"
    t.check(rc == 0, f"{line}: exit {rc}: {err.strip()[-400:]}")
    t.check(out.strip(), f"{line}: prints no plan on stdout")
    rc, doc, err = t.json(["--dry-run"] + args, env=env, timeout=300)
    t.check(rc == 0 and doc and "error" not in doc, f"--json {line}: exit {rc}: {doc}")
    if doc:
        errs = schema.errors(doc, schemas[key_of[" ".join(args)]], defs)
        t.check(not errs, f"--json {line}: breaks the schema in docs/cli-json.md: {errs[:4]}")
    after = world()
    for k in before:
        if before[k] != after[k]:
            if k == "files":
                diff = sorted(set(before[k].items()) ^ set(after[k].items()))
                t.fail(f"{line}: changed files: {diff[:6]}")
            else:
                t.fail(f"{line}: changed {k}: {str(before[k])[:300]} -> {str(after[k])[:300]}")
    before = after

# the comparison has teeth: the same commands without --dry-run are seen
for args, what in ((["db", "rotate", app], {"roles", "files"}),
                   (["s3", "rm", f"{bucket}/object.txt"], {"objects"}),
                   (["route", "rm", app], {"caddy", "files"})):
    must(args)
    after = world()
    changed = {k for k in before if before[k] != after[k]}
    t.check(what <= changed, f"towlion {' '.join(args)} (for real): the test sees changes in "
            f"{sorted(what - changed)} too (saw {sorted(changed)})")
    before = after

rc, out, err = t.run(["exec", app, "--", "ls", "/tmp/dry-run-was-here"], env=env)
t.check(rc != 0, "exec --dry-run ran the command in the container")
t.finish()
