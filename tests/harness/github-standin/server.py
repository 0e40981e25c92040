#!/usr/bin/python3
"""A local stand-in for the parts of GitHub's REST API libtowlion uses.

GitHub is not reachable from tests, so this server plays it on loopback,
keeps its state in memory and RECORDS every API request so tests can
assert on exactly what the client sent.

Environment (set by ./start or tests/harness/lib/github.sh):
  TL_GH_TOKEN    the one bearer token accepted (required; not on argv)
  TL_GH_ADDRESS  address to bind (default 127.0.0.1)
  TL_GH_PORT     port (default 0: any free port, chosen by the kernel)
  TL_GH_PORTFILE written with the bound port once it listens
  TL_GH_PIDFILE  written with our pid once it listens

API (what GitHub does; base URL http://HOST:PORT or http://HOST:PORT/api/v3
like GitHub Enterprise):
  GET    /repos/O/R/pulls/N
  GET    /repos/O/R/issues?state=&labels=&per_page=&page=   (PRs included,
         with a "pull_request" key, as on GitHub)
  POST   /repos/O/R/issues                 GET|PATCH /repos/O/R/issues/N
  GET    /repos/O/R/issues/N/comments      POST      /repos/O/R/issues/N/comments
  GET|PATCH|DELETE /repos/O/R/issues/comments/ID
  POST|GET /repos/O/R/deployments          GET       /repos/O/R/deployments/ID
  POST|GET /repos/O/R/deployments/ID/statuses
  GET    /repos/O/R
  GET    /user                             the token's own user ("towlion-bot"
                                           unless configured; 403 like an
                                           installation token when configured)
Lists are paginated (per_page default 30, max 100, and never more than the
configured max_per_page) with a Link header (rel next/prev/first/last).

Admin (no token needed, not recorded):
  GET  /_standin/health               {"ok": true}
  GET  /_standin/requests             recorded requests: method, path, query,
                                      body (JSON or text), status, headers,
                                      auth_scheme, client_port
  POST /_standin/reset                forget all state, requests and settings
  POST /_standin/repos   {"repo":"o/r", "refs":[...]}  (refs: pushed commits/branches)
  POST /_standin/prs     {"repo","number","state":"open|closed|merged",
                          "head_sha","head_ref","base_ref","title","body","labels"}
  POST /_standin/comments {"repo","number","body","user"}   seed comments
  POST /_standin/config  {"max_per_page": N, "login": "the token's user",
                          "user_forbidden": true|false}
  POST /_standin/ratelimit {"count": N, "kind": "primary|secondary",
                            "reset_in": S}   the next N API requests are
                            refused: primary = 403 + X-RateLimit-Remaining: 0,
                            secondary = 429 + Retry-After
  GET  /_standin/state                everything, for assertions
"""

import json
import os
import zlib
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

TOKEN = os.environ.get("TL_GH_TOKEN", "")
LOCK = threading.Lock()
DOCS = "https://docs.github.com/rest"
DEPLOY_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
BODY_MAX = 65536


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class State:
    def __init__(self):
        self.repos = {}      # "o/r" -> repo dict
        self.requests = []
        self.max_per_page = 100
        self.ratelimit = None  # {"count", "kind", "reset_in"}
        self.next_id = 1000
        self.login = "towlion-bot"   # the token's own user
        self.user_forbidden = False  # GET /user answers 403 (installation token)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def repo(self, name, create=False):
        key = name.lower()
        if key not in self.repos and create:
            self.repos[key] = {"full_name": name, "id": self.new_id(), "items": {},
                               "comments": {}, "deployments": {}, "next_number": 1,
                               "refs": {"main"}}
        return self.repos.get(key)


STATE = State()


def user_doc(login):
    """A user as GitHub shows it; the id is stable for a login."""
    return {"login": login, "id": zlib.crc32(login.encode()) % 100000000 + 1,
            "type": "Bot" if login.endswith("[bot]") else "User"}


class ApiError(Exception):
    def __init__(self, status, message, errors=None, headers=None):
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}


