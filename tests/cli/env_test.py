#!/usr/bin/python3
"""towlion env: an app's own settings and secrets, against the real services.

An app is created (with its database) and deployed from examples/apps/hello
behind a private Caddy. Then: set/list/unset round trips; a value with
newlines, quotes, `$`, backslashes and UTF-8 comes back byte for byte
(arguments, --from-file, --from-stdin); platform keys and bad keys are
refused and one bad pair changes nothing; the file is 0600; the values are
in the deployed containers' environment (Docker API) after a deploy, not
after a mere `env set`, and at once after `--restart`, which switches with
no failed request; precedence platform > settings > compose; a preview gets
the settings except production-only ones; `--dry-run` changes nothing;
`env set --from-stdin` (and KEY=VALUE) through `--host` over SSH puts no
value on the server's command line; and the secret never shows up in any
output (stdout, stderr with -v events, --json), in any file of the state
directory but the settings file, or in the app lock's holder record."""
import hashlib
import json
import os
import secrets
import stat
import subprocess
import threading
import time
import urllib.parse

import schema
from clitest import Test, private_caddy, example_app, http, ROOT

t = Test("cli-env")
t.require_env("TOWLION_PG_URL", "TOWLION_DOCKER_HOST", "TL_TEST_SSH_PORT")
caddy = private_caddy(t)
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-envtest", **caddy)
schemas, defs = schema.load(os.path.join(ROOT, "docs", "cli-json.md"))
app = f"envt{os.getpid() % 100000}"
host = f"{app}.towlion.test"
sock = env["TOWLION_DOCKER_HOST"].removeprefix("unix://")
state = os.path.join(env["TOWLION_STATE_DIR"], "apps", app)
settings = os.path.join(state, "settings.env")
SECRET = "s3cr3t-" + secrets.token_hex(12)
outputs = []  # every stdout/stderr this test saw: the secret must be in none


def run(args, input=None, want=0, timeout=600, e=None):
    rc, out, err = t.run(args, env=e or env, input=input, timeout=timeout)
    outputs.append((" ".join(args), out + err))
    if want is not None:
        t.check(rc == want, f"towlion {' '.join(args)}: exit {rc}, expected {want}: "
                f"{err.strip()[-400:]}")
    return rc, out, err


def jdoc(key, args, input=None, want=0, timeout=600):
    rc, out, err = run(["--json"] + args, input=input, want=want, timeout=timeout)
    try:
        d = json.loads(out)
    except ValueError:
        t.fail(f"--json {' '.join(args)}: not JSON: {out[:200]!r}")
        return None
    if want == 0:
        errs = schema.errors(d, schemas[key], defs)
        t.check(not errs, f"--json {' '.join(args)}: breaks the schema '{key}': {errs[:4]}")
    return d


def listed(show=False):
    d = jdoc("env list", ["env", "list", app] + (["--show"] if show else []))
    return {s["key"]: s for s in d["settings"]} if d else {}


