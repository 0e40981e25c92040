"""ctx.env (an app's own settings) and ctx.deploys.restart from Python."""

from __future__ import annotations

import json
import os
import urllib.parse

import pytest

import towlion


@pytest.mark.unit
def test_settings_round_trip_and_refusals(unit_ctx):
    unit_ctx.config_set("TOWLION_DOMAIN", "example.org")
    unit_ctx.apps.create("pyenv")
    hard = "a\nb \"q\" 'q' $HOME \\ ✓"
    unit_ctx.env.set("pyenv", {"EMAIL_API_KEY": "k1", "HARD": hard})
    unit_ctx.env.set("pyenv", {"PROD": "p"}, production_only=True)
    assert unit_ctx.env.list("pyenv") == [
        {"key": "EMAIL_API_KEY", "production_only": False},
        {"key": "HARD", "production_only": False},
        {"key": "PROD", "production_only": True}]
    shown = {d["key"]: d["value"] for d in unit_ctx.env.list("pyenv", show=True)}
    assert shown["HARD"] == hard
    assert "HARD=" in unit_ctx.env.render("pyenv")
    before = unit_ctx.env.list("pyenv", show=True)
    for bad in ({"OK": "1", "DATABASE_URL": "x"}, {"OK": "1", "S3_BUCKET": "x"},
                {"OK": "1", "1BAD": "x"}):
        with pytest.raises(towlion.InvalidArgument):
            unit_ctx.env.set("pyenv", bad)
    with pytest.raises(towlion.InvalidArgument):
        unit_ctx.env.unset("pyenv", ["REDIS_URL"])
    unit_ctx.env.set("pyenv", {"DRY": "x"}, dry_run=True)
    assert unit_ctx.env.list("pyenv", show=True) == before
    with pytest.raises(towlion.InvalidArgument):
        towlion.Context.env.fget(unit_ctx).check_key("APP_DOMAIN")
    with pytest.raises(towlion.NotFound):
        unit_ctx.env.set("nosuchapp", {"A": "1"})
    unit_ctx.env.unset("pyenv", ["HARD", "NEVER_SET"])
    assert [d["key"] for d in unit_ctx.env.list("pyenv")] == ["EMAIL_API_KEY", "PROD"]


def _web_env(ctx, services, project):
    sock = services["TOWLION_DOCKER_HOST"].removeprefix("unix://")
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(sock)

    q = urllib.parse.quote(json.dumps({"label": [f"towlion.project={project}",
                                                 "towlion.role=web"]}))
    c = Conn("localhost", timeout=30)
    c.request("GET", f"/containers/json?filters={q}")
    ids = [x["Id"] for x in json.loads(c.getresponse().read())]
    envs = []
    for i in ids:
        c.request("GET", f"/containers/{i}/json")
        envs.append(dict(kv.split("=", 1) for kv in
                         json.loads(c.getresponse().read())["Config"]["Env"]))
    c.close()
    return envs


def test_settings_reach_the_containers_on_restart(ctx, services, app_name, hello_app):
    host = f"{app_name}.towlion.test"
    ctx.apps.create(app_name, [host], drain_ms=200)
    try:
        ctx.env.set(app_name, {"EMAIL_API_KEY": "first"})
        r1 = ctx.deploys.deploy(app_name, hello_app("1.0.0"), health_timeout_ms=20000)
        assert [e.get("EMAIL_API_KEY") for e in _web_env(ctx, services, app_name)] == ["first"]
        ctx.env.set(app_name, {"EMAIL_API_KEY": "second"})
        assert [e.get("EMAIL_API_KEY") for e in _web_env(ctx, services, app_name)] == ["first"]
        r2 = ctx.deploys.restart(app_name)
        assert r2["id"] != r1["id"] and r2["source"] == "restart:" + r1["source"]
        assert [e.get("EMAIL_API_KEY") for e in _web_env(ctx, services, app_name)] == ["second"]
        assert ctx.deploys.releases(app_name)[0]["id"] == r2["id"]
    finally:
        ctx.apps.destroy(app_name, confirm=True, purge=True)
    with pytest.raises(towlion.NotFound):
        ctx.deploys.restart(app_name)