def validation_failed(resource, field, code, message=None):
    err = {"resource": resource, "field": field, "code": code}
    if message:
        err["message"] = message
    return ApiError(422, "Validation Failed", [err])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "towlion-github-standin/1"
    # Headers and body go out in two writes; without TCP_NODELAY a kept-alive
    # connection waits for the client's delayed ACK (40 ms) on every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # ---- plumbing ------------------------------------------------------
    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, doc, headers=None):
        data = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
        return status

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def _dispatch(self):
        raw = self._read_body()
        u = urlsplit(self.path)
        if u.path.startswith("/_standin/"):
            with LOCK:
                self._admin(u.path, raw)
            return
        prefix = ""
        path = u.path
        if path.startswith("/api/v3/") or path == "/api/v3":
            prefix, path = "/api/v3", path[len("/api/v3"):] or "/"
        query = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with LOCK:
            rec = {"method": self.command, "path": path, "query": u.query, "body": body,
                   "headers": {h: self.headers.get(h) for h in
                               ("Accept", "X-GitHub-Api-Version", "User-Agent", "Content-Type")
                               if self.headers.get(h) is not None},
                   "auth_scheme": (self.headers.get("Authorization") or " ").split(" ")[0],
                   # the client's port: the same port means a reused connection
                   "client_port": self.client_address[1]}
            STATE.requests.append(rec)
            try:
                status, doc, headers = self._api(path, prefix, query, body)
            except ApiError as e:
                doc = {"message": e.message, "documentation_url": DOCS}
                if e.errors:
                    doc["errors"] = e.errors
                status, headers = e.status, e.headers
            rec["status"] = status
        self._send(status, doc, headers)

    # ---- admin ---------------------------------------------------------
    def _admin(self, path, raw):
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._send(400, {"message": "invalid JSON"})
        if path == "/_standin/health" and self.command == "GET":
            return self._send(200, {"ok": True})
        if path == "/_standin/requests" and self.command == "GET":
            return self._send(200, STATE.requests)
        if path == "/_standin/state" and self.command == "GET":
            return self._send(200, {k: dict(v, refs=sorted(v["refs"]))
                                    for k, v in STATE.repos.items()})
        if self.command != "POST":
            return self._send(405, {"message": "method not allowed"})
        if path == "/_standin/reset":
            STATE.__init__()
            return self._send(200, {"ok": True})
        if path == "/_standin/config":
            if "max_per_page" in body:
                STATE.max_per_page = max(1, int(body["max_per_page"]))
            if "login" in body:
                STATE.login = str(body["login"])
            if "user_forbidden" in body:
                STATE.user_forbidden = bool(body["user_forbidden"])
            return self._send(200, {"max_per_page": STATE.max_per_page, "login": STATE.login,
                                    "user_forbidden": STATE.user_forbidden})
        if path == "/_standin/ratelimit":
            STATE.ratelimit = {"count": int(body.get("count", 1)),
                               "kind": body.get("kind", "primary"),
                               "reset_in": int(body.get("reset_in", 600))}
            return self._send(200, STATE.ratelimit)
        repo_name = body.get("repo", "")
        if not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", repo_name):
            return self._send(400, {"message": "give repo as owner/name"})
        repo = STATE.repo(repo_name, create=True)
        if path == "/_standin/repos":
            # Commits or branches pushed to it (deployments name them).
            repo["refs"].update(r for r in body.get("refs", []) if isinstance(r, str))
            return self._send(201, {"full_name": repo["full_name"]})
        if path == "/_standin/prs":
            number = int(body.get("number") or repo["next_number"])
            state = body.get("state", "open")
            if state not in ("open", "closed", "merged"):
                return self._send(400, {"message": "state is open, closed or merged"})
            pr = repo["items"].get(number) or {"number": number, "labels": [], "body": "",
                                                "created_at": now_iso(), "id": STATE.new_id()}
            pr.update({"is_pr": True, "title": body.get("title", "PR %d" % number),
                       "state": "open" if state == "open" else "closed",
                       "merged": state == "merged",
                       "head_sha": body.get("head_sha", secrets.token_hex(20)),
                       "head_ref": body.get("head_ref", "feature-%d" % number),
                       "base_ref": body.get("base_ref", "main"), "updated_at": now_iso(),
                       "body": body.get("body", pr["body"]),
                       "labels": list(body.get("labels", pr["labels"]))})
            repo["items"][number] = pr
            repo["refs"].update({pr["head_sha"], pr["head_ref"], "refs/pull/%d/head" % number})
            repo["next_number"] = max(repo["next_number"], number + 1)
            return self._send(201, {"number": number, "head_sha": pr["head_sha"]})
        if path == "/_standin/comments":
            number = int(body.get("number", 0))
            if number not in repo["items"]:
                return self._send(404, {"message": "no such issue or PR"})
            c = self._new_comment(repo, number, body.get("body", ""), body.get("user", "someone"))
            return self._send(201, c)
        return self._send(404, {"message": "unknown admin endpoint"})

    # ---- API -----------------------------------------------------------
    def _base(self, prefix):
        return "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), prefix)

    def _api(self, path, prefix, query, body):
        auth = self.headers.get("Authorization") or ""
        scheme, _, tok = auth.partition(" ")
        if not TOKEN or scheme.lower() not in ("bearer", "token") or \
                not secrets.compare_digest(tok.encode(), TOKEN.encode()):
            raise ApiError(401, "Bad credentials")
        rl = STATE.ratelimit
        if rl and rl["count"] > 0:
            rl["count"] -= 1
            reset = int(time.time()) + rl["reset_in"]
            if rl["kind"] == "secondary":
                raise ApiError(429, "You have exceeded a secondary rate limit. "
                               "Please wait a few minutes before you try again.",
                               headers={"Retry-After": str(rl["reset_in"])})
            raise ApiError(403, "API rate limit exceeded for installation ID 1.",
                           headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Used": "5000",
                                    "X-RateLimit-Reset": str(reset)})
        if path == "/user" and self.command == "GET":
            if STATE.user_forbidden:
                raise ApiError(403, "Resource not accessible by integration")
            return 200, user_doc(STATE.login), {}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m:
            raise ApiError(404, "Not Found")
        repo = STATE.repo("%s/%s" % (m.group(1), m.group(2)))
        if repo is None:
            raise ApiError(404, "Not Found")
        rest, cmd = m.group(3) or "", self.command
        base = self._base(prefix)
        rbase = "%s/repos/%s" % (base, repo["full_name"])
        html = "https://github.example/%s" % repo["full_name"]

        if rest == "" and cmd == "GET":
            return 200, {"id": repo["id"], "full_name": repo["full_name"]}, {}
        if (mm := re.fullmatch(r"/pulls/(\d+)", rest)) and cmd == "GET":
            pr = repo["items"].get(int(mm.group(1)))
            if not pr or not pr.get("is_pr"):
                raise ApiError(404, "Not Found")
            return 200, self._pr_doc(pr, rbase, html), {}
        if rest == "/issues" and cmd == "GET":
            want = [l for l in query.get("labels", "").split(",") if l]
            st = query.get("state", "open")
            items = [i for i in sorted(repo["items"].values(), key=lambda i: -i["number"])
                     if (st == "all" or i["state"] == st)
                     and all(l in i["labels"] for l in want)]
            return self._page(query, [self._issue_doc(i, rbase, html) for i in items],
                              base + path)
        if rest == "/issues" and cmd == "POST":
            body = self._json_body(body)
            title = body.get("title")
            if not isinstance(title, str) or not title.strip():
                raise validation_failed("Issue", "title", "missing_field")
            text = body.get("body") or ""
            self._check_len("Issue", text)
            n = repo["next_number"]
            repo["next_number"] += 1
            labels = body.get("labels") or []
            if not isinstance(labels, list) or not all(isinstance(l, str) for l in labels):
                raise validation_failed("Issue", "labels", "invalid")
            repo["items"][n] = {"number": n, "id": STATE.new_id(), "is_pr": False,
                                "title": title, "body": text, "state": "open",
                                "state_reason": None, "labels": labels,
                                "created_at": now_iso(), "updated_at": now_iso()}
            return 201, self._issue_doc(repo["items"][n], rbase, html), {}
        if mm := re.fullmatch(r"/issues/(\d+)", rest):
            item = repo["items"].get(int(mm.group(1)))
            if not item:
                raise ApiError(404, "Not Found")
            if cmd == "GET":
                return 200, self._issue_doc(item, rbase, html), {}
            if cmd == "PATCH":
                body = self._json_body(body)
                if "title" in body:
                    if not isinstance(body["title"], str) or not body["title"].strip():
                        raise validation_failed("Issue", "title", "missing_field")
                    item["title"] = body["title"]
                if "body" in body:
                    self._check_len("Issue", body["body"] or "")
                    item["body"] = body["body"] or ""
                if "state" in body:
                    if body["state"] not in ("open", "closed"):
                        raise validation_failed("Issue", "state", "invalid")
                    item["state"] = body["state"]
                    item["state_reason"] = body.get("state_reason",
                                                    "completed" if body["state"] == "closed"
                                                    else "reopened")
                if "labels" in body:
                    item["labels"] = list(body["labels"])
                item["updated_at"] = now_iso()
                return 200, self._issue_doc(item, rbase, html), {}
        if mm := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(mm.group(1))
            if number not in repo["items"]:
                raise ApiError(404, "Not Found")
            if cmd == "GET":
                cs = [c for c in sorted(repo["comments"].values(), key=lambda c: c["id"])
                      if c["number"] == number]
                return self._page(query, [self._comment_doc(c, rbase, html) for c in cs],
                                  base + path)
            if cmd == "POST":
                body = self._json_body(body)
                text = body.get("body")
                if not isinstance(text, str) or not text:
                    raise validation_failed("IssueComment", "body", "missing_field")
                self._check_len("IssueComment", text)
                c = self._new_comment(repo, number, text, STATE.login)
                return 201, self._comment_doc(c, rbase, html), {}
        if mm := re.fullmatch(r"/issues/comments/(\d+)", rest):
            c = repo["comments"].get(int(mm.group(1)))
            if not c:
                raise ApiError(404, "Not Found")
            if cmd == "GET":
                return 200, self._comment_doc(c, rbase, html), {}
            if cmd == "PATCH":
                body = self._json_body(body)
                text = body.get("body")
                if not isinstance(text, str) or not text:
                    raise validation_failed("IssueComment", "body", "missing_field")
                self._check_len("IssueComment", text)
                c["body"], c["updated_at"] = text, now_iso()
                return 200, self._comment_doc(c, rbase, html), {}
            if cmd == "DELETE":
                del repo["comments"][c["id"]]
                return 204, None, {}
        if rest == "/deployments" and cmd == "POST":
            body = self._json_body(body)
            ref = body.get("ref")
            if not isinstance(ref, str) or not ref:
                raise validation_failed("Deployment", "ref", "missing_field")
            if ref not in repo["refs"]:
                raise ApiError(422, "No ref found for: %s" % ref)
            d = {"id": STATE.new_id(), "ref": ref,
                 "sha": ref if re.fullmatch(r"[0-9a-f]{40}", ref) else secrets.token_hex(20),
                 "environment": body.get("environment", "production"),
                 "description": body.get("description"),
                 "task": body.get("task", "deploy"),
                 "auto_merge": body.get("auto_merge", True),
                 "required_contexts": body.get("required_contexts"),
                 "transient_environment": body.get("transient_environment", False),
                 "production_environment": body.get("production_environment",
                                                    body.get("environment", "production")
                                                    == "production"),
                 "created_at": now_iso(), "statuses": []}
            repo["deployments"][d["id"]] = d
            return 201, self._deploy_doc(d, rbase), {}
        if rest == "/deployments" and cmd == "GET":
            ds = sorted(repo["deployments"].values(), key=lambda d: -d["id"])
            if "environment" in query:
                ds = [d for d in ds if d["environment"] == query["environment"]]
            return self._page(query, [self._deploy_doc(d, rbase) for d in ds], base + path)
        if mm := re.fullmatch(r"/deployments/(\d+)(/statuses)?", rest):
            d = repo["deployments"].get(int(mm.group(1)))
            if not d:
                raise ApiError(404, "Not Found")
            if not mm.group(2) and cmd == "GET":
                return 200, self._deploy_doc(d, rbase), {}
            if mm.group(2) and cmd == "GET":
                return self._page(query, list(reversed(d["statuses"])), base + path)
            if mm.group(2) and cmd == "POST":
                body = self._json_body(body)
                if body.get("state") not in DEPLOY_STATES:
                    raise validation_failed("DeploymentStatus", "state", "invalid")
                s = {"id": STATE.new_id(), "state": body["state"],
                     "description": body.get("description", ""),
                     "environment": body.get("environment", d["environment"]),
                     "environment_url": body.get("environment_url", ""),
                     "log_url": body.get("log_url", ""),
                     "target_url": body.get("log_url", body.get("target_url", "")),
                     "auto_inactive": body.get("auto_inactive", True),
                     "created_at": now_iso(),
                     "deployment_url": "%s/deployments/%d" % (rbase, d["id"])}
                s["url"] = "%s/statuses/%d" % (s["deployment_url"], s["id"])
                d["statuses"].append(s)
                return 201, s, {}
        raise ApiError(404, "Not Found")

    # ---- helpers -------------------------------------------------------
    @staticmethod
    def _json_body(body):
        if not isinstance(body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return body

    @staticmethod
    def _check_len(resource, text):
        if not isinstance(text, str):
            raise validation_failed(resource, "body", "invalid")
        if len(text) > BODY_MAX:
            raise validation_failed(resource, "body", "custom",
                                    "body is too long (maximum is %d characters)" % BODY_MAX)

    @staticmethod
    def _new_comment(repo, number, text, user):
        c = {"id": STATE.new_id(), "number": number, "body": text, "user": user,
             "created_at": now_iso(), "updated_at": now_iso()}
        repo["comments"][c["id"]] = c
        return c

    def _page(self, query, items, url):
        try:
            per_page = int(query.get("per_page", 30))
            page = int(query.get("page", 1))
        except ValueError:
            raise ApiError(400, "Invalid per_page or page")
        per_page = max(1, min(per_page, 100, STATE.max_per_page))
        page = max(1, page)
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page: page * per_page]

        def link(p, rel):
            q = dict(query, per_page=str(per_page), page=str(p))
            qs = "&".join("%s=%s" % (quote(k, safe=""), quote(v, safe=","))
                          for k, v in q.items())
            return '<%s?%s>; rel="%s"' % (url, qs, rel)

        links = []
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    @staticmethod
    def _pr_doc(pr, rbase, html):
        return {"number": pr["number"], "id": pr["id"], "title": pr["title"],
                "state": pr["state"], "merged": pr["merged"],
                "merged_at": pr["updated_at"] if pr["merged"] else None,
                "draft": False, "head": {"sha": pr["head_sha"], "ref": pr["head_ref"]},
                "base": {"ref": pr["base_ref"]},
                "url": "%s/pulls/%d" % (rbase, pr["number"]),
                "html_url": "%s/pull/%d" % (html, pr["number"])}

    @staticmethod
    def _issue_doc(i, rbase, html):
        doc = {"number": i["number"], "id": i["id"], "title": i["title"],
               "body": i.get("body", ""), "state": i["state"],
               "state_reason": i.get("state_reason"),
               "labels": [{"name": l} for l in i["labels"]],
               "created_at": i["created_at"], "updated_at": i["updated_at"],
               "url": "%s/issues/%d" % (rbase, i["number"]),
               "html_url": "%s/%s/%d" % (html, "pull" if i.get("is_pr") else "issues",
                                         i["number"])}
        if i.get("is_pr"):
            doc["pull_request"] = {"url": "%s/pulls/%d" % (rbase, i["number"])}
        return doc

    @staticmethod
    def _comment_doc(c, rbase, html):
        return {"id": c["id"], "body": c["body"], "user": user_doc(c["user"]),
                "created_at": c["created_at"], "updated_at": c["updated_at"],
                "url": "%s/issues/comments/%d" % (rbase, c["id"]),
                "html_url": "%s/issues/%d#issuecomment-%d" % (html, c["number"], c["id"])}

    @staticmethod
    def _deploy_doc(d, rbase):
        return {k: v for k, v in d.items() if k != "statuses"} | {
            "url": "%s/deployments/%d" % (rbase, d["id"]),
            "statuses_url": "%s/deployments/%d/statuses" % (rbase, d["id"])}


def main():
    # "--dir DIR" is informational: it puts the state directory on our
    # command line, where the harness's stop looks for leftover processes.
    args = sys.argv[1:]
    if args and (args[0] != "--dir" or len(args) != 2):
        sys.exit("usage: server.py [--dir DIR]  (settings come from TL_GH_* variables)")
    if not TOKEN:
        sys.exit("github stand-in: TL_GH_TOKEN must be set")
    srv = ThreadingHTTPServer((os.environ.get("TL_GH_ADDRESS", "127.0.0.1"),
                               int(os.environ.get("TL_GH_PORT", "0"))), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    # Port first, pid last: a starter that sees the pid file sees both.
    for var, value in (("TL_GH_PORTFILE", port), ("TL_GH_PIDFILE", os.getpid())):
        f = os.environ.get(var)
        if f:
            with open(f + ".tmp", "w") as fh:
                fh.write("%d\n" % value)
            os.replace(f + ".tmp", f)
    sys.stderr.write("github stand-in listening on %s:%d\n" % srv.server_address[:2])
    sys.stderr.flush()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
