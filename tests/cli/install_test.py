#!/usr/bin/python3
"""`cmake --install` puts the command, its man page and its bash completion
where users' tools look for them, and the installed command passes the
help test (every verb's --help and usage errors)."""
import os
import subprocess
import sys

from clitest import Test

t = Test("cli-install")
build = t.args[0]
prefix = os.path.join(t.tmp, "prefix")
p = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True,
                   text=True, timeout=300)
t.check(p.returncode == 0, f"cmake --install: {p.stderr}")
libdir = next((os.path.join(prefix, d) for d in ("lib", "lib64", "lib/x86_64-linux-gnu")
               if os.path.exists(os.path.join(prefix, d, "libtowlion.so.0"))), None)
t.check(libdir, "libtowlion.so.0 is installed")
exe = os.path.join(prefix, "bin", "towlion")
page = os.path.join(prefix, "share", "man", "man1", "towlion.1")
comp = os.path.join(prefix, "share", "bash-completion", "completions", "towlion")
for f in (exe, page, comp):
    t.check(os.path.isfile(f), f"installed: {f}")
env = {**os.environ, "LD_LIBRARY_PATH": libdir or ""}
# man finds the page through the prefix's man directory
p = subprocess.run(["man", "-M", os.path.join(prefix, "share", "man"), "-w", "towlion"],
                   capture_output=True, text=True)
t.check(p.returncode == 0 and p.stdout.strip() == page, f"man -w towlion: {p.stdout}{p.stderr}")
# bash-completion loads completions/<command> on demand: it must define it
p = subprocess.run(["bash", "--norc", "-c", f"source {comp} && complete -p towlion"],
                   capture_output=True, text=True)
t.check(p.stdout.strip() == "complete -F _towlion towlion", f"the completion: {p.stdout}")
# the installed command, through the whole help test
here = os.path.dirname(os.path.abspath(__file__))
p = subprocess.run([sys.executable, os.path.join(here, "help_test.py"), exe], env=env,
                   capture_output=True, text=True, timeout=600)
t.check(p.returncode == 0, f"help test of the installed command: {p.stdout[-2000:]}")
print(p.stdout.strip().splitlines()[-1] if p.stdout.strip() else "")
t.finish()
