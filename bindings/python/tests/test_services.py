"""Every module through Python against the real services of the harness."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import towlion

from conftest import require_env


# ---- db -------------------------------------------------------------------------

def test_db_create_list_url_rotate_drop(ctx, app_name):
    rep = ctx.db.create(app_name, connection_limit=5)
    names = ctx.db.names(app_name)
    assert rep["database"] == names["database"] == app_name + "_db"
    assert rep["role"] == app_name + "_user" and rep["actions"] and not rep["dry_run"]
    try:
        assert ctx.db.create(app_name, connection_limit=5)["actions"] == []  # idempotent
        url = ctx.db.url(app_name)
        assert url.startswith(f"postgresql://{app_name}_user:") and url.endswith("/" + rep["database"])
        mine = [d for d in ctx.db.list() if d["database"] == rep["database"]]
        assert mine and mine[0]["owner"] == rep["role"] and mine[0]["connection_limit"] == 5
        assert ctx.db.rotate(app_name)["actions"]
        assert ctx.db.url(app_name) != url
        assert ctx.db.server_version() >= 150000
        assert ctx.db.schema_create(app_name, 3)["schema"] == "pr_3"
        assert ctx.db.schema_drop(app_name, 3)["actions"]
        with pytest.raises(towlion.InvalidArgument):
            ctx.db.drop(app_name)  # without confirm
        assert ctx.db.drop(app_name, dry_run=True, confirm=True)["dry_run"]
    finally:
        ctx.db.drop(app_name, confirm=True)
    assert not [d for d in ctx.db.list() if d["database"] == rep["database"]]
    with pytest.raises(towlion.NotFound):
        ctx.db.url(app_name)


def test_wrong_pg_password_is_auth_error(ctx):
    url = os.environ["TOWLION_PG_URL"]
    user_pass, host = url.split("://", 1)[1].split("@", 1)
    ctx.config_set("TOWLION_PG_URL", f"postgresql://postgres:wrong-password@{host}")
    with pytest.raises(towlion.AuthError) as e:
        ctx.db.list()
    assert e.value.class_name == "postgres" and e.value.upstream == "28P01"
    assert "wrong-password" not in e.value.message


# ---- redis ----------------------------------------------------------------------

def test_redis_create_stats_drop(ctx, app_name):
    rep = ctx.redis.create(app_name)
    try:
        assert rep["user"] == app_name and rep["prefix"] == app_name + ":"
        assert rep["actions"] and Path(rep["env_path"]).exists()
        env = towlion.EnvFile(rep["env_path"])
        assert env["REDIS_URL"].startswith(f"redis://{app_name}:")
        assert env["REDIS_KEY_PREFIX"] == app_name + ":"
        env.close()
        st = ctx.redis.stats(app_name)
        assert st["user_exists"] and st["app_keys"] == 0 and st["used_memory"] > 0
        assert ctx.redis.server_version().startswith(("6", "7"))
        assert ctx.redis.names(app_name, 2) == {"user": f"{app_name}-pr-2",
                                                "prefix": f"{app_name}-pr-2:"}
    finally:
        drop = ctx.redis.drop(app_name, purge=True)
    assert drop["actions"]
    assert not ctx.redis.stats(app_name)["user_exists"]


# ---- s3 -----------------------------------------------------------------------------

def test_s3_bucket_put_get_ls_rm(ctx, app_name, tmp_path):
    bucket = f"{app_name}-pybucket"
    s3 = ctx.s3
    s3.bucket_create(bucket)
    try:
        assert s3.bucket_exists(bucket)
        assert bucket in [b["name"] for b in s3.buckets()]
        data = bytes(range(256)) * 10  # not UTF-8: comes back byte for byte
        etag = s3.put(bucket, "dir/blob.bin", data=data, content_type="application/x-test")
        assert len(etag) == 32
        assert s3.get(bucket, "dir/blob.bin") == data
        src = tmp_path / "file.txt"
        src.write_text("hello s3\n")
        s3.put(bucket, "file.txt", path=str(src))
        dst = tmp_path / "copy.txt"
        assert s3.get(bucket, "file.txt", path=str(dst)) is None
        assert dst.read_text() == "hello s3\n"
        head = s3.head(bucket, "dir/blob.bin")
        assert head["size"] == len(data) and head["etag"] == etag
        listing = s3.ls(bucket, delimiter="/")
        assert [o["key"] for o in listing["objects"]] == ["file.txt"]
        assert listing["prefixes"] == ["dir/"]
        s3.rm(bucket, "file.txt")
        with pytest.raises(towlion.NotFound):
            s3.head(bucket, "file.txt")
        with pytest.raises(towlion.Conflict):
            s3.bucket_delete(bucket)  # not empty
    finally:
        s3.bucket_delete(bucket, purge=True)
    assert not s3.bucket_exists(bucket)
    with pytest.raises(towlion.AuthError):
        s3.with_options(secret_key="wrong-secret-key-0000000000000000").buckets()


# ---- docker -------------------------------------------------------------------------

def test_docker_run_exec_logs_ps(ctx, app_name):
    d = ctx.docker
    assert d.version()["api"]
    name = f"{app_name}-box"
    d.run("towlion-test/busybox:latest", ["sh", "-c", "echo started; echo oops >&2; sleep 300"],
          name=name, labels={"towlion.app": app_name, "towlion.service": "app"})
    try:
        ps = d.ps(app_name)
        assert [c["name"] for c in ps] == [name] and ps[0]["running"]
        assert ps[0]["labels"]["towlion.app"] == app_name
        r = d.exec(name, ["sh", "-c", "cat; echo err >&2; exit 3"], stdin=b"from stdin\n")
        assert r == {"exit_code": 3, "stdout": "from stdin\n", "stderr": "err\n"}
        deadline = time.time() + 10
        while time.time() < deadline:
            logs = d.logs(name)
            if "oops" in logs["stderr"]:
                break
            time.sleep(0.1)
        assert logs["stdout"] == "started\n" and logs["stderr"] == "oops\n"
        # the app's service logs, found by its labels (the engine's unit: here a container)
        al = d.app_logs(app_name)
        assert al["stdout"] == ["started"] and al["stderr"] == ["oops"]
        assert al["unit"] == d.inspect(name)["id"]
        with pytest.raises(towlion.NotFound):
            d.app_logs(app_name, "worker")
        assert d.inspect(name)["state"] == "running"
    finally:
        d.remove(name, force=True)
    with pytest.raises(towlion.NotFound):
        d.inspect(name)
    with pytest.raises(towlion.NotFound):
        d.image("towlion-test/no-such-image:1")


# ---- ssh ------------------------------------------------------------------------------

def _ssh_target():
    return require_env("TL_TEST_SSH_HOST", "TL_TEST_SSH_PORT", "TL_TEST_SSH_USER",
                       "TL_TEST_SSH_KEY", "TL_TEST_SSH_KNOWN_HOSTS")


def _ssh_connect(ctx, **kw):
    t = _ssh_target()
    args = dict(port=int(t["TL_TEST_SSH_PORT"]), user=t["TL_TEST_SSH_USER"],
                key_path=t["TL_TEST_SSH_KEY"], known_hosts=t["TL_TEST_SSH_KNOWN_HOSTS"])
    args.update(kw)
    return ctx.ssh.connect(t["TL_TEST_SSH_HOST"], **args)


def test_ssh_run_and_upload(ctx, tmp_path):
    with _ssh_connect(ctx) as s:
        assert s.fingerprint.startswith("SHA256:")
        r = s.run(["printf", "%s|", "a b", "it's", "$HOME"])
        assert r["exit_status"] == 0 and r["stdout"] == "a b|it's|$HOME|"
        r = s.run(["sh", "-c", "cat; exit 4"], stdin="piped")
        assert r == {"exit_status": 4, "exit_signal": "", "stdout": "piped", "stderr": ""}
        src = tmp_path / "up.txt"
        src.write_text("uploaded\n")
        remote = f"{tmp_path}/remote.txt"  # sshd runs on this machine
        s.upload(str(src), remote, mode=0o640)
        assert s.run(["cat", remote])["stdout"] == "uploaded\n"
        assert oct(os.stat(remote).st_mode & 0o777) == "0o640"
        with pytest.raises(towlion.Timeout):
            s.run(["sleep", "5"], timeout_ms=300)
    with pytest.raises(ValueError):
        s.run(["true"])  # closed


def test_ssh_unknown_host_key_is_auth_error(ctx, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(towlion.AuthError) as e:
        _ssh_connect(ctx, known_hosts=str(empty))
    assert e.value.upstream == "host key unknown" and "SHA256:" in e.value.message


def test_ssh_session_closed_with_its_context(services, tmp_path):
    c = towlion.Context(use_config_file=False)
    s = _ssh_connect(c)
    c.close()  # closes the session first, then the context
    with pytest.raises(ValueError):
        s.run(["true"])
    s.close()


# ---- github -----------------------------------------------------------------------------

def _standin(own_services, path, body):
    req = urllib.request.Request(own_services["TL_TEST_GITHUB_STANDIN"] + path,
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()


def test_github_comment_and_pr(ctx, own_services):
    _standin(own_services, "/_standin/repos", {"repo": "acme/shop"})
    _standin(own_services, "/_standin/prs", {"repo": "acme/shop", "number": 7, "state": "open",
                                             "head_sha": "a" * 40, "head_ref": "feature",
                                             "base_ref": "main", "title": "A PR"})
    gh = ctx.github
    pr = gh.pr("acme/shop", 7)
    assert pr["state"] == "open" and pr["head_ref"] == "feature" and pr["title"] == "A PR"
    first = gh.comment("acme/shop", 7, "preview:py", "first body")
    assert first["created"]
    second = gh.comment("acme/shop", 7, "preview:py", "second body")
    assert second["id"] == first["id"] and not second["created"]
    assert gh.find_comment("acme/shop", 7, "preview:py")["body"].endswith("second body")
    with pytest.raises(towlion.NotFound):
        gh.pr("acme/shop", 99)
    with pytest.raises(towlion.AuthError):
        gh.with_options(token="ghs_wrong").pr("acme/shop", 7)
    with pytest.raises(towlion.InvalidArgument):
        gh.validate_repo("not a repo")


# ---- platform ---------------------------------------------------------------------------

def test_platform_doctor_and_metrics(ctx):
    rep = ctx.platform.doctor()
    checks = {c["name"]: c for c in rep["checks"]}
    assert checks["docker"]["status"] == "ok" and checks["postgres"]["status"] == "ok"
    assert rep["worst"] in ("ok", "warn", "fail")
    assert all(c["elapsed_ms"] >= 0 for c in rep["checks"])
    text = ctx.platform.metrics()
    assert 'towlion_scrape_up{source="docker"} 1' in text


# ---- routes ---------------------------------------------------------------------------------

def test_routes_add_list_check_rm(ctx, app_name):
    host = f"{app_name}.towlion.test"
    ctx.routes.add(app_name, [host], ["127.0.0.1:9"], tls="off")
    try:
        sites = {s["site"]: s for s in ctx.routes.list()}
        assert sites[app_name]["hosts"] == [host]
        assert sites[app_name]["upstreams"] == ["127.0.0.1:9"]
        ctx.routes.check()
        ctx.routes.reload()
        assert any(u["address"] == "127.0.0.1:9" for u in ctx.routes.upstreams())
        with pytest.raises(towlion.Conflict, match=app_name):
            ctx.routes.add(app_name + "-b", [host], ["127.0.0.1:9"])
    finally:
        assert ctx.routes.rm(host) == app_name
    with pytest.raises(towlion.NotFound):
        ctx.routes.rm(app_name)


# ---- backups ------------------------------------------------------------------------------

def test_backups_run_list_verify_prune(ctx, app_name):
    db = ctx.db.create(app_name)["database"]
    try:
        outcomes = ctx.backups.run([db], no_remote=True)
        assert len(outcomes) == 1 and outcomes[0]["ok"] and outcomes[0]["size"] > 0
        listed = ctx.backups.list([db])
        assert [b["file"] for b in listed] == [outcomes[0]["file"]]
        assert listed[0]["state"] == "unverified" and listed[0]["format"] == "custom"
        check = ctx.backups.verify(listed[0]["file"])
        assert check["bytes"] > 0
        assert ctx.backups.list([db])[0]["state"] == "verified"
        decisions = ctx.backups.prune([db], dry_run=True)
        assert [d["deleted"] for d in decisions] == [False]
        with pytest.raises(towlion.InvalidArgument):
            ctx.backups.restore(db, listed[0]["file"])  # without confirm
        with pytest.raises(towlion.TowlionError) as e:
            ctx.backups.run([app_name + "_nodb"], no_remote=True)
        assert e.value.outcomes and not e.value.outcomes[0]["ok"]
    finally:
        ctx.db.drop(app_name, confirm=True)


# ---- apps, deploys, previews ------------------------------------------------------------------

def _get(ctx, host, path="/"):
    port = ctx.config_get("TOWLION_HTTP_PORT")
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def test_deploy_rollback_with_step_events(ctx, app_name, hello_app):
    host = f"{app_name}.towlion.test"
    ctx.apps.create(app_name, [host], drain_ms=200, keep_images=3)
    events = []
    ctx.on_event = events.append
    try:
        r1 = ctx.deploys.deploy(app_name, hello_app("1.0.0"), health_timeout_ms=20000)
        assert r1["status"] == "active" and r1["source"].startswith("path:")
        steps = [e.step for e in events if e.type == "step"]
        for s in ("deploy.lock", "deploy.build", "deploy.switch"):
            assert s in steps, steps
        assert _get(ctx, host).strip() == "hello 1.0.0"
        st = ctx.deploys.status(app_name)
        assert st["release"] == r1["id"] and st["healthy"] and st["containers"]
        plan = ctx.deploys.describe(app_name, hello_app("2.0.0"))
        assert "app" in json.dumps(plan)
        r2 = ctx.deploys.deploy(app_name, hello_app("2.0.0"), health_timeout_ms=20000)
        assert _get(ctx, host).strip() == "hello 2.0.0"
        rels = ctx.deploys.releases(app_name)
        assert [r["id"] for r in rels[:2]] == [r2["id"], r1["id"]]
        # The platform at a glance: the app's row has status()'s fields and
        # what the platform keeps beside it.
        glance = ctx.platform.status(app_name)
        (row,) = glance["apps"]
        assert row["app"] == app_name and row["release"] == r2["id"]
        assert row["health"] == "healthy" and glance["health"] == "healthy", row["reason"]
        assert row["database"] is None and row["last_backup"] is None
        assert row["previews"] == 0 and glance["reason"] == ""
        st = ctx.deploys.status(app_name)
        assert {k: row[k] for k in st if k != "containers"} == \
            {k: v for k, v in st.items() if k != "containers"}
        assert [s["name"] for s in glance["sources"]] == ["postgres", "backups", "previews"]
        assert all(s["answered"] and s["error"] == "" for s in glance["sources"])
        assert app_name in [a["app"] for a in ctx.platform.status()["apps"]]
        with pytest.raises(towlion.NotFound):
            ctx.platform.status(app_name + "x")
        # rollback's dry run: the release the rollback then brings back,
        # and the rollback's own refusal (to what serves) without a change.
        assert ctx.deploys.rollback(app_name, dry_run=True)["id"] == r1["id"]
        with pytest.raises(towlion.InvalidArgument, match="serving already"):
            ctx.deploys.rollback(app_name, r2["id"], dry_run=True)
        assert _get(ctx, host).strip() == "hello 2.0.0"
        back = ctx.deploys.rollback(app_name)
        assert back["status"] == "active" and back["source"].startswith("rollback:")
        assert _get(ctx, host).strip() == "hello 1.0.0"
    finally:
        ctx.on_event = None
        ctx.apps.destroy(app_name, confirm=True, purge=True)
    with pytest.raises(towlion.NotFound):
        ctx.apps.show(app_name)


def test_deploy_cancelled_from_the_callback(services, own_services, workdir, app_name,
                                            hello_app):
    from conftest import isolated_config
    cfg = isolated_config(workdir, own_services)
    with towlion.Context(use_config_file=False, config=cfg) as c:
        c.apps.create(app_name, [f"{app_name}.towlion.test"])
    try:
        def cancel_at_build(ev):
            return ev.type == "step" and ev.step == "deploy.build"
        with towlion.Context(use_config_file=False, config=cfg, on_event=cancel_at_build) as c:
            with pytest.raises(towlion.Cancelled):
                c.deploys.deploy(app_name, hello_app("1.0.0"))
        with towlion.Context(use_config_file=False, config=cfg) as c:
            assert c.deploys.status(app_name)["release"] == ""
            assert c.docker.ps(app_name) == []
    finally:
        with towlion.Context(use_config_file=False, config=cfg) as c:
            c.apps.destroy(app_name, confirm=True, purge=True)


def test_preview_up_list_down(ctx, app_name, hello_app):
    ctx.apps.create(app_name, [f"{app_name}.towlion.test"])
    try:
        p = ctx.previews.up(app_name, 5, hello_app("5.0.0"), health_timeout_ms=20000)
        assert p["app"] == app_name and p["pr"] == 5
        assert p["url"].startswith("http") and f"pr-5.preview.{app_name}" in p["url"]
        host = p["url"].split("://", 1)[1].split("/", 1)[0].split(":")[0]
        assert _get(ctx, host).strip() == "hello 5.0.0"
        listed = ctx.previews.list(app_name)
        assert [(x["app"], x["pr"]) for x in listed] == [(app_name, 5)]
        assert ctx.previews.down(app_name, 5) is True
        assert ctx.previews.down(app_name, 5) is False
        assert ctx.previews.list(app_name) == []
        assert ctx.previews.gc(dry_run=True, check_github=False) == []
    finally:
        ctx.previews.down(app_name, 5)
        ctx.apps.destroy(app_name, confirm=True, purge=True)


# ---- threads ------------------------------------------------------------------------------------

def test_threads_run_blocking_calls_in_parallel(services):
    """Four threads, each with its own context, each a 1 s remote sleep:
    together about 1 s, not 4, and the main thread keeps running meanwhile.
    Each connection first runs one command untimed: the ssh module asks
    the login shell once per connection (one more session, which sshd
    here starts slowly when several come at once), and what is measured
    is whether the blocking calls overlap."""
    t = _ssh_target()
    n, results, errors, spans = 4, [], [], []
    ready = threading.Barrier(n + 1, timeout=60)

    def worker():
        try:
            with towlion.Context(use_config_file=False) as c:
                with _ssh_connect(c) as s:
                    s.run(["true"])
                    ready.wait()
                    t0 = time.monotonic()
                    r = s.run(["sleep", "1"])
                    t1 = time.monotonic()
                    results.append((r["exit_status"], t1 - t0))
                    spans.append((t0, t1))
        except Exception as e:  # reported below
            errors.append(e)
            ready.abort()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for th in threads:
        th.start()
    ready.wait()
    ticks = 0
    while any(th.is_alive() for th in threads):
        ticks += 1  # Python code runs while the C calls block
        time.sleep(0.01)
    assert not errors, errors
    assert [code for code, _ in results] == [0] * n
    assert all(d >= 0.9 for _, d in results)
    # Parallel means the calls' spans overlap: with the GIL held across a
    # call they would run one after another, never two at once. (Not a
    # total-time bound: on a loaded machine a thread may start late.)
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    at_once = most = 0
    for _, step in edges:
        at_once += step
        most = max(most, at_once)
    assert most >= 2, f"{n} one-second calls never overlapped: not parallel ({spans})"
    assert ticks > 20
    assert t["TL_TEST_SSH_HOST"]


def test_unhealthy_release_raises_unhealthy(ctx, app_name, workdir):
    import shutil
    from conftest import ROOT
    src = workdir / "broken-health"
    shutil.copytree(ROOT / "examples" / "apps" / "broken-health", src)
    ctx.apps.create(app_name, [f"{app_name}.towlion.test"])
    try:
        with pytest.raises(towlion.Unhealthy) as e:
            ctx.deploys.deploy(app_name, str(src), health_timeout_ms=3000)
        assert e.value.code == towlion._towlion.TL_EUNHEALTHY
        assert ctx.deploys.releases(app_name)[0]["status"] == "failed"
        assert ctx.docker.ps(app_name) == []  # the failed release was removed
    finally:
        ctx.apps.destroy(app_name, confirm=True, purge=True)