def file_hash():
    try:
        with open(settings, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None


def containers(project, role=None):
    labels = [f"towlion.project={project}"] + ([f"towlion.role={role}"] if role else [])
    q = urllib.parse.quote(json.dumps({"label": labels}))
    st, lst = http(f"http://docker/containers/json?filters={q}", unix=sock)
    t.check(st == 200, f"docker: list containers: {st}")
    out = []
    for c in lst if st == 200 else []:
        st, info = http(f"http://docker/containers/{c['Id']}/json", unix=sock)
        if st == 200:
            out.append(dict(kv.split("=", 1) for kv in info["Config"]["Env"]))
    return out


def destroy():
    t.run(["app", "destroy", app, "--yes", "--purge"], env=env, timeout=300)


t.cleanups.append(destroy)

other = f"envo{os.getpid() % 100000}"  # another tenant, with settings of its own
OTHER_SECRET = "other-" + secrets.token_hex(12)
t.cleanups.append(lambda: t.run(["app", "destroy", other, "--yes", "--purge"], env=env,
                                timeout=300))
run(["app", "create", other, "--domain", f"{other}.towlion.test"])
run(["env", "set", other, f"OTHER_SECRET={OTHER_SECRET}", f"EMAIL_API_KEY={OTHER_SECRET}"])
run(["app", "create", app, "--domain", host, "--drain-ms", "300"])
run(["db", "create", app])
run(["route", "init"])

# ---- set / list / unset ---------------------------------------------------
run(["env", "set", app, "PLAIN=1", "OTHER=two words"])
s = listed(show=True)
t.check(s.get("PLAIN", {}).get("value") == "1" and s.get("OTHER", {}).get("value") ==
        "two words", f"round trip: {s}")
t.check(not any(v["production_only"] for v in s.values()), "nothing production-only yet")
no_values = listed()
t.check(no_values and all("value" not in v for v in no_values.values()),
        f"env list without --show prints no values: {no_values}")
run(["env", "unset", app, "OTHER", "NEVER_SET"])
t.check(set(listed()) == {"PLAIN"}, f"after unset: {listed()}")
t.check(stat.S_IMODE(os.stat(settings).st_mode) == 0o600, "settings file is 0600")
t.check(stat.S_IMODE(os.stat(state).st_mode) == 0o700, "state directory is 0700")

# ---- hard values, three ways in --------------------------------------------
hard = "line1\nline2 \"dq\" 'sq' $HOME ${PATH} `id` \\n back\\slash #no-comment ünï ✓ =eq"
run(["env", "set", app, f"HARD_ARG={hard}"])
with open(os.path.join(t.tmp, "in.env"), "w") as f:
    f.write("# a comment\nexport FROM_FILE='single $quoted'\nFROM_FILE2=\"a\\nb\"\n")
run(["env", "set", app, "--from-file", os.path.join(t.tmp, "in.env")])
rc, rendered, _ = run(["env", "list", app, "--show"])
run(["env", "unset", app, "HARD_ARG", "FROM_FILE", "FROM_FILE2"])
run(["env", "set", app, "--from-stdin"], input=rendered)  # --show output reads back
s = listed(show=True)
t.check(s.get("HARD_ARG", {}).get("value") == hard, f"hard value round trip: "
        f"{s.get('HARD_ARG')!r}")
t.check(s.get("FROM_FILE", {}).get("value") == "single $quoted" and
        s.get("FROM_FILE2", {}).get("value") == "a\nb", f"--from-file values: {s}")

# ---- refusals change nothing -------------------------------------------------
before = file_hash()
for key in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX", "S3_BUCKET", "S3_SECRET_KEY",
            "APP_DOMAIN", "TOWLION_DATA_DIR"):
    rc, out, err = run(["env", "set", app, f"GOOD_ONE={SECRET}", f"{key}={SECRET}"], want=1)
    t.check(key in err and "platform" in err, f"refusing {key} names it: {err.strip()}")
    rc, out, err = run(["env", "unset", app, key], want=1)
for bad in (f"9STARTS_WITH_DIGIT={SECRET}", f"HAS-DASH={SECRET}", f"={SECRET}",
            f"SP ACE={SECRET}"):
    rc, out, err = run(["env", "set", app, f"GOOD_ONE={SECRET}", bad], want=1)
    t.check("key 2 of 2" in err, f"a bad key says which: {err.strip()}")
run(["env", "set", app, f"GOOD_ONE={SECRET}", SECRET], want=2)  # a value without KEY=
run(["env", "set", app, "--from-stdin"], input=f"GOOD_ONE={SECRET}\nnot a pair\n", want=1)
run(["env", "set", app, "--from-stdin"], input=f"GOOD_ONE={SECRET}\nS3_ENDPOINT=x\n", want=1)
run(["env", "set", "no-such-app", f"GOOD_ONE={SECRET}"], want=3)
run(["env", "set", app, "--from-file", "/nonexistent/x.env"], want=3)
run(["env", "set", app], want=2)
t.check(file_hash() == before, "refused changes left the settings file as it was")
t.check("GOOD_ONE" not in listed(), "no pair of a refused command was set")

# ---- --dry-run changes nothing and prints no value --------------------------
d = jdoc("env set", ["--dry-run", "env", "set", app, f"DRY={SECRET}", "--restart"])
t.check(d and d["dry_run"] and d["set"] == ["DRY"], f"dry-run document: {d}")
jdoc("env unset", ["--dry-run", "env", "unset", app, "PLAIN"])
run(["--dry-run", "env", "set", app, "--production-only", "--from-stdin"],
    input=f"DRY={SECRET}\n")
