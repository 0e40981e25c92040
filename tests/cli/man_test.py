#!/usr/bin/python3
"""towlion(1), as generated at build time: groff renders it without a
warning (mandoc -T lint too, where installed), it names every group and
verb of the command table with its example, every exit code and every
configuration key; and it is what `towlion help --man` prints now."""
import os
import re
import shutil
import subprocess
import sys

from clitest import Test, table, command

t = Test("cli-man")
page = t.args[0]
groups = table(t)
rc, fresh, err = t.run(["help", "--man"])
t.check(rc == 0, f"help --man exits {rc}")
with open(page) as f:
    built = f.read()
# the date line may differ if the build ran on another day
strip_date = lambda s: re.sub(r'^\.TH TOWLION 1 "[^"]*"', ".TH", s, flags=re.M)
t.check(strip_date(built) == strip_date(fresh), f"{page} is out of date: rebuild")

p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True)
t.check(p.returncode == 0 and not p.stderr, f"groff -ww warns: {p.stderr}")
if shutil.which("mandoc"):
    p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", page], capture_output=True,
                       text=True)
    t.check(p.returncode == 0, f"mandoc -T lint: {p.stdout}{p.stderr}")
# man -l renders it (as a user would read it), lines long enough not to wrap
p = subprocess.run(["man", "-l", page], capture_output=True, text=True,
                   env={**os.environ, "MANWIDTH": "400", "MAN_KEEP_FORMATTING": "0",
                        "PAGER": "cat"})
text = re.sub(r".\x08", "", p.stdout)
t.check(p.returncode == 0 and "NAME" in text and "SYNOPSIS" in text,
        f"man -l {page} renders ({p.returncode}): {p.stderr}")
for sect in ("OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"):
    t.check(re.search(rf"^{sect}$", text, re.M), f"section {sect}")
for g in groups:
    t.check(re.search(rf"^ +{re.escape(g['name'])} — ", text, re.M), f"group {g['name']}")
    for v in g["verbs"]:
        cmd = command(g, v)
        t.check(re.search(rf"^ +towlion {re.escape(cmd)}( |$)", text, re.M), f"verb {cmd}")
        t.check(v["example"] in text, f"example of {cmd}: {v['example']}")
for code in range(8):
    t.check(re.search(rf"^ +{code} +\S", text, re.M), f"exit status {code}")
rc, doc, err = t.json(["config", "show"], env=t.env())
for key in doc["keys"]:
    t.check(re.search(rf"^ +{key}$", text, re.M), f"environment: {key}")
t.finish()
