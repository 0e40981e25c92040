"""Fixtures of the Python tests.

Tests marked ``unit`` need no service. The others run against the real
services of the test harness (its TOWLION_* variables in the environment:
``. /tmp/towlion-dev/env`` or ctest's services fixture), each in its own
state, apps and backup directories, with a Caddy and a GitHub stand-in of
their own (started from tests/harness for the session), so no other test's
routes are touched. Under CI=true a missing service fails the test;
elsewhere it is skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

import towlion

ROOT = Path(__file__).resolve().parents[3]
HARNESS = ROOT / "tests" / "harness"
_names = itertools.count(1)

# Under ASan the runtime is preloaded into this Python (LD_PRELOAD); the
# processes libtowlion spawns (pg_dump...) must not inherit it: some hang in
# an uninstrumented binary. The runtime stays loaded here.
if "asan" in os.environ.get("LD_PRELOAD", ""):
    os.environ.pop("LD_PRELOAD")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: needs no service")


def require_env(*names: str) -> dict[str, str]:
    """The named variables; a missing one fails under CI, skips elsewhere."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        msg = f"service not configured: {', '.join(missing)} unset"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return {n: os.environ[n] for n in names}


def read_env_file(path: Path) -> dict[str, str]:
    """The `export NAME=value` lines the harness writes."""
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            out[k] = v
    return out


def clean_env() -> dict[str, str]:
    """The environment for helper processes (without LD_PRELOAD, see above)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


@pytest.fixture(scope="session")
def own_services() -> Iterator[dict[str, str]]:
    """A Caddy and a GitHub stand-in for this session only (the shared
    harness Caddy is reloaded whole on every route change)."""
    if not (HARNESS / "start").exists():
        pytest.skip("tests/harness is not there")
    d = Path(tempfile.mkdtemp(prefix="tlpy-svc."))
    d.rmdir()  # start wants to create it
    r = subprocess.run([str(HARNESS / "start"), "--services", "caddy,github", "--dir", str(d)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=clean_env(), timeout=300)
    if r.returncode != 0:
        pytest.fail(f"could not start caddy and github: {r.stderr[-2000:]}")
    try:
        yield read_env_file(d / "env")
    finally:
        subprocess.run([str(HARNESS / "stop"), str(d)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=clean_env(), timeout=300)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A temporary directory with state/, apps/, caddy/ and backups/."""
    d = Path(tempfile.mkdtemp(prefix="tlpy."))
    for sub in ("state", "apps", "caddy", "backups", "data"):
        (d / sub).mkdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def isolated_config(workdir: Path, own: dict[str, str] | None = None) -> dict[str, str]:
    """Config keys that keep a test's files (and routes) to itself."""
    cfg = {
        "TOWLION_DATA_DIR": str(workdir / "data"),
        "TOWLION_STATE_DIR": str(workdir / "state"),
        "TOWLION_APPS_DIR": str(workdir / "apps"),
        "TOWLION_CADDY_DIR": str(workdir / "caddy"),
        "TOWLION_BACKUP_DIR": str(workdir / "backups"),
        "TOWLION_UPSTREAM_MODE": "loopback",
        "TOWLION_TLS": "off",
        "TOWLION_NETWORK": "towlion-pytest",
        "TOWLION_DOMAIN": "towlion.test",
    }
    for k in ("TOWLION_CADDY_ADMIN", "TOWLION_HTTP_PORT", "TOWLION_HTTPS_PORT",
              "TOWLION_GITHUB_API", "TOWLION_GITHUB_TOKEN"):
        if own and own.get(k):
            cfg[k] = own[k]
    return cfg


@pytest.fixture
def services() -> dict[str, str]:
    """The shared harness's services (docker, postgres, redis, s3)."""
    return require_env("TOWLION_DOCKER_HOST", "TOWLION_PG_URL", "TOWLION_REDIS_URL",
                       "TOWLION_S3_ENDPOINT")


@pytest.fixture
def ctx(services: dict[str, str], own_services: dict[str, str],
        workdir: Path) -> Iterator[towlion.Context]:
    """A context on the harness with this test's own dirs, Caddy and GitHub."""
    with towlion.Context(use_config_file=False,
                         config=isolated_config(workdir, own_services)) as c:
        yield c


@pytest.fixture
def unit_ctx(workdir: Path) -> Iterator[towlion.Context]:
    """A context that reads neither env nor config file (no services)."""
    with towlion.Context(use_env=False, use_config_file=False,
                         config=isolated_config(workdir)) as c:
        yield c


@pytest.fixture
def app_name() -> str:
    """A fresh app name for this process and test."""
    return f"py{os.getpid()}x{next(_names)}"


@pytest.fixture
def hello_app(workdir: Path) -> Any:
    """Copy examples/apps/hello and write its deploy/.env; returns a
    function(version) giving the source directory for that version."""
    def make(version: str) -> str:
        src = workdir / f"hello-{version}"
        if not src.exists():
            shutil.copytree(ROOT / "examples" / "apps" / "hello", src)
        (src / "deploy" / ".env").write_text(f"APP_VERSION={version}\n")
        return str(src)
    return make


def python() -> str:
    """The interpreter running the tests (for helper subprocesses)."""
    return sys.executable
