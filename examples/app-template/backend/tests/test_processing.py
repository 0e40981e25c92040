"""The email an upload's processing sends, through a local server that
speaks Postmark's API (conftest.email_api); and, when TEST_S3_* name an S3
store, the whole upload -> bucket -> result row path."""
import os

import pytest

from app import mail


def test_email_goes_out_in_postmark_shape(email_api):
    mail.send("Subject here", "body text")
    [msg] = email_api.received
    assert msg["From"] == "app@example.com" and msg["To"] == "owner@example.com"
    assert msg["Subject"] == "Subject here" and msg["TextBody"] == "body text"


def test_a_refused_token_is_an_error(email_api, monkeypatch):
    import dataclasses
    monkeypatch.setattr(mail, "settings", dataclasses.replace(mail.settings, email_api_key="wrong"))
    with pytest.raises(mail.EmailError, match="401"):
        mail.send("s", "t")
    assert email_api.received == []


def test_unconfigured_email_says_what_to_set(monkeypatch):
    import dataclasses
    monkeypatch.setattr(mail, "settings", dataclasses.replace(mail.settings, email_api_key=""))
    with pytest.raises(mail.EmailError, match="EMAIL_API_KEY"):
        mail.send("s", "t")


@pytest.mark.skipif(not os.environ.get("TEST_S3_ENDPOINT"), reason="TEST_S3_* not set")
def test_upload_is_stored_and_processed(client, email_api, monkeypatch):
    import hashlib
    from app import processing
    data = os.urandom(200_000)
    r = client.post("/uploads", files={"file": ("blob.bin", data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    up = r.json()
    # USE_CELERY=0 in the tests: run the task's code here, twice (idempotent).
    for _ in range(2):
        out = processing.process_upload(up["id"])
    assert out["size"] == len(data) and out["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(email_api.received) == 1 and "blob.bin" in email_api.received[0]["Subject"]
    got = client.get(f"/uploads/{up['id']}").json()
    assert got["result"]["sha256"] == out["sha256"] and got["result"]["emailed"] is True
    # The object is in the bucket under the key the row names; remove it.
    from app import storage
    from app.config import settings
    s3 = storage.client()
    assert s3.head_object(Bucket=settings.s3_bucket, Key=up["key"])["ContentLength"] == len(data)
    s3.delete_object(Bucket=settings.s3_bucket, Key=up["key"])


@pytest.mark.skipif(not os.environ.get("TEST_S3_ENDPOINT"), reason="TEST_S3_* not set")
def test_without_the_worker_the_api_processes_uploads(client, email_api):
    """USE_CELERY=0 (the README's "remove the worker"): the API processes
    the upload in a thread of its own process, with nobody calling the
    task: the result row and the one email appear by themselves."""
    import hashlib
    import time
    from app.config import settings
    assert not settings.use_celery  # conftest: USE_CELERY=0
    data = os.urandom(50_000)
    r = client.post("/uploads", files={"file": ("alone.bin", data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    up = r.json()
    deadline = time.monotonic() + 30
    result = None
    while time.monotonic() < deadline:
        result = client.get(f"/uploads/{up['id']}").json()["result"]
        if result and result["emailed"]:
            break
        time.sleep(0.1)
    assert result and result["emailed"], f"not processed in 30 s: {result}"
    assert result["size"] == len(data) and result["sha256"] == hashlib.sha256(data).hexdigest()
    assert [m["Subject"] for m in email_api.received] == ["Upload processed: alone.bin"]
    from app import storage
    storage.client().delete_object(Bucket=settings.s3_bucket, Key=up["key"])