t.check(file_hash() == before, "--dry-run left the settings file as it was")

# ---- deploy: values reach the containers, by precedence ----------------------
src = example_app(t)
run(["env", "set", app, f"EMAIL_API_KEY={SECRET}", "APP_ENV=staging"])
run(["env", "set", app, "--production-only", "PROD_ONLY=only-in-production"])
# A platform key edited into the file by hand still loses to the platform's.
with open(settings, "a") as f:
    f.write("DATABASE_URL=postgresql://evil@elsewhere/x\n")
run(["-v", "deploy", app, "--path", src, "--timeout", "120"])
cs = containers(app, "web")
t.check(len(cs) == 1, f"one web container: {len(cs)}")
for c in cs:
    t.check(c.get("EMAIL_API_KEY") == SECRET, "the setting is in the container's env")
    t.check(c.get("PROD_ONLY") == "only-in-production", "production-only reaches production")
    t.check(c.get("HARD_ARG") == hard, "a hard value reaches the container byte for byte")
    t.check(c.get("APP_ENV") == "staging", f"settings beat compose environment: "
            f"{c.get('APP_ENV')}")
    t.check(c.get("DATABASE_URL", "").startswith("postgresql://") and
            "evil" not in c.get("DATABASE_URL", ""), "the platform's DATABASE_URL wins")
    t.check(c.get("APP_DOMAIN") == host, "APP_DOMAIN is the platform's")
    t.check(OTHER_SECRET not in json.dumps(c), "another app's settings are not here")
lines = [l for l in open(settings) if not l.startswith("DATABASE_URL=")]
with open(settings, "w") as f:
    f.writelines(lines)

# ---- a change waits for the next deploy, or --restart ------------------------
run(["env", "set", app, "LATER=v1"])
cs = containers(app, "web")
t.check(cs and all("LATER" not in c for c in cs), "without --restart nothing changes now")

stop = threading.Event()
failures, requests_done = [], [0]


def client():
    import http.client
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(env["TOWLION_HTTP_PORT"]),
                                           timeout=10)
            c.request("GET", "/health", headers={"Host": host})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                failures.append(r.status)
            c.close()
        except OSError as ex:
            failures.append(repr(ex))
        requests_done[0] += 1
        time.sleep(0.02)


th = threading.Thread(target=client)
th.start()
t0 = time.monotonic()
d = jdoc("env set", ["env", "set", app, "LATER=v2", "--restart"])
restart_s = time.monotonic() - t0
time.sleep(0.5)
stop.set()
th.join()
print(f"env set --restart: {restart_s:.1f} s, {requests_done[0]} requests, "
      f"{len(failures)} failed")
t.check(not failures, f"no failed request during --restart: {failures[:5]}")
t.check(d and d.get("restarted"), f"--restart names the new release: {d}")
cs = containers(app, "web")
t.check(len(cs) == 1 and cs[0].get("LATER") == "v2" and cs[0].get("EMAIL_API_KEY") == SECRET,
        "after --restart the one web container has the new value")
d = jdoc("releases", ["releases", app])
rel = d["releases"] if d else []
t.check(len(rel) == 2 and rel[0]["status"] == "active" and rel[0]["id"] == d["releases"][0]["id"]
        and rel[0]["source"].startswith("restart:path:"),
        f"the restart is a release of its own: {rel}")
run(["env", "unset", app, "LATER", "--restart"])
cs = containers(app, "web")
t.check(len(cs) == 1 and "LATER" not in cs[0], "unset --restart removes it now")
run(["rollback", app])  # the release before the unset: its images are still kept
cs = containers(app, "web")
t.check(len(cs) == 1 and cs[0].get("EMAIL_API_KEY") == SECRET, "a rollback reads settings anew")

# ---- a preview: everything but production-only -------------------------------
run(["preview", "up", app, "--pr", "7", "--path", src])
cs = containers(f"{app}-pr-7", "web")
t.check(len(cs) == 1, f"one preview web container: {len(cs)}")
for c in cs:
    t.check(c.get("EMAIL_API_KEY") == SECRET, "the preview gets the app's settings")
    t.check("PROD_ONLY" not in c, "the preview does not get production-only settings")
    t.check(c.get("APP_DOMAIN", "").startswith("pr-7."), "the preview's own APP_DOMAIN")
    t.check(OTHER_SECRET not in json.dumps(c), "another app's settings are not here")
