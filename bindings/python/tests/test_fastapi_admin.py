"""examples/fastapi-admin through FastAPI's TestClient."""

from __future__ import annotations

import os
import sys
import time

import pytest

from conftest import ROOT, isolated_config

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

sys.path.insert(0, str(ROOT / "examples" / "fastapi-admin"))
import towlion_admin  # noqa: E402

TOKEN = "t0ken-for-the-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_client(cfg, use_env):
    settings = towlion_admin.Settings(token=TOKEN, use_config_file=False, config=cfg)
    if not use_env:
        # Services must not leak in from the environment in unit tests.
        settings.config = dict(cfg, TOWLION_DOCKER_HOST=f"unix://{cfg['TOWLION_STATE_DIR']}/none.sock")
    return TestClient(towlion_admin.create_app(settings))


def wait_job(client, job, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = client.get(f"/jobs/{job['id']}", headers=AUTH).json()
        if j["state"] in ("succeeded", "failed", "cancelled"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job['id']} still {j['state']}")


@pytest.mark.unit
def test_token_settings(tmp_path):
    with pytest.raises(RuntimeError):
        towlion_admin.Settings.from_env({})
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    os.chmod(f, 0o644)
    with pytest.raises(RuntimeError, match="0600"):
        towlion_admin.Settings.from_env({"TOWLION_ADMIN_TOKEN_FILE": str(f)})
    os.chmod(f, 0o600)
    assert towlion_admin.Settings.from_env({"TOWLION_ADMIN_TOKEN_FILE": str(f)}).token == TOKEN


@pytest.mark.unit
def test_auth_apps_and_a_failing_job(workdir, app_name):
    with make_client(isolated_config(workdir), use_env=False) as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/apps").status_code == 401
        assert client.get("/apps", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/apps", headers={"Authorization": "Basic " + TOKEN}).status_code == 401
        assert client.get("/apps", headers=AUTH).json() == []
        r = client.get("/apps/nope", headers=AUTH)
        assert r.status_code == 404 and r.json()["error"]["type"] == "NotFound"
        r = client.get("/apps/Not_Valid", headers=AUTH)
        assert r.status_code == 400 and r.json()["error"]["class_name"] == "input"

        import towlion
        with towlion.Context(use_env=False, use_config_file=False,
                             config=isolated_config(workdir)) as ctx:
            ctx.apps.create(app_name, [f"{app_name}.example.com"])
        apps = client.get("/apps", headers=AUTH).json()
        assert [a["name"] for a in apps] == [app_name]
        assert apps[0]["status"]["error"]["type"] == "Unavailable"  # no Docker here
        assert client.post(f"/apps/{app_name}/deploy", json={}).status_code == 401

        # No Docker here: the job fails, with the error and the steps it got to.
        r = client.post(f"/apps/{app_name}/deploy", headers=AUTH,
                        json={"path": str(workdir)})
        assert r.status_code == 202 and r.headers["location"] == f"/jobs/{r.json()['id']}"
        job = wait_job(client, r.json())
        assert job["state"] == "failed" and job["error"]["type"] == "Unavailable"
        assert "deploy.lock" in [e["step"] for e in job["events"]]
        assert [j["id"] for j in client.get("/jobs", headers=AUTH).json()] == [job["id"]]
        assert client.get("/jobs/none", headers=AUTH).status_code == 404
        r = client.post("/apps/x/previews/0", headers=AUTH, json={"path": "/x"})
        assert r.status_code == 400


def test_deploy_rollback_backups_previews_through_the_api(services, own_services, workdir,
                                                          app_name, hello_app):
    cfg = isolated_config(workdir, own_services)
    import towlion
    with towlion.Context(use_config_file=False, config=cfg) as ctx:
        ctx.apps.create(app_name, [f"{app_name}.towlion.test"], drain_ms=100)
        db = ctx.db.create(app_name)["database"]
    try:
        with make_client(cfg, use_env=True) as client:
            status = client.get("/status", headers=AUTH).json()
            assert {c["name"] for c in status["doctor"]["checks"]} >= {"docker", "postgres"}

            j1 = wait_job(client, client.post(f"/apps/{app_name}/deploy", headers=AUTH, json={
                "path": hello_app("1.0.0"), "health_timeout_ms": 20000}).json())
            assert j1["state"] == "succeeded", j1["error"]
            steps = [e["step"] for e in j1["events"] if e["type"] == "step"]
            assert "deploy.build" in steps and "deploy.switch" in steps
            j2 = wait_job(client, client.post(f"/apps/{app_name}/deploy", headers=AUTH, json={
                "path": hello_app("2.0.0"), "health_timeout_ms": 20000}).json())
            assert j2["state"] == "succeeded", j2["error"]
            rels = client.get(f"/apps/{app_name}/releases", headers=AUTH).json()
            assert [r["id"] for r in rels[:2]] == [j2["result"]["id"], j1["result"]["id"]]
            jr = wait_job(client, client.post(f"/apps/{app_name}/rollback", headers=AUTH,
                                              json={}).json())
            assert jr["state"] == "succeeded", jr["error"]
            shown = client.get(f"/apps/{app_name}", headers=AUTH).json()
            assert shown["status"]["healthy"] is True

            jb = wait_job(client, client.post("/backups/run", headers=AUTH,
                                              json={"databases": [db]}).json())
            assert jb["state"] == "succeeded", jb["error"]
            assert jb["result"][0]["ok"]
            listed = client.get("/backups", params={"database": db}, headers=AUTH).json()
            assert listed[0]["file"] == jb["result"][0]["file"]
            jv = wait_job(client, client.post("/backups/verify", headers=AUTH,
                                              json={"backup": listed[0]["file"]}).json())
            assert jv["state"] == "succeeded" and jv["result"]["bytes"] > 0

            jp = wait_job(client, client.post(f"/apps/{app_name}/previews/9", headers=AUTH,
                                              json={"path": hello_app("9.0.0"),
                                                    "health_timeout_ms": 20000}).json())
            assert jp["state"] == "succeeded", jp["error"]
            prs = client.get("/previews", params={"app": app_name}, headers=AUTH).json()
            assert [p["pr"] for p in prs] == [9]
            jd = wait_job(client, client.delete(f"/apps/{app_name}/previews/9",
                                                headers=AUTH).json())
            assert jd["result"] == {"existed": True}

            # Cancel a deploy while it runs: the callback stops it.
            r = client.post(f"/apps/{app_name}/deploy", headers=AUTH,
                            json={"path": hello_app("3.0.0")}).json()
            client.post(f"/jobs/{r['id']}/cancel", headers=AUTH)
            jc = wait_job(client, r)
            assert jc["state"] == "cancelled", jc
    finally:
        with towlion.Context(use_config_file=False, config=cfg) as ctx:
            ctx.previews.down(app_name, 9)
            ctx.apps.destroy(app_name, confirm=True, purge=True)
