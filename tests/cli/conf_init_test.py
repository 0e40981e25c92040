#!/usr/bin/python3
"""`towlion platform init` writes TOWLION_STATE_DIR/towlion.conf (0600)
from the secrets it generates, every later command reads it (config show
names it), a rerun keeps the secrets and changes nothing, a changed key is
put back and reported, a key the admin added stays, the environment and
the admin's /etc-style file win over it, and a loose mode is refused."""
import os
import re
import stat

from clitest import Test

t = Test("conf-init")
data = os.path.join(t.tmp, "data")
env = {k: v for k, v in os.environ.items() if not k.startswith("TOWLION_")}
env.update(TOWLION_DATA_DIR=data, TOWLION_APPS_DIR=os.path.join(t.tmp, "apps"))
state = os.path.join(data, "towlion")
conf = os.path.join(state, "towlion.conf")


def init():
    rc, doc, err = t.json(["platform", "init", "--no-docker"], env=env)
    t.check(rc == 0 and doc, f"platform init: {rc} {err}")
    return doc or {"steps": []}


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def steps(doc, action):
    return {s["subject"]: s for s in doc["steps"] if s["action"] == action}


doc = init()
t.check(os.path.isfile(conf), f"{conf} written")
mode = stat.S_IMODE(os.stat(conf).st_mode)
t.check(mode == 0o600, f"towlion.conf mode {mode:o}")
secrets = read_env(os.path.join(state, "platform.env"))
c = read_env(conf)
pw = secrets["POSTGRES_PASSWORD"]
t.check(c.get("TOWLION_PG_URL") == f"postgresql://postgres:{pw}@127.0.0.1:5432/postgres",
        "TOWLION_PG_URL carries the generated postgres password")
t.check(c.get("TOWLION_REDIS_URL") ==
        f"redis://default:{secrets['REDIS_PASSWORD']}@127.0.0.1:6379",
        "TOWLION_REDIS_URL carries the default user's password")
t.check(c.get("TOWLION_S3_ACCESS_KEY") == secrets["AWS_ACCESS_KEY_ID"] and
        c.get("TOWLION_S3_SECRET_KEY") == secrets["AWS_SECRET_ACCESS_KEY"],
        "the object store's admin keys")
t.check(c.get("TOWLION_S3_ENDPOINT") == "http://127.0.0.1:9000" and
        c.get("TOWLION_S3_ADMIN_API") == "iam", "the object store's endpoint and admin API")
sock = os.path.join(state, "caddy-admin", "admin.sock")
t.check(c.get("TOWLION_CADDY_ADMIN") == f"unix://{sock}", f"Caddy admin: {c}")
sdir = os.path.dirname(sock)
t.check(stat.S_IMODE(os.stat(sdir).st_mode) == 0o700, "the socket's directory is 0700")
# the main Caddyfile listens there, with no hand-set TOWLION_CADDY_ADMIN_LISTEN
with open(os.path.join(data, "caddy", "Caddyfile")) as f:
    t.check(f"admin unix/{sock}\n" in f.read(), "the main Caddyfile's admin is the socket")
# every key was a change; no value appears in the report
cfg = steps(doc, "config")
t.check(set(cfg) >= {"TOWLION_PG_URL", "TOWLION_REDIS_URL", "TOWLION_CADDY_ADMIN"},
        f"config steps: {sorted(cfg)}")
t.check(pw not in str(doc), "no password in the report")

# Every command reads it: config show names the generated file as the source.
rc, show, err = t.json(["config", "show"], env=env)
t.check(rc == 0, f"config show: {err}")
keys = show["keys"] if show else {}
t.check(show and show.get("generated_file") == conf, f"generated_file: {show and show.get('generated_file')}")
t.check(keys.get("TOWLION_PG_URL", {}).get("source") == "generated", "PG URL from generated")
t.check(pw not in keys.get("TOWLION_PG_URL", {}).get("value", pw), "the password is masked")
rc, out, err = t.run(["config", "show"], env=env)
t.check(re.search(r"^TOWLION_CADDY_ADMIN=unix://\S+ +# from generated$", out, re.M),
        f"human config show: {out}")

