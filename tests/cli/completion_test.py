#!/usr/bin/python3
"""The generated bash completion, sourced into a real bash: it registers
itself (complete -p), completes group names, each group's verbs, each
verb's options (read from its synopsis), files after options that take
one, and group names after `help`."""
import json
import re
import shlex
import subprocess

from clitest import Test, table, command

t = Test("cli-completion")
script = t.args[0]
groups = table(t)
with open(script) as f:
    t.check(f.read() == t.run(["help", "--completion", "bash"])[1],
            f"{script} is what `towlion help --completion bash` prints now: rebuild")

cases = []  # (words on the line, the word being completed, expected subset, forbidden)
names = [g["name"] for g in groups]
cases.append((["towlion"], "", set(names) | {"help"}, set()))
cases.append((["towlion"], "ap", {"app"}, {"db"}))
cases.append((["towlion"], "--js", {"--json"}, set()))
cases.append((["towlion", "--json", "--config", "/etc/x"], "", set(names), set()))
cases.append((["towlion", "help"], "ro", {"route", "rollback"}, {"help"}))
for g in groups:
    cases.append((["towlion"], g["name"], {g["name"]}, set()))
    verbs = [v["name"] for v in g["verbs"] if v["name"]]
    if verbs:
        cases.append((["towlion", g["name"]], "", set(verbs), set(names) - set(verbs)))
        cases.append((["towlion", "-q", g["name"]], verbs[0][:2], {verbs[0]}, set()))
    for v in g["verbs"]:
        opts = set(re.findall(r"(?:^|[ \[(|])(--?[a-zA-Z][-a-zA-Z0-9]*)", v["args"]))
        cmd = command(g, v).split()
        cases.append((["towlion", *cmd], "-", opts | {"--help", "--json", "--dry-run"}, set()))
        for o in opts:
            if o.startswith("--") and len(o) > 4:
                cases.append((["towlion", *cmd], o[:-1], {o}, set()))

# files: after --config, and after an option whose value is a FILE or DIR
open(f"{t.tmp}/somefile.yml", "w").close()
cases.append((["towlion", "--config"], f"{t.tmp}/somef", {f"{t.tmp}/somefile.yml"}, set()))
cases.append((["towlion", "compose", "check", "--env-file"], f"{t.tmp}/some",
              {f"{t.tmp}/somefile.yml"}, set()))
cases.append((["towlion", "deploy", "shop", "--path"], f"{t.tmp}/some",
              {f"{t.tmp}/somefile.yml"}, set()))

lines = [f"source {shlex.quote(script)}", "complete -p towlion",
         '_t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); '
         '_towlion; printf "%s\\n" "${COMPREPLY[*]}"; }']
for words, cur, _, _ in cases:
    lines.append("_t " + " ".join(shlex.quote(w) for w in words + [cur]))
p = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(lines)],
                   capture_output=True, text=True)
t.check(p.returncode == 0 and not p.stderr, f"bash runs the completion: {p.stderr}")
out = p.stdout.split("\n")
t.check(out[0] == "complete -F _towlion towlion", f"complete -p towlion: {out[0]}")
for (words, cur, want, forbidden), got in zip(cases, out[1:]):
    got = set(got.split())
    line = " ".join(words + [cur])
    t.check(want <= got, f"'{line}<TAB>' offers {sorted(want - got)} too (got {sorted(got)})")
    t.check(not (forbidden & got), f"'{line}<TAB>' does not offer {sorted(forbidden & got)}")
t.finish()
