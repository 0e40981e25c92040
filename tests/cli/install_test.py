#!/usr/bin/python3
"""`cmake --install` puts the command, its man page and its bash completion
where users' tools look for them; the installed command finds its library
in a non-system prefix without LD_LIBRARY_PATH (RUNPATH $ORIGIN/../lib),
so does the Python module, and the command passes the help test (every
verb's --help and usage errors)."""
import os
import shutil
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
# No LD_LIBRARY_PATH anywhere below: the RUNPATH must do it.
env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
p = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True)
runpath = [line for line in p.stdout.splitlines() if "RUNPATH" in line or "RPATH" in line]
t.check(runpath and "$ORIGIN/../" in runpath[0], f"the installed towlion has a RUNPATH "
        f"relative to itself: {runpath}")
p = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True)
t.check(p.returncode == 0 and p.stdout.startswith("towlion "),
        f"installed towlion --version without LD_LIBRARY_PATH: {p.returncode} {p.stderr}")
# The same binary away from its lib directory: the loader's exit 127 (what
# `towlion --host` reports as "failed to load", tests/integration/test_ssh.c).
lone = os.path.join(t.tmp, "lone", "bin")
os.makedirs(lone)
shutil.copy2(exe, lone)
p = subprocess.run([os.path.join(lone, "towlion"), "--version"], env=env,
                   capture_output=True, text=True)
t.check(p.returncode == 127 and "libtowlion.so.0" in p.stderr,
        f"towlion without its library: exit {p.returncode}, {p.stderr}")
# The Python module (when built) imports from the prefix alone.
pydirs = [dp for dp, _, fn in os.walk(prefix)
          if any(f.startswith("_towlion") and f.endswith(".so") for f in fn)]
if pydirs:
    pkgroot = os.path.dirname(pydirs[0])
    p = subprocess.run(["/usr/bin/python3", "-c", "import towlion; print(towlion.__version__)"],
                       env={**env, "PYTHONPATH": pkgroot}, capture_output=True, text=True,
                       cwd=t.tmp)
    t.check(p.returncode == 0, f"import towlion from {pkgroot}: {p.stderr[-800:]}")
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
