#!/usr/bin/python3
"""Progress and steps on a terminal only: with stderr on a pseudo-terminal,
an upload draws a bar with percent, rate and time, a deploy prints step
lines; piped, with --json or with -q there is none of it; NO_COLOR drops
the colors but not the bar; -q still prints errors."""
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import termios
import threading

from clitest import Test, private_caddy, example_app

t = Test("cli-progress")
t.require_env("TOWLION_S3_ENDPOINT", "TOWLION_DOCKER_HOST", "TOWLION_PG_URL")
env = t.env(TOWLION_UPSTREAM_MODE="loopback", TOWLION_NETWORK="towlion-test",
            **private_caddy(t))
app = f"clip{os.getpid() % 100000}"
COLOR = re.compile(r"\x1b\[[0-9;]*m")


def on_tty(args, env=env):
    """Run with stderr on a pseudo-terminal (100 columns), stdout piped."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    p = subprocess.Popen([t.towlion] + args, stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not b:
                break
            chunks.append(b)
    th = threading.Thread(target=drain)
    th.start()
    out = p.stdout.read().decode()
    rc = p.wait(timeout=600)
    th.join(timeout=30)
    os.close(master)
    return rc, out, b"".join(chunks).decode(errors="replace")


def must(args, timeout=600):
    rc, out, err = t.run(args, env=env, timeout=timeout)
    if not t.check(rc == 0, f"setup: towlion {' '.join(args)}: {rc} {err.strip()[-300:]}"):
        t.finish()
    return out


t.cleanups.append(lambda: t.run(["app", "destroy", app, "--yes", "--purge"], env=env,
                                 timeout=300))
must(["route", "init"])
must(["route", "reload"])
must(["app", "create", app, "--domain", f"{app}.towlion.test", "--drain-ms", "100"])
bucket = json.loads(must(["--json", "s3", "bucket", "create", app]))["bucket"]
big = os.path.join(t.tmp, "big.bin")
with open(big, "wb") as f:
    f.write(os.urandom(24 << 20))

# a terminal: the bar, with percent, sizes, rate and time; colored
rc, out, err = on_tty(["s3", "put", big, f"{bucket}/big.bin"])
t.check(rc == 0, f"s3 put on a tty: exit {rc}: {err[-300:]}")
bar = re.search(r"upload +(\x1b\[[0-9;]*m)?\[#+(\x1b\[[0-9;]*m)?\](\x1b\[[0-9;]*m)? +100% +"
                r"24\.0 MiB / 24\.0 MiB +[0-9.]+ [KMG]?i?B/s +in \d+:\d\d", err)
t.check(bar, f"a finished bar (100%, sizes, rate, time taken) on the terminal: {err[-400:]!r}")
t.check("\r" in err and COLOR.search(err), "the bar is redrawn in place (\\r), in color")
t.check(out.startswith("uploaded") and "%" not in out and "\r" not in out,
        f"stdout has the result only: {out!r}")

# NO_COLOR: the same bar, no colors
rc, out, err = on_tty(["s3", "put", big, f"{bucket}/big2.bin"], env={**env, "NO_COLOR": "1"})
t.check(rc == 0 and "100%" in err and "/s" in err, f"NO_COLOR keeps the bar: {err[-300:]!r}")
t.check(not COLOR.search(err), f"NO_COLOR: no color codes: {err[-300:]!r}")

# -q on a terminal: nothing on stderr; --json on a terminal: no progress
rc, out, err = on_tty(["-q", "s3", "put", big, f"{bucket}/big3.bin"])
t.check(rc == 0 and err.strip() == "", f"-q: nothing on the terminal: {err[-300:]!r}")
rc, out, err = on_tty(["--json", "s3", "put", big, f"{bucket}/big4.bin"])
t.check(rc == 0 and "%" not in err and json.loads(out)["key"] == "big4.bin",
        f"--json: one document on stdout, no progress: {err[-300:]!r}")

# piped: no bar, no escape sequences
rc, out, err = t.run(["s3", "put", big, f"{bucket}/big5.bin"], env=env)
t.check(rc == 0 and err == "", f"piped: nothing on stderr: {err[-300:]!r}")

# deploy: step lines on a terminal, none when piped
src = example_app(t)
rc, out, err = on_tty(["deploy", app, "--path", src])
t.check(rc == 0, f"deploy on a tty: exit {rc}: {err[-400:]}")
steps = re.findall(r"==>(?:\x1b\[0m)? (.*)", err)
t.check(len(steps) >= 4 and any("building" in s for s in steps)
        and any("switching" in s for s in steps), f"deploy step lines: {steps}")
rc, out, err = t.run(["deploy", app, "--path", src], env=env, timeout=600)
t.check(rc == 0 and "==>" not in err, f"piped deploy: no step lines: {err[-300:]!r}")
rc, out, err = t.run(["-v", "deploy", app, "--path", src], env=env, timeout=600)
t.check(rc == 0 and "==> building" in err, f"-v: step lines when piped too: {err[-300:]!r}")

# a backup: its dump is measured too (size known only at the end)
must(["db", "create", app])
rc, out, err = on_tty(["backup", "run", "--db", f"{app}_db"])
t.check(rc == 0 and re.search(r"backup +.*100% .*/s +in \d+:\d\d", err),
        f"backup run on a tty: a finished bar: {rc} {err[-400:]!r}")
rc, out, err = t.run(["backup", "run", "--db", f"{app}_db"], env=env)
t.check(rc == 0 and "%" not in err, f"piped backup: no bar: {err[-300:]!r}")

# colors on stdout only when stdout itself is a terminal
rc, out, err = on_tty(["doctor"])
t.check("postgres" in out and not COLOR.search(out),
        f"doctor piped (stderr on a terminal): no color codes on stdout: {out[:300]!r}")

# -q still prints errors (and only them)
rc, out, err = on_tty(["-q", "app", "show", f"{app}x"])
t.check(rc == 3 and f"no app named {app}x" in err, f"-q prints the error: {err!r}")
t.finish()