run(["preview", "down", app, "--pr", "7"])

# A hostile preview reaches for what it is not given: a production-only
# key and another app's settings through interpolation (empty: settings
# are not compose variables), and the settings files through env_file
# (refused: outside its checkout), before anything runs.
evil = os.path.join(t.tmp, "evil")
subprocess.run(["cp", "-a", src, evil], check=True)
compose = os.path.join(evil, "deploy", "docker-compose.yml")
text = open(compose).read()
open(compose, "w").write(text.replace(
    "      APP_ENV: production\n",
    "      APP_ENV: production\n      LEAK1: \"${PROD_ONLY:-none}\"\n"
    "      LEAK2: \"${OTHER_SECRET:-none}\"\n"))
run(["preview", "up", app, "--pr", "8", "--path", evil])
cs = containers(f"{app}-pr-8", "web")
t.check(len(cs) == 1 and cs[0].get("LEAK1") == "none" and cs[0].get("LEAK2") == "none",
        f"interpolation reaches no setting: {[(c.get('LEAK1'), c.get('LEAK2')) for c in cs]}")
run(["preview", "down", app, "--pr", "8"])
for target in (settings, os.path.join(env["TOWLION_STATE_DIR"], "apps", other, "settings.env")):
    open(compose, "w").write(text.replace("    env_file: .env\n",
                                          f"    env_file:\n      - .env\n      - {target}\n"))
    rc, out, err = run(["preview", "up", app, "--pr", "9", "--path", evil], want=1)
    t.check("outside the app directory" in err, f"env_file of {target} refused: {err[-300:]}")
    t.check(not containers(f"{app}-pr-9"), "no container of the refused preview")
run(["preview", "down", app, "--pr", "9"], want=None)

# ---- through --host over SSH: values never on the server's command line -----
conf = os.path.join(t.tmp, "remote.conf")
with open(conf, "w") as f:
    for k in ("TOWLION_STATE_DIR", "TOWLION_DATA_DIR", "TOWLION_APPS_DIR", "TOWLION_DOMAIN"):
        f.write(f"{k}={env[k]}\n")
os.chmod(conf, 0o600)
argv_log = os.path.join(t.tmp, "remote-argv.log")
wrapper = os.path.join(t.tmp, "towlion-remote")
with open(wrapper, "w") as f:
    f.write(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {argv_log}\n"
            f"exec {t.towlion} \"$@\"\n")
os.chmod(wrapper, 0o755)
target = f"{os.environ['TL_TEST_SSH_USER']}@{os.environ['TL_TEST_SSH_HOST']}:" \
         f"{os.environ['TL_TEST_SSH_PORT']}"
ssh = ["--host", target, "--ssh-key", os.environ["TL_TEST_SSH_KEY"], "--known-hosts",
       os.environ["TL_TEST_SSH_KNOWN_HOSTS"], "--config", conf]
renv = dict(env, TOWLION_REMOTE_TOWLION=wrapper)
rs1, rs2 = SECRET + "-stdin", SECRET + "-arg"
run(ssh + ["env", "set", app, "--from-stdin"], input=f"VIA_SSH='{rs1}'\n", e=renv)
run(ssh + ["env", "set", app, f"VIA_SSH_ARG={rs2}", "--production-only"], e=renv)
run(ssh + ["env", "set", app, "--from-file", os.path.join(t.tmp, "in.env")], e=renv)
run(ssh + ["env", "set", app, "--from-stdin", f"DATABASE_URL={SECRET}"], input="", e=renv,
    want=1)


def workflow_step(path, name):
    """The `run:` script of the step called `name` in a workflow file."""
    lines = open(path).read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == f"- name: {name}")
    run_at = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run_at]) - len(lines[run_at].lstrip()) + 2
    body = []
    for l in lines[run_at + 1:]:
        if l.strip() and len(l) - len(l.lstrip()) < indent:
            break
        body.append(l[indent:])
    return "\n".join(body) + "\n"


