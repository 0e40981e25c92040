#!/usr/bin/python3
"""--help on every group and verb (from the command table), with a real
synopsis and an example of that very verb; usage errors exit 2 with a
hint; mistyped commands get a suggestion. No services needed: every
service variable points at a closed port, the state at a temp dir."""
import json
import shlex

from clitest import Test, table, command

t = Test("cli-help")
CLOSED = "127.0.0.1:9"  # discard port: nothing listens there
env = t.env(TOWLION_PG_URL=f"postgresql://postgres@{CLOSED}/postgres",
            TOWLION_REDIS_URL=f"redis://{CLOSED}", TOWLION_CADDY_ADMIN=f"http://{CLOSED}",
            TOWLION_DOCKER_HOST="unix:///nonexistent/docker.sock",
            TOWLION_S3_ENDPOINT=f"http://{CLOSED}", TOWLION_GITHUB_API=f"http://{CLOSED}",
            TOWLION_CADDY_DIR=t.tmp + "/caddy", TOWLION_GITHUB_TOKEN="x")
GLOBAL_FLAGS = {"--json", "--dry-run", "-q", "-v", "--quiet", "--verbose"}

groups = table(t)
t.check(len(groups) >= 15, f"the table has only {len(groups)} groups")

rc, out, err = t.run(["--help"], env=env)
t.check(rc == 0, f"towlion --help exits {rc}")
order = [ln.split()[0] for ln in out.split("Commands:\n", 1)[-1].split("\n\n")[0].splitlines()]
t.check(order == [g["name"] for g in groups], f"--help lists the groups in table order: {order}")
rc, out, err = t.run([], env=env)
t.check(rc == 2 and "usage: towlion" in err and not out, "towlion alone: exit 2, usage on stderr")

for g in groups:
    single = len(g["verbs"]) == 1 and not g["verbs"][0]["name"]
    rc, out, err = t.run([g["name"], "--help"], env=env)
    t.check(rc == 0, f"towlion {g['name']} --help exits {rc}: {err}")
    if not single:
        for v in g["verbs"]:
            t.check(f"  {v['name']}" in out, f"towlion {g['name']} --help lists {v['name']}")
        rc, out2, err = t.run([g["name"]], env=env)
        t.check(rc == 2 and g["verbs"][0]["name"] in err, f"towlion {g['name']}: exit 2 ({rc}) "
                "and the verbs on stderr")
    for v in g["verbs"]:
        cmd = command(g, v)
        t.check(v["summary"] and v["example"], f"{cmd}: has a summary and an example")
        # the example is a command line of this very verb
        words = [w for w in shlex.split(v["example"]) if w not in GLOBAL_FLAGS]
        t.check(words[:len(cmd.split()) + 1] == ["towlion"] + cmd.split(),
                f"{cmd}: the example runs this verb: {v['example']}")
        for how in ([*cmd.split(), "--help"], ["help", *cmd.split()], [*cmd.split(), "-h"]):
            rc, out, err = t.run(how, env=env)
            t.check(rc == 0, f"towlion {' '.join(how)} exits {rc}: {err}")
            t.check(f"usage: towlion {cmd} {v['args']}".rstrip() in out,
                    f"towlion {' '.join(how)}: shows the synopsis")
            t.check(f"Example:\n  {v['example']}\n" in out,
                    f"towlion {' '.join(how)}: shows the example")
            t.check(("--dry-run" in out) == v["mutating"],
                    f"towlion {' '.join(how)}: mentions --dry-run iff it changes something")
        # an unknown option is a usage error with a pointer to --help
        args = cmd.split() + ["--no-such-option"]
        if cmd == "exec":
            args = ["exec", "--no-such-option", "x", "--", "true"]
        rc, out, err = t.run(["--dry-run"] + args, env=env)
        t.check(rc == 2, f"towlion {' '.join(args)}: exit 2 for an unknown option, not {rc}: "
                f"{err.strip()}")
        t.check(f"towlion {cmd} --help" in err, f"towlion {' '.join(args)}: the error points at "
                f"'towlion {cmd} --help': {err.strip()}")
        rc, doc, err = t.json(["--dry-run"] + args, env=env)
        t.check(rc == 2 and doc and doc.get("error", {}).get("class") == "usage"
                and "no-such-option" in doc["error"]["message"],
                f"towlion --json {' '.join(args)}: a usage error document: {doc}")

# mistyped names get a suggestion
for args, near in ((["apx", "list"], "app"), (["app", "lst"], "list"), (["rout", "list"], "route"),
                   (["backup", "restor"], "restore"), (["doctr"], "doctor")):
    rc, out, err = t.run(args, env=env)
    t.check(rc == 2 and f"did you mean '{near}'" in err,
            f"towlion {' '.join(args)}: exit 2 ({rc}) suggesting {near}: {err.strip()}")
for args, near in ((["app", "create", "x", "--domian", "d"], "--domain"),
                   (["route", "add", "s", "h", "--upstrem", "a:1"], "--upstream"),
                   (["backup", "run", "--formt", "sql"], "--format"),
                   (["logs", "x", "--tial", "3"], "--tail")):
    rc, out, err = t.run(["--dry-run"] + args, env=env)
    t.check(rc == 2 and f"did you mean '{near}'" in err,
            f"towlion {' '.join(args)}: exit 2 ({rc}) suggesting {near}: {err.strip()}")
rc, doc, err = t.json(["apx"], env=env)
t.check(rc == 2 and "did you mean 'app'" in doc["error"]["message"], f"--json suggestion: {doc}")

# the table as JSON, per group
rc, doc, err = t.json(["help", "app"], env=env)
t.check(rc == 0 and [g["name"] for g in doc["groups"]] == ["app"], "towlion --json help app")
rc, out, err = t.run(["--version"], env=env)
t.check(rc == 0 and out.startswith("towlion "), f"--version: {out}")
rc, doc, err = t.json(["--version"], env=env)
t.check(rc == 0 and isinstance(doc.get("major"), int), f"--json --version: {doc}")
t.finish()
