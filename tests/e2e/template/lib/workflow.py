#!/usr/bin/python3
"""Run one job of a GitHub Actions workflow the way a runner does.

    workflow.py WORKFLOW.yml --job NAME --context CONTEXT.json --workspace DIR

The job's steps run in their order, each `run:` script with bash as GitHub's
Ubuntu runners start it (`bash --noprofile --norc -eo pipefail FILE`), after
`${{ ... }}` expressions are replaced in its text; `env:` of the workflow,
the job and the step are evaluated the same way. What the runner would take
from GitHub comes from CONTEXT.json:

    {"github": {...the github context, event included...},
     "secrets": {"NAME": "value", ...},
     "runner_env": {"HOME": ..., "PATH": ..., ...}}

`if:` conditions (status functions, ==, !=, &&, ||, !, contains, startsWith,
endsWith), step outputs through $GITHUB_OUTPUT, $GITHUB_ENV and job.status
behave as on GitHub. `actions/checkout` clones
`github.server_url/github.repository` at `github.sha` into the workspace;
any other `uses:` is refused, so a workflow that grows one fails here rather
than being run in part.

Each step prints `step NAME: N.N s ok|failed|skipped` on stderr; the exit
status is 0 when the job succeeded.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml


class ExprError(Exception):
    pass


TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
                   r"|(?P<op>==|!=|&&|\|\||<=|>=|[!()<>,\[\]])"
                   r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_*][A-Za-z0-9_-]*)*))")


def tokenize(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError("cannot read expression at %r" % text[pos:])
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


def truthy(v):
    return v not in (None, False, 0, "", 0.0)


def to_str(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def loose_eq(a, b):
    # GitHub compares strings case-insensitively and coerces mixed types
    # to numbers; strings and null compare as strings here, enough for
    # workflow conditions.
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if a is None or b is None:
        return to_str(a) == to_str(b)
    return a == b


class Evaluator:
    """A recursive-descent reader of the expression grammar subset."""

    def __init__(self, contexts, status):
        self.contexts = contexts
        self.status = status  # "success" | "failure"

    def eval(self, text):
        self.toks = tokenize(text)
        self.i = 0
        v = self.or_()
        if self.i != len(self.toks):
            raise ExprError("unexpected %r in %r" % (self.toks[self.i][1], text))
        return v

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, op=None):
        t = self.peek()
        if op is not None and t[1] != op:
            raise ExprError("expected %r, got %r" % (op, t[1]))
        self.i += 1
        return t

    def or_(self):
        v = self.and_()
        while self.peek()[1] == "||":
            self.take()
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.cmp()
        while self.peek()[1] == "&&":
            self.take()
            r = self.cmp()
            v = r if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        while self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            r = self.unary()
            v = loose_eq(v, r) if op == "==" else not loose_eq(v, r)
        return v

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, val = self.take()
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return float(val)
        if val == "(":
            v = self.or_()
            self.take(")")
            return v
        if kind != "name":
            raise ExprError("unexpected %r" % val)
        if val in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[val]
        if self.peek()[1] == "(":
            self.take()
            args = []
            while self.peek()[1] != ")":
                args.append(self.or_())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            return self.call(val, args)
        v = self.lookup(val)
        while self.peek()[1] == "[":
            self.take()
            key = self.or_()
            self.take("]")
            v = v.get(to_str(key)) if isinstance(v, dict) else None
        return v

    def lookup(self, dotted):
        parts = dotted.split(".")
        if parts[0] not in self.contexts:
            raise ExprError("unknown context %r" % parts[0])
        v = self.contexts[parts[0]]
        for p in parts[1:]:
            v = v.get(p) if isinstance(v, dict) else None
        return v

    def call(self, name, args):
        lname = name.lower()
        if lname == "always":
            return True
        if lname == "success":
            return self.status == "success"
        if lname == "failure":
            return self.status == "failure"
        if lname == "cancelled":
            return False
        if lname == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(loose_eq(x, needle) for x in hay)
            return to_str(needle).lower() in to_str(hay).lower()
        if lname == "startswith":
            return to_str(args[0]).lower().startswith(to_str(args[1]).lower())
        if lname == "endswith":
            return to_str(args[0]).lower().endswith(to_str(args[1]).lower())
        if lname == "format":
            s = to_str(args[0])
            for k, a in enumerate(args[1:]):
                s = s.replace("{%d}" % k, to_str(a))
            return s
        if lname == "tojson":
            return json.dumps(args[0], indent=2)
        raise ExprError("function %s() is not supported by this runner" % name)


EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def substitute(text, ev):
    return EXPR.sub(lambda m: to_str(ev.eval(m.group(1))), str(text))


def condition(cond, ev):
    """A step's or job's `if:`; without a status function it means
    success() && (cond), as on GitHub."""
    if cond is None:
        return ev.status == "success"
    if isinstance(cond, bool):
        return cond and ev.status == "success"
    text = str(cond).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    if m:
        text = m.group(1)
    if not re.search(r"\b(always|success|failure|cancelled)\s*\(", text):
        text = "success() && (%s)" % text
    return truthy(ev.eval(text))


def read_kv_file(path):
    """$GITHUB_OUTPUT / $GITHUB_ENV: NAME=value lines and NAME<<DELIM blocks."""
    out = {}
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
    except FileNotFoundError:
        return out
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            val = []
            while i < len(lines) and lines[i] != delim:
                val.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(val)
        elif "=" in line:
            name, val = line.split("=", 1)
            out[name] = val
    return out


def checkout(github, workspace, log):
    url = "%s/%s.git" % (github["server_url"].rstrip("/"), github["repository"])
    subprocess.run(["git", "init", "-q", workspace], check=True, stdout=log, stderr=log)
    subprocess.run(["git", "-C", workspace, "fetch", "-q", "--depth", "1", url, github["sha"]],
                   check=True, stdout=log, stderr=log)
    subprocess.run(["git", "-C", workspace, "checkout", "-q", "--detach", "FETCH_HEAD"],
                   check=True, stdout=log, stderr=log)


def run_job(wf, job_name, ctx, workspace):
    job = wf["jobs"][job_name]
    github = ctx["github"]
    contexts = {"github": github, "secrets": ctx.get("secrets", {}), "vars": ctx.get("vars", {}),
                "env": {}, "steps": {}, "job": {"status": "success"},
                "runner": {"os": "Linux", "temp": tempfile.gettempdir()},
                "needs": ctx.get("needs", {}), "inputs": {}, "matrix": {}, "strategy": {}}
    ev = Evaluator(contexts, "success")

    def evaluate_env(mapping):
        for k, v in (mapping or {}).items():
            contexts["env"][k] = substitute(v, ev)

    evaluate_env(wf.get("env"))
    if not condition(job.get("if"), ev):
        print("job %s: skipped (its if: is false)" % job_name, file=sys.stderr)
        return 0
    evaluate_env(job.get("env"))
    job_env = dict(contexts["env"])
    base = dict(ctx.get("runner_env", {}))
    base.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace,
                 "GITHUB_REPOSITORY": github["repository"], "GITHUB_SHA": github["sha"],
                 "GITHUB_REF": github.get("ref", ""), "GITHUB_EVENT_NAME": github["event_name"],
                 "GITHUB_SERVER_URL": github["server_url"], "GITHUB_API_URL": github["api_url"],
                 "GITHUB_RUN_ID": str(github.get("run_id", "1")), "RUNNER_OS": "Linux"})
    os.makedirs(workspace, exist_ok=True)
    files = tempfile.mkdtemp(prefix="steps.", dir=os.path.dirname(workspace))
    status = "success"
    for n, step in enumerate(job.get("steps", [])):
        name = step.get("name") or step.get("id") or step.get("uses") or "step %d" % (n + 1)
        ev.status = status
        t0 = time.monotonic()
        if not condition(step.get("if"), ev):
            print("step %s: 0.0 s skipped" % name, file=sys.stderr)
            continue
        contexts["env"] = dict(job_env)
        evaluate_env(step.get("env"))
        env = dict(base)
        env.update(contexts["env"])
        out_file = os.path.join(files, "output.%d" % n)
        env_file = os.path.join(files, "env.%d" % n)
        open(out_file, "w").close()
        open(env_file, "w").close()
        env.update({"GITHUB_OUTPUT": out_file, "GITHUB_ENV": env_file,
                    "GITHUB_STEP_SUMMARY": os.path.join(files, "summary")})
        print("---- step %s" % name, file=sys.stderr, flush=True)
        ok = True
        if "uses" in step:
            if not re.fullmatch(r"actions/checkout@v\d+", step["uses"]):
                raise SystemExit("workflow: step %r uses %s, which this runner cannot run"
                                 % (name, step["uses"]))
            try:
                checkout(github, workspace, sys.stderr)
            except subprocess.CalledProcessError:
                ok = False
        else:
            script = substitute(to_str(step["run"]), ev)
            path = os.path.join(files, "step.%d.sh" % n)
            with open(path, "w") as f:
                f.write(script)
            cwd = os.path.join(workspace, substitute(step.get("working-directory", "."), ev))
            shell = step.get("shell") or (job.get("defaults", {}).get("run", {}).get("shell"))
            if shell not in (None, "bash"):
                raise SystemExit("workflow: step %r asks for shell %r" % (name, shell))
            rc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", path],
                                cwd=cwd, env=env, stdin=subprocess.DEVNULL).returncode
            ok = rc == 0
        if step.get("id"):
            contexts["steps"][step["id"]] = {"outputs": read_kv_file(out_file),
                                            "outcome": "success" if ok else "failure",
                                            "conclusion": "success" if ok else "failure"}
        job_env.update(read_kv_file(env_file))
        print("step %s: %.1f s %s" % (name, time.monotonic() - t0, "ok" if ok else "failed"),
              file=sys.stderr, flush=True)
        if not ok and not step.get("continue-on-error"):
            status = "failure"
            contexts["job"]["status"] = "failure"
    return 0 if status == "success" else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workflow")
    p.add_argument("--job", required=True)
    p.add_argument("--context", required=True)
    p.add_argument("--workspace", required=True)
    a = p.parse_args()
    with open(a.workflow) as f:
        wf = yaml.safe_load(f)
    with open(a.context) as f:
        ctx = json.load(f)
    if a.job not in wf.get("jobs", {}):
        raise SystemExit("workflow: %s has no job %r (jobs: %s)"
                         % (a.workflow, a.job, ", ".join(wf.get("jobs", {}))))
    try:
        sys.exit(run_job(wf, a.job, ctx, os.path.abspath(a.workspace)))
    except ExprError as e:
        raise SystemExit("workflow: %s" % e)


if __name__ == "__main__":
    main()
