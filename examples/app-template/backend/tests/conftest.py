"""The API's tests run against a real PostgreSQL (TEST_DATABASE_URL, else
DATABASE_URL): in CI the workflow's postgres service, locally the one in
.env.example. Each run works in a schema of its own, made here and dropped
at the end, the way a preview works in pr_N: the connections' search_path
points there (PGOPTIONS, read by libpq), so the app and its migrations use
it without knowing. Nothing outside that schema is touched."""
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent
SCHEMA = f"test_{secrets.token_hex(4)}"
URL = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
if not URL:
    raise SystemExit("set TEST_DATABASE_URL (or DATABASE_URL) to a PostgreSQL the tests may "
                     "create a schema in, e.g. postgresql://postgres:postgres@localhost:5432/postgres")

os.environ["DATABASE_URL"] = URL
os.environ["PGOPTIONS"] = f"-c search_path={SCHEMA}"
os.environ.setdefault("USE_CELERY", "0")
# The tests bring their own email API (below) and no object storage unless
# the caller gives one (TEST_S3_*).
for key in ("EMAIL_API_URL", "EMAIL_API_KEY", "EMAIL_FROM", "EMAIL_TO"):
    os.environ.pop(key, None)
for key in ("ENDPOINT", "BUCKET", "ACCESS_KEY", "SECRET_KEY", "REGION"):
    os.environ.pop(f"S3_{key}", None)
    if os.environ.get(f"TEST_S3_{key}"):
        os.environ[f"S3_{key}"] = os.environ[f"TEST_S3_{key}"]


def _admin_engine():
    from sqlalchemy import create_engine
    from app.config import load
    return create_engine(load().database_url, connect_args={"options": "-c search_path=public"})


@pytest.fixture(scope="session", autouse=True)
def database():
    """The test schema, migrated to head with the release command's code."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    admin = _admin_engine()
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    cfg = Config(str(BACKEND / "alembic.ini"))
    cfg.set_main_option("script_location", str(BACKEND / "alembic"))
    try:
        command.upgrade(cfg, "head")
        yield cfg
    finally:
        from app.db import engine
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
        admin.dispose()


@pytest.fixture
def schema():
    return SCHEMA


@pytest.fixture
def client(database):
    from fastapi.testclient import TestClient
    from app.main import app
    with TestClient(app) as c:
        yield c


class _EmailAPI(BaseHTTPRequestHandler):
    """Postmark's POST /email, recording what it was sent."""
    token = ""
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path != "/email":
            return self._answer(404, {"ErrorCode": 404, "Message": "not found"})
        if self.headers.get("X-Postmark-Server-Token") != self.token:
            return self._answer(401, {"ErrorCode": 10, "Message": "bad server token"})
        msg = json.loads(body)
        missing = [k for k in ("From", "To", "Subject", "TextBody") if not msg.get(k)]
        if missing:
            return self._answer(422, {"ErrorCode": 300, "Message": f"missing {missing}"})
        self.received.append(msg)
        self._answer(200, {"ErrorCode": 0, "Message": "OK", "MessageID": secrets.token_hex(8),
                           "To": msg["To"]})

    def _answer(self, code, doc):
        data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def email_api(monkeypatch):
    """A local HTTP server speaking Postmark's API, with the app's settings
    pointed at it."""
    import dataclasses
    from app import config, mail, processing

    handler = type("Handler", (_EmailAPI,), {"token": secrets.token_hex(8), "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    s = dataclasses.replace(config.settings, email_api_url=f"http://127.0.0.1:{server.server_port}",
                            email_api_key=handler.token, email_from="app@example.com",
                            email_to="owner@example.com")
    for module in (mail, processing):
        monkeypatch.setattr(module, "settings", s)
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
