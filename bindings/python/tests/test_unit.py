"""The module without services: errors, handles, options, events, locks."""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import towlion
from towlion import _towlion as _t

from conftest import ROOT, clean_env, isolated_config

pytestmark = pytest.mark.unit


def test_error_classes_follow_result_codes():
    assert towlion.error_for_code(_t.TL_EINVALID) is towlion.InvalidArgument
    assert towlion.error_for_code(_t.TL_EEXISTS) is towlion.Conflict
    assert towlion.error_for_code(_t.TL_ECONFLICT) is towlion.Conflict
    assert towlion.error_for_code(_t.TL_EUSER) is towlion.Cancelled
    assert towlion.error_for_code(_t.TL_EUNHEALTHY) is towlion.Unhealthy
    assert towlion.error_for_code(-999) is towlion.TowlionError
    for cls in (towlion.NotFound, towlion.Locked, towlion.AuthError, towlion.Timeout,
                towlion.Unavailable):
        assert issubclass(cls, towlion.TowlionError)
    assert towlion.strerror(_t.TL_ENOTFOUND) == "not found"


@pytest.mark.parametrize("name", ["Bad", "a", "x--y", "-x", "shop-pr-7", "a" * 40, ""])
def test_invalid_app_names_raise_invalid_argument(name):
    with pytest.raises(towlion.InvalidArgument) as e:
        towlion.validate_app_name(name)
    assert e.value.code == _t.TL_EINVALID
    assert e.value.class_name == "input"
    assert e.value.message and str(e.value) == e.value.message
    assert isinstance(e.value, ValueError)


def test_valid_names_pass():
    towlion.validate_app_name("shop-2")
    towlion.validate_domain("shop.example.com")
    towlion.validate_pr(7)
    towlion.validate_hostport("db:5432")
    with pytest.raises(towlion.InvalidArgument):
        towlion.validate_pr(0)
    with pytest.raises(towlion.InvalidArgument):
        towlion.validate_hostport("db:99999")


def test_context_config_round_trip(unit_ctx):
    unit_ctx.config_set("TOWLION_DOMAIN", "example.org")
    assert unit_ctx.config_get("TOWLION_DOMAIN") == "example.org"
    cfg = unit_ctx.config()
    assert cfg["TOWLION_DOMAIN"] == {"value": "example.org", "source": "api",
                                     "description": cfg["TOWLION_DOMAIN"]["description"]}
    assert cfg["TOWLION_REDIS_APP_HOST"]["source"] == "default"
    with pytest.raises(KeyError):
        unit_ctx.config_get("TOWLION_NO_SUCH_KEY")
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.config_set("TOWLION_NO_SUCH_KEY", "x")
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.config_set("TOWLION_DOMAIN", "a\nb")
    assert unit_ctx.config_path is None


def test_config_file_errors(tmp_path):
    with pytest.raises(towlion.NotFound):
        towlion.Context(str(tmp_path / "missing.conf"))
    bad = tmp_path / "bad.conf"
    bad.write_text("TOWLION_DOMAIN=x.example\nTOWLION_BOGUS=1\n")
    with pytest.raises(towlion.InvalidArgument, match="bad.conf:2"):
        towlion.Context(str(bad))
    good = tmp_path / "good.conf"
    good.write_text("TOWLION_DOMAIN=from.file\n")
    with towlion.Context(str(good), use_env=False) as c:
        assert c.config_get("TOWLION_DOMAIN") == "from.file"
        assert c.config_path == str(good)


def test_closed_context_refuses_calls_and_closes_once():
    c = towlion.Context(use_env=False, use_config_file=False)
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(ValueError, match="closed"):
        c.config_get("TOWLION_DOMAIN")
    with pytest.raises(ValueError):
        c.apps.list()


def test_options_are_checked_before_the_call(unit_ctx):
    with unit_ctx._use() as c:
        with pytest.raises(TypeError, match="no option 'nope'"):
            _t.tl_deploy_describe(c, "x", {"nope": 1})
        with pytest.raises(TypeError, match="must be a str"):
            _t.tl_deploy_describe(c, "x", {"path": 5})
        with pytest.raises(TypeError, match="list of str"):
            _t.tl_app_create(c, "x", {"domains": "a.b.c"})
        with pytest.raises(OverflowError):
            _t.tl_app_create(c, "x", {"port": 2**40})
    with pytest.raises(TypeError):
        unit_ctx.apps.create("shop", domains=[5])