# examples/github/deploy.yml's own step, as GitHub runs it (bash -e), with
# its secrets in the environment and `towlion` on PATH; the server side
# gets this test's directories from the environment of the wrapper.
step = workflow_step(os.path.join(ROOT, "examples", "github", "deploy.yml"),
                     "App settings from GitHub Secrets")
home = os.path.join(t.tmp, "runner-home")
os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
for src_, dst in ((os.environ["TL_TEST_SSH_KEY"], "towlion_deploy"),
                  (os.environ["TL_TEST_SSH_KNOWN_HOSTS"], "known_hosts")):
    with open(src_) as f, open(os.path.join(home, ".ssh", dst), "w") as g:
        g.write(f.read())
    os.chmod(os.path.join(home, ".ssh", dst), 0o600)
bindir = os.path.join(t.tmp, "runner-bin")
os.makedirs(bindir)
os.symlink(t.towlion, os.path.join(bindir, "towlion"))
server_wrapper = os.path.join(t.tmp, "towlion-server")
with open(server_wrapper, "w") as f:
    f.write("#!/bin/sh\n")
    for k in ("TOWLION_STATE_DIR", "TOWLION_DATA_DIR", "TOWLION_APPS_DIR", "TOWLION_DOMAIN"):
        f.write(f"export {k}='{env[k]}'\n")
    f.write(f"printf '%s\\n' \"$@\" >> {argv_log}\nexec {t.towlion} \"$@\"\n")
os.chmod(server_wrapper, 0o755)
gh_value = SECRET + "-gh \"quoted\" $NOT_EXPANDED"
app_settings = f"EMAIL_API_URL=http://mail-standin:8025\nEMAIL_API_KEY='{gh_value}'"
runner = dict(os.environ, HOME=home, PATH=bindir + ":" + os.environ["PATH"], APP=app,
              SERVER_HOST=f"{os.environ['TL_TEST_SSH_HOST']}:{os.environ['TL_TEST_SSH_PORT']}",
              SERVER_USER=os.environ["TL_TEST_SSH_USER"], APP_SETTINGS=app_settings,
              TOWLION_REMOTE_TOWLION=server_wrapper)
p = subprocess.run(["bash", "-e", "-c", step], env=runner, capture_output=True, text=True,
                   timeout=120)
outputs.append(("deploy.yml: App settings from GitHub Secrets", p.stdout + p.stderr))
t.check(p.returncode == 0, f"the workflow's settings step: exit {p.returncode}: {p.stderr}")
runner["APP_SETTINGS"] = ""
p = subprocess.run(["bash", "-e", "-c", step], env=runner, capture_output=True, text=True,
                   timeout=120)
t.check(p.returncode == 0, f"the step without the secret does nothing: {p.stderr}")
s = listed(show=True)
t.check(s.get("EMAIL_API_KEY", {}).get("value") == gh_value and
        s.get("EMAIL_API_URL", {}).get("value") == "http://mail-standin:8025",
        f"the workflow's step set the settings: {s.get('EMAIL_API_KEY')}")
s = listed(show=True)
t.check(s.get("VIA_SSH", {}).get("value") == rs1, f"--from-stdin over --host: {s.get('VIA_SSH')}")
t.check(s.get("VIA_SSH_ARG", {}).get("value") == rs2 and s["VIA_SSH_ARG"]["production_only"],
        "KEY=VALUE over --host, production-only")
with open(argv_log) as f:
    remote_argv = f.read()
t.check("env\nset\n" in remote_argv and "--from-stdin" in remote_argv,
        f"the server ran env set --from-stdin: {remote_argv!r}")
t.check(SECRET not in remote_argv and "single $quoted" not in remote_argv,
        "no value on the server's command line")

# ---- the secret went nowhere else ---------------------------------------------
for what, text in outputs:
    if "--show" in what:
        continue
    t.check(SECRET not in text, f"the secret is in the output of towlion {what}")
for root, _, files in os.walk(env["TOWLION_STATE_DIR"]):
    for name in files:
        p = os.path.join(root, name)
        if p == settings:
            continue
        with open(p, "rb") as f:
            t.check(SECRET.encode() not in f.read(), f"the secret is in {p}")

# ---- destroy removes the settings ---------------------------------------------
run(["app", "destroy", app, "--yes", "--purge"])
t.check(not os.path.exists(settings), "app destroy --purge removed the settings file")
t.finish()
