#!/usr/bin/python3
"""A local stand-in for the mail HTTP APIs alert e-mail uses.

No mail service is reachable from tests, so this server plays Postmark
and Amazon SES v2 on loopback and RECORDS every request so a test can
assert on exactly what was sent.

Environment (set by ./start):
  TL_MAIL_TOKEN     the Postmark server token accepted (required)
  TL_MAIL_SES_KEY   the SES access key id accepted (required)
  TL_MAIL_ADDRESS   address to bind (default 127.0.0.1)
  TL_MAIL_PORT      port (default 0: the kernel picks a free one)
  TL_MAIL_PORTFILE  written with the bound port once it listens
  TL_MAIL_PIDFILE   written with our pid once it listens

API:
  POST /email                      Postmark: X-Postmark-Server-Token must be
                                   the token; JSON From, To, Subject and
                                   TextBody or HtmlBody are required
  POST /v2/email/outbound-emails   SES v2: an AWS4-HMAC-SHA256 Authorization
                                   whose credential is the key id and whose
                                   scope names the "ses" service, an
                                   X-Amz-Date, and FromEmailAddress,
                                   Destination.ToAddresses and Content
Admin (not recorded):
  GET  /_standin/health     {"ok": true}
  GET  /_standin/requests   the recorded requests: provider, path, headers
                            (the token header masked), body, status
  POST /_standin/reset      forget them
"""

import json
import os
import re
import sys
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = os.environ.get("TL_MAIL_TOKEN", "")
SES_KEY = os.environ.get("TL_MAIL_SES_KEY", "")
LOCK = threading.Lock()
REQUESTS = []
SIGV4 = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")


class Handler(BaseHTTPRequestHandler):
    server_version = "mail-standin/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def reply(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return status

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return raw.decode(errors="replace")

    def record(self, provider, body, status):
        headers = {k.lower(): v for k, v in self.headers.items()}
        if "x-postmark-server-token" in headers:
            headers["x-postmark-server-token"] = (
                "(the token)" if headers["x-postmark-server-token"] == TOKEN else "(wrong)")
        headers.pop("authorization", None)
        with LOCK:
            REQUESTS.append({"provider": provider, "path": self.path, "headers": headers,
                             "body": body, "status": status})

    def do_GET(self):
        if self.path == "/_standin/health":
            return self.reply(200, {"ok": True})
        if self.path == "/_standin/requests":
            with LOCK:
                return self.reply(200, list(REQUESTS))
        return self.reply(404, {"Message": "not found"})

    def do_POST(self):
        if self.path == "/_standin/reset":
            self.body()
            with LOCK:
                REQUESTS.clear()
            return self.reply(200, {"ok": True})
        if self.path == "/email":
            return self.postmark()
        if self.path == "/v2/email/outbound-emails":
            return self.ses()
        self.body()
        return self.reply(404, {"Message": "not found"})

    def postmark(self):
        body = self.body()
        if self.headers.get("X-Postmark-Server-Token") != TOKEN:
            status = self.reply(401, {"ErrorCode": 10, "Message": "Request does not contain a "
                                      "valid Server token."})
        elif not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) and body[k] for k in ("From", "To", "Subject")) \
                or not (body.get("TextBody") or body.get("HtmlBody")):
            status = self.reply(422, {"ErrorCode": 300, "Message": "Invalid email request"})
        else:
            status = self.reply(200, {"To": body["To"], "ErrorCode": 0, "Message": "OK",
                                      "MessageID": str(uuid.uuid4()),
                                      "SubmittedAt": datetime.now(timezone.utc).isoformat()})
        self.record("postmark", body, status)

    def ses(self):
        body = self.body()
        m = SIGV4.match(self.headers.get("Authorization", ""))
        if not m or m.group(1) != SES_KEY or m.group(4) != "ses" or \
                not self.headers.get("X-Amz-Date"):
            status = self.reply(403, {"message": "The security token included in the request "
                                      "is invalid."})
        else:
            to = (body or {}).get("Destination", {}).get("ToAddresses") \
                if isinstance(body, dict) else None
            simple = (body or {}).get("Content", {}).get("Simple") \
                if isinstance(body, dict) else None
            if not body.get("FromEmailAddress") or not to or not simple:
                status = self.reply(400, {"message": "Missing required field"})
            else:
                status = self.reply(200, {"MessageId": str(uuid.uuid4())})
        self.record("ses", body, status)


def main():
    if not TOKEN or not SES_KEY:
        sys.exit("TL_MAIL_TOKEN and TL_MAIL_SES_KEY must be set")
    srv = ThreadingHTTPServer((os.environ.get("TL_MAIL_ADDRESS", "127.0.0.1"),
                               int(os.environ.get("TL_MAIL_PORT", "0"))), Handler)
    for var, val in (("TL_MAIL_PORTFILE", srv.server_address[1]), ("TL_MAIL_PIDFILE", os.getpid())):
        if os.environ.get(var):
            with open(os.environ[var], "w") as f:
                f.write("%d\n" % val)
    srv.serve_forever()


if __name__ == "__main__":
    main()