def test_app_registry_errors(unit_ctx, app_name):
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.apps.create("Not_Valid")
    with pytest.raises(towlion.NotFound) as e:
        unit_ctx.apps.show(app_name)
    assert isinstance(e.value, LookupError)
    a = unit_ctx.apps.create(app_name, [f"{app_name}.example.com"], port=9000,
                             health_path="/up", keep_images=2)
    assert a["name"] == app_name and a["domains"] == [f"{app_name}.example.com"]
    assert a["port"] == 9000 and a["health_path"] == "/up" and a["keep_images"] == 2
    assert a["web_service"] is None and a["created"] > 0
    with pytest.raises(towlion.Conflict) as e:
        unit_ctx.apps.create(app_name)
    assert e.value.code == _t.TL_EEXISTS
    other = app_name + "b"
    with pytest.raises(towlion.Conflict, match=app_name):
        unit_ctx.apps.create(other, [f"{app_name}.example.com"])
    assert [x["name"] for x in unit_ctx.apps.list()] == [app_name]
    assert unit_ctx.apps.show(app_name) == a
    assert unit_ctx.apps.env_path(app_name).endswith(f"/apps/{app_name}/app.env")
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.apps.destroy(app_name)  # not confirmed: nothing changes
    assert unit_ctx.apps.show(app_name)["name"] == app_name


def test_envfile_edit_and_atomic_save(tmp_path):
    p = tmp_path / "app.env"
    with towlion.EnvFile(str(p), create=True) as env:
        env["A"] = "1"
        env["B"] = "two words"
        assert env["A"] == "1" and env.get("C") is None
        with pytest.raises(towlion.InvalidArgument):
            env["bad key"] = "x"
        del env["A"]
        with pytest.raises(KeyError):
            del env["A"]
        env.save()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    with towlion.EnvFile(str(p)) as env:
        assert env.to_dict() == {"B": "two words"}
    with pytest.raises(towlion.NotFound):
        towlion.EnvFile(str(tmp_path / "none.env"))
    with pytest.raises(towlion.InvalidArgument):
        towlion.EnvFile(text='A="unterminated\n', path="x.env")
    # read as Docker Compose reads a .env: a BOM, dotted keys, earlier keys
    c = towlion.EnvFile(text="\ufeffHOST=db\nspring.x=1\nURL=http://${HOST}\nRAW='$HOST'\n",
                        interpolate=True)
    assert c.to_dict() == {"HOST": "db", "spring.x": "1", "URL": "http://db", "RAW": "$HOST"}
    assert towlion.EnvFile(text="URL=http://${HOST}\n")["URL"] == "http://${HOST}"
    with pytest.raises(towlion.InvalidArgument, match="never passes its own environment"):
        towlion.EnvFile(text="HOME\n", interpolate=True)
    e = towlion.EnvFile(text="A=1\nA=2\n")
    assert e["A"] == "2" and len(e.warnings) == 1
    e.close()
    e.close()
    with pytest.raises(ValueError):
        e["A"]


def test_routes_render_without_caddy(unit_ctx):
    text = unit_ctx.routes.render("shop", ["shop.example.com"], ["127.0.0.1:8000"],
                                  health_uri="/health", tls="off",
                                  paths=[{"path": "/api/*", "upstreams": ["127.0.0.1:9000"]}])
    assert "shop.example.com" in text and "127.0.0.1:9000" in text
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.routes.render("shop", ["not a host"], ["127.0.0.1:8000"])
    assert "import" in unit_ctx.routes.render_main()


def test_compose_check_and_strict_policy(tmp_path):
    from towlion.compose import Compose
    plan = Compose.check(str(ROOT / "examples/apps/hello/deploy/docker-compose.yml"))
    assert "app" in str(plan)
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  app:\n    image: x\n    privileged: true\n")
    assert Compose.check(str(bad))  # trusted: allowed
    with pytest.raises(towlion.InvalidArgument, match="privileged"):
        Compose.check(str(bad), strict=True)


def test_compose_replicas_and_constraints(tmp_path):
    # ints that are values, not result codes (TL_VALUE_INT in towlion.i)
    from towlion import _towlion as _t
    f = tmp_path / "docker-compose.yml"
    f.write_text("services:\n  app:\n    image: x\n    deploy:\n      replicas: 3\n"
                 "      placement:\n        constraints: [\"node.role==worker\"]\n")
    c = _t.tl_compose_load(str(f), {})
    try:
        s = _t.tl_compose_service_get(c, "app")
        assert _t.tl_compose_service_replicas(s) == 3
        assert _t.tl_compose_service_constraint_count(s) == 1
        assert _t.tl_compose_service_constraint_at(s, 0) == "node.role==worker"
    finally:
        _t.tl_compose_free(c)


