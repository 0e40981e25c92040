"""The API against a real PostgreSQL (see conftest.py)."""
from sqlalchemy import text


def test_health_checks_the_database(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_health_answers_503_without_the_database(client, monkeypatch):
    from sqlalchemy import create_engine
    from app import db
    # A server that is not there: port 1 refuses at once.
    dead = create_engine("postgresql+psycopg2://nobody:x@127.0.0.1:1/none")
    monkeypatch.setattr(db, "SessionLocal", db.sessionmaker(dead))
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] != "ok"


def test_items_round_trip(client):
    r = client.post("/items", json={"name": "first", "description": "one"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["name"] == "first" and item["id"] > 0
    assert client.get(f"/items/{item['id']}").json()["description"] == "one"
    names = [i["name"] for i in client.get("/items").json()]
    assert "first" in names


def test_items_are_served_under_api_too(client):
    """Caddy forwards /api/items unchanged: root_path /api maps it."""
    client.post("/items", json={"name": "via-api"})
    r = client.get("/api/items")
    assert r.status_code == 200
    assert "via-api" in [i["name"] for i in r.json()]
    assert client.get("/api/health").json() == {"status": "ok"}


def test_bad_items_are_refused_and_change_nothing(client, schema):
    from app.db import engine
    with engine.connect() as c:
        before = c.execute(text("SELECT count(*) FROM items")).scalar()
    for bad in ({}, {"name": ""}, {"name": "x" * 201}, {"name": 5}, {"name": "ok", "description": 3}):
        assert client.post("/items", json=bad).status_code == 422, bad
    assert client.post("/items", content=b"not json",
                       headers={"Content-Type": "application/json"}).status_code == 422
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM items")).scalar() == before


def test_missing_item_is_404(client):
    assert client.get("/items/999999999").status_code == 404
    assert client.delete("/items/999999999").status_code == 404


def test_delete_item(client):
    item = client.post("/items", json={"name": "doomed"}).json()
    assert client.delete(f"/items/{item['id']}").status_code == 204
    assert client.get(f"/items/{item['id']}").status_code == 404


def test_upload_without_object_storage_is_503(client, monkeypatch):
    """A preview has no S3 credentials: uploads say so, nothing is stored."""
    import dataclasses
    from app import config, main
    monkeypatch.setattr(main, "settings", dataclasses.replace(config.settings, s3_endpoint=""))
    r = client.post("/uploads", files={"file": ("a.txt", b"hello")})
    assert r.status_code == 503
    assert "object storage" in r.json()["detail"]


def test_object_keys_never_leave_the_uploads_prefix():
    """A client's filename cannot name another key (another app's bucket is
    out of reach anyway: the app's keys reach only its own)."""
    from app.main import _object_key
    for name in ("../../etc/passwd", "/abs/x", "..", "", "a b\\c.txt", "x" * 500, "\x00"):
        key = _object_key(name)
        parts = key.split("/")
        assert parts[0] == "uploads" and len(parts) == 3, key
        assert ".." not in parts and parts[2] and len(parts[2]) <= 100, key
