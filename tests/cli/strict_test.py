#!/usr/bin/python3
"""Strict input, no services needed (issue 22): every string from outside
comes out escaped (ESC, CR, LF never reach the terminal raw), numbers are
parsed strictly and a bad one changes nothing, and an env-file error
names file, line and column without quoting a byte of the file."""
import os

from clitest import Test

t = Test("cli-strict")
env = t.env(TOWLION_CADDY_DIR=os.path.join(t.tmp, "caddy"),
            TOWLION_CADDY_ADMIN="http://127.0.0.1:1", TOWLION_DOCKER_HOST="unix:///nonexistent",
            TOWLION_PG_URL="postgresql://postgres@127.0.0.1:1/postgres")

HOSTILE = "\x1b[2J\x1b]0;owned\x07\r\nfake: line\tx"


def state_files():
    """Every file under the test's state, data, apps and caddy dirs."""
    found = []
    for d in ("state", "data", "apps", "caddy"):
        for root, _, files in os.walk(os.path.join(t.tmp, d)):
            found += [os.path.join(root, f) for f in files]
    return sorted(found)


def assert_escaped(args, code=None):
    line = "towlion " + " ".join(repr(a) for a in args)
    rc, out, err = t.run(args, env=env)
    if code is not None:
        t.check(rc == code, f"{line}: exit {rc}, expected {code}: {err[-300:]!r}")
    for raw in ("\x1b", "\r", "\x07"):
        t.check(raw not in err and raw not in out, f"{line}: {raw!r} reached the terminal: "
                f"{err[-300:]!r}")
    # the LF of the argument must not start a line of its own
    t.check(not any(ln.startswith("fake: line") for ln in (out + err).splitlines()),
            f"{line}: an argument forged a line: {err[-300:]!r}")
    t.check("\\x1b" in err, f"{line}: the ESC is not shown escaped: {err[-300:]!r}")
    return err


# ---- escaping: arguments in usage errors, library errors, peers' words
assert_escaped(["db", "list", HOSTILE], 2)                        # unexpected argument
assert_escaped(["nosuchgroup" + HOSTILE], 2)                      # unknown group
assert_escaped(["app", "show", "--nope" + HOSTILE], 2)            # unknown option
assert_escaped(["app", "create", "x" + HOSTILE])                  # bad app name
assert_escaped(["compose", "check", "/tmp/none" + HOSTILE])       # a path in an error
assert_escaped(["backup", "restore", "db" + HOSTILE, "x", "--yes"])
assert_escaped(["route", "add", "s", "h.example.com", "--upstream", "a:1",
                "--health-interval", "10s" + HOSTILE], 2)

# ---- numbers: refused with what is expected, nothing written
before = state_files()
NUMBERS = [
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--health-interval",
      "10s\n}"], "expected a duration like 10s, 500ms, 2m"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--health-interval",
      "abc"], "expected a duration like 10s, 500ms, 2m"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--health-interval",
      "-1"], "expected a duration"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--health-interval",
      "500ms"], "use 1 to 3600 s"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--health-interval",
      "1500ms"], "whole number of seconds"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--max-body", "-5"],
     "expected a size like"),
    (["route", "add", "s", "h.example.com", "--upstream", "a:1", "--max-body",
      "18446744073709551611"], "use 1 to 9223372036854775807 bytes"),
    (["app", "create", "shop", "--port", "70000"], "from 1 to 65535"),
    (["app", "create", "shop", "--port", "80 "], "--port"),
    (["app", "create", "shop", "--keep-images", "0x10"], "--keep-images"),
    (["app", "create", "shop", "--drain-ms", "-1"], "--drain-ms"),
    # the library's limits, said by the CLI (it allowed 1 h and 1000, which
    # the library then refused with another message)
    (["app", "create", "shop", "--drain-ms", "11m"], "--drain-ms"),
    (["app", "create", "shop", "--keep-images", "101"], "--keep-images"),
    (["deploy", "shop", "--path", "/x", "--timeout", "abc"], "expected a duration"),
    (["deploy", "shop", "--path", "/x", "--timeout", "99999999999999999999"], "--timeout"),
    (["db", "create", "shop", "--connection-limit", "+5"], "--connection-limit"),
    (["logs", "shop", "--tail", "-1"], "--tail"),
    (["preview", "gc", "--older-than", "1.5"], "--older-than"),
    (["backup", "run", "--level", "2147483648"], "--level"),
    (["alerts", "check", "--disk-pct", "101"], "--disk-pct"),
]
for args, words in NUMBERS:
    rc, out, err = t.run(args, env=env)
    line = "towlion " + " ".join(repr(a) for a in args)
    t.check(rc == 2, f"{line}: exit {rc}, expected 2 (usage): {err[-300:]!r}")
    t.check(words in err, f"{line}: stderr lacks {words!r}: {err[-300:]!r}")
t.check(state_files() == before, f"a refused number wrote files: {state_files()}")

# ---- env-file errors never quote the file
secret = os.path.join(t.tmp, "secrets.env")
with open(secret, "w") as f:
    f.write("OK=1\nsk_live_9f8e7d6c5b4a token\nPASSWORD='hunter2' hunter3\n")
app = os.path.join(t.tmp, "hello")
os.makedirs(os.path.join(app, "deploy"))
with open(os.path.join(app, "deploy", "docker-compose.yml"), "w") as f:
    f.write("services:\n  app:\n    image: busybox\n")
rc, out, err = t.run(["compose", "check", app, "--env-file", secret], env=env)
t.check(rc != 0, f"compose check --env-file on a bad file: exit {rc}")
t.check(f"{secret}:2:22:" in err, f"the error names file:line:column: {err!r}")
for word in ("sk_live", "9f8e7d", "token", "hunter"):
    t.check(word not in err and word not in out, f"the error quotes the file ({word}): {err!r}")

t.finish()