def test_compose_secrets(tmp_path):
    # a service's secrets: target, the key of the value, owner and mode
    from towlion import _towlion as _t
    f = tmp_path / "docker-compose.yml"
    f.write_text("services:\n  app:\n    image: x\n    secrets:\n      - k\n"
                 "      - {source: k, target: other, uid: '1000', gid: '1000', mode: 0400}\n"
                 "secrets:\n  k:\n    environment: EMAIL_API_KEY\n")
    c = _t.tl_compose_load(str(f), {})
    try:
        s = _t.tl_compose_service_get(c, "app")
        assert _t.tl_compose_service_secret_count(s) == 2
        assert _t.tl_compose_service_secret_at(s, 0) == ["k", "k", "EMAIL_API_KEY", 0, 0, 0o444]
        assert _t.tl_compose_service_secret_at(s, 1) == ["k", "other", "EMAIL_API_KEY", 1000,
                                                         1000, 0o400]
    finally:
        _t.tl_compose_free(c)


def test_platform_compose_and_services(unit_ctx):
    names = [s["service"] for s in unit_ctx.platform.services()]
    assert "caddy" in names and "postgres" in names
    text = unit_ctx.platform.compose()
    assert "postgres" in text and "services:" in text
    assert "profiles: [logs, metrics]" in text  # grafana, with either profile