# A rerun: the same secrets, nothing changed.
doc = init()
t.check(read_env(os.path.join(state, "platform.env")) == secrets, "secrets kept on rerun")
t.check(read_env(conf) == c, "towlion.conf the same on rerun")
t.check(not steps(doc, "config"), f"no config step on rerun: {steps(doc, 'config')}")
t.check(steps(doc, "write").get(conf, {}).get("changed") is False, "towlion.conf up to date")

# A main Caddyfile from before the socket is kept (the routing module owns
# it), with a step saying its admin is not the configured one.
caddyfile = os.path.join(data, "caddy", "Caddyfile")
text = open(caddyfile).read()
with open(caddyfile, "w") as f:
    f.write(text.replace(f"admin unix/{sock}", "admin 127.0.0.1:2019"))
doc = init()
w = steps(doc, "write").get(caddyfile, {})
t.check("admin 127.0.0.1:2019" in w.get("detail", "") and "route init" in w.get("detail", ""),
        f"an old admin in the Caddyfile is named: {w}")
with open(caddyfile, "w") as f:
    f.write(text)
w = steps(init(), "write").get(caddyfile, {})
t.check(w.get("detail") == "kept (the routing module owns it)", f"Caddyfile kept: {w}")

# A key changed by hand is put back (and named); one the admin added stays.
with open(conf, "a") as f:
    f.write("TOWLION_DOMAIN=added.example\n")
text = open(conf).read().replace("http://127.0.0.1:9000", "http://127.0.0.1:9999")
with open(conf, "w") as f:
    f.write(text)
doc = init()
cfg = steps(doc, "config")
t.check(list(cfg) == ["TOWLION_S3_ENDPOINT"] and cfg["TOWLION_S3_ENDPOINT"]["detail"] == "updated",
        f"only the changed key is rewritten: {cfg}")
c2 = read_env(conf)
t.check(c2.get("TOWLION_S3_ENDPOINT") == "http://127.0.0.1:9000", "endpoint put back")
t.check(c2.get("TOWLION_DOMAIN") == "added.example", "the admin's added key stays")

# The environment wins, and so does the admin's file.
rc, show, _ = t.json(["config", "show"], env={**env, "TOWLION_PG_URL":
                                            "postgresql://me@127.0.0.1:6000/postgres"})
k = show["keys"]["TOWLION_PG_URL"] if show else {}
t.check(k.get("source") == "env" and "6000" in k.get("value", ""), f"env wins: {k}")
admin = os.path.join(t.tmp, "towlion.conf")
with open(admin, "w") as f:
    f.write(f"TOWLION_DATA_DIR={data}\nTOWLION_S3_ENDPOINT=https://s3.example.org\n")
rc, show, _ = t.json(["--config", admin, "config", "show"], env=env)
k = show["keys"]["TOWLION_S3_ENDPOINT"] if show else {}
t.check(k.get("source") == "file" and k.get("value") == "https://s3.example.org",
        f"the admin's file wins: {k}")

# A loose mode: every command refuses it (init too: others may have
# written it), naming the file, until the admin has looked and chmod-ed it.
os.chmod(conf, 0o664)
for args in (["config", "show"], ["platform", "init", "--no-docker"]):
    rc, out, err = t.run(args, env=env)
    t.check(rc != 0 and conf in err and "0664" in err and "chmod 600" in err,
            f"{args}: loose towlion.conf refused: {rc} {err}")
os.chmod(conf, 0o600)
rc, out, err = t.run(["config", "show"], env=env)
t.check(rc == 0, f"config show after the fix: {err}")

# --dry-run into a fresh tree writes nothing.
fresh = dict(env, TOWLION_DATA_DIR=os.path.join(t.tmp, "fresh"))
rc, out, err = t.run(["--dry-run", "platform", "init", "--no-docker"], env=fresh)
t.check(rc == 0 and not os.path.exists(os.path.join(t.tmp, "fresh")),
        f"dry run writes nothing: {rc} {err}")
t.finish()