def test_platform_metrics_textfile(unit_ctx, workdir):
    unit_ctx.config_set("TOWLION_DOCKER_HOST", "unix:///nonexistent.sock")
    unit_ctx.config_set("TOWLION_PG_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    tf = workdir / "textfile"
    tf.mkdir()
    path = unit_ctx.platform.metrics_textfile(str(tf))
    assert path == str(tf / "towlion.prom")
    assert 'towlion_scrape_up{source="docker"} 0' in (tf / "towlion.prom").read_text()
    with pytest.raises(towlion.NotFound):
        unit_ctx.platform.metrics_textfile(str(workdir / "missing"))


def test_events_steps_and_cancel(unit_ctx, workdir):
    seen = []
    unit_ctx.on_event = lambda ev: seen.append(ev)
    steps = unit_ctx.platform.init(root=str(workdir / "root"), no_docker=True)
    assert steps and all({"action", "subject", "detail", "changed"} <= set(s) for s in steps)
    kinds = {e.step for e in seen if e.type == "step"}
    assert "platform.layout" in kinds
    assert all(isinstance(e, towlion.Event) for e in seen)
    unit_ctx.on_event = None
    assert unit_ctx.platform.init(root=str(workdir / "root5"), no_docker=True)
    with pytest.raises(TypeError):
        unit_ctx.on_event = 5  # type: ignore[assignment]


def _cancel_with(callback, root):
    # A cancelled context stays cancelled (libtowlion's rule): one per case.
    with towlion.Context(use_env=False, use_config_file=False, on_event=callback) as c:
        c.platform.init(root=root, no_docker=True)


def test_callback_returning_true_cancels(workdir):
    with pytest.raises(towlion.Cancelled) as e:
        _cancel_with(lambda ev: ev.type == "step", str(workdir / "r1"))
    assert e.value.code == _t.TL_EUSER and e.value.__cause__ is None
    assert not (workdir / "r1" / "data" / "postgres").exists()


def test_callback_raising_cancels_with_cause(workdir):
    def boom(ev):
        raise RuntimeError("stop here")
    with pytest.raises(towlion.Cancelled) as e:
        _cancel_with(boom, str(workdir / "r2"))
    assert isinstance(e.value.__cause__, RuntimeError)
    assert str(e.value.__cause__) == "stop here"


def test_keyboard_interrupt_in_callback_propagates(workdir):
    def interrupt(ev):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _cancel_with(interrupt, str(workdir / "r3"))


def test_lock_held_by_another_process_is_locked(unit_ctx, app_name, workdir):
    unit_ctx.apps.create(app_name, [f"{app_name}.example.com"])
    locks = workdir / "state" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / f"app-{app_name}.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl,sys,time\n"
         "f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(towlion.Locked) as e:
            unit_ctx.deploys.deploy(app_name, str(workdir), lock_timeout_ms=-1)
        assert e.value.code == _t.TL_ELOCKED
    finally:
        holder.kill()
        holder.wait()
    with open(lock, "a") as f:  # the kernel released it with the holder
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_services_are_unavailable(unit_ctx, workdir):
    port = _closed_port()
    unit_ctx.config_set("TOWLION_PG_URL", f"postgresql://postgres:x@127.0.0.1:{port}/postgres")
    with pytest.raises(towlion.Unavailable) as e:
        unit_ctx.db.create("shop")
    assert e.value.class_name == "postgres" and isinstance(e.value, ConnectionError)
    unit_ctx.config_set("TOWLION_REDIS_URL", f"redis://127.0.0.1:{port}")
    with pytest.raises(towlion.Unavailable):
        unit_ctx.redis.stats("shop")
    unit_ctx.config_set("TOWLION_DOCKER_HOST", f"unix://{workdir}/no-docker.sock")
    with pytest.raises(towlion.Unavailable, match="no-docker.sock"):
        unit_ctx.docker.ps()
    unit_ctx.config_set("TOWLION_CADDY_ADMIN", f"http://127.0.0.1:{port}")
    with pytest.raises(towlion.Unavailable):
        unit_ctx.routes.add("shop", ["shop.example.com"], ["127.0.0.1:8000"])
    assert not (workdir / "caddy" / "sites" / "shop.caddy").exists()


def _rss_kb() -> int:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _under_asan() -> bool:
    with open("/proc/self/maps") as f:
        return "libasan" in f.read()


@pytest.mark.skipif(_under_asan(), reason="ASan's quarantine keeps freed memory resident")
def test_handles_do_not_leak(unit_ctx, app_name):
    """A loop of contexts, handles, lists and errors: memory stays flat."""
    unit_ctx.apps.create(app_name, [f"{app_name}.example.com"])

    def once():
        with towlion.Context(use_env=False, use_config_file=False) as c:
            c.config_set("TOWLION_STATE_DIR", unit_ctx.config_get("TOWLION_STATE_DIR"))
            c.apps.list()
            c.apps.show(app_name)
            try:
                c.apps.show("missing-app")
            except towlion.NotFound:
                pass
            with towlion.EnvFile(text="A=1\nB=2\n") as e:
                e.to_dict()
            c.routes.render("s", ["s.example.com"], ["127.0.0.1:1"])
    for _ in range(300):
        once()
    before = _rss_kb()
    for _ in range(3000):
        once()
    grown = _rss_kb() - before
    assert grown < 4096, f"RSS grew by {grown} KiB over 3000 rounds"


def _public_classes():
    from towlion import apps, backups, compose, context, db, docker, github, platform, \
        previews, redis, routes, s3, ssh
    return {
        "Context": context.Context, "Apps": apps.Apps, "Deploys": apps.Deploys,
        "Routes": routes.Routes, "Databases": db.Databases, "Backups": backups.Backups,
        "Previews": previews.Previews, "Docker": docker.Docker, "Redis": redis.Redis,
        "S3": s3.S3, "SSH": ssh.SSH, "SSHSession": ssh.Session, "GitHub": github.GitHub,
        "Platform": platform.Platform, "Compose": compose.Compose, "EnvFile": compose.EnvFile,
    }


def test_every_public_name_has_a_docstring():
    missing = [n for n in towlion.__all__
               if not n.startswith("__") and not getattr(towlion, n).__doc__]
    for cname, cls in _public_classes().items():
        if not cls.__doc__:
            missing.append(cname)
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            fn = member.fget if isinstance(member, property) else member
            fn = getattr(fn, "__func__", fn)
            if callable(fn) and not fn.__doc__:
                missing.append(f"{cname}.{name}")
    assert missing == []


def test_stub_matches_the_package():
    """The .pyi declares every public class and method the package has."""
    import ast
    stub = ast.parse((Path(towlion.__file__).parent / "__init__.pyi").read_text())
    declared = {n.name: {m.name for m in n.body if isinstance(m, ast.FunctionDef)} |
                {m.target.id for m in n.body if isinstance(m, ast.AnnAssign)}
                for n in stub.body if isinstance(n, ast.ClassDef)}
    top = {n.name for n in stub.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert {n for n in towlion.__all__ if not n.startswith("__")} - top == set()
    for cname, cls in _public_classes().items():
        public = {n for n in vars(cls) if not n.startswith("_")}
        assert public - declared[cname] == set(), cname
