"""Cost of the Python module against what a Python tool would do instead:
run the `towlion` CLI as a subprocess and parse its --json output.

    PYTHONPATH=build/bindings/python/python /usr/bin/python3 \
        bindings/python/bench/bench_python.py build/towlion [N]

With the harness environment (. /tmp/towlion-dev/env) it also times
`db list` against PostgreSQL. Prints one line per case: median per call.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import towlion


def timeit(fn, n):
    runs = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main():
    cli = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    d = tempfile.mkdtemp()
    env = dict(os.environ, TOWLION_STATE_DIR=d + "/state", TOWLION_DOMAIN="example.com")
    cfg = {"TOWLION_STATE_DIR": d + "/state", "TOWLION_DOMAIN": "example.com"}
    ctx = towlion.Context(use_config_file=False, config=cfg)
    for i in range(20):
        ctx.apps.create(f"bench{i}")

    rows = []
    t = timeit(lambda: towlion.validate_app_name("shop-2"), n * 100)
    rows.append(("validate_app_name", t, None))
    t_py = timeit(lambda: ctx.apps.show("bench7"), n)
    t_cli = timeit(lambda: json.loads(subprocess.run(
        [cli, "--json", "app", "show", "bench7"], env=env, capture_output=True,
        check=True).stdout), n)
    rows.append(("app show", t_py, t_cli))
    t_py = timeit(lambda: ctx.apps.list(), n)
    t_cli = timeit(lambda: json.loads(subprocess.run(
        [cli, "--json", "app", "list"], env=env, capture_output=True, check=True).stdout), n)
    rows.append(("app list (20 apps)", t_py, t_cli))
    t = timeit(lambda: towlion.Context(use_config_file=False).close(), n)
    rows.append(("Context() + close", t, None))
    if os.environ.get("TOWLION_PG_URL"):
        t_py = timeit(lambda: ctx.db.list(), n // 4 or 1)
        t_cli = timeit(lambda: json.loads(subprocess.run(
            [cli, "--json", "db", "list"], env=env, capture_output=True,
            check=True).stdout), n // 4 or 1)
        rows.append(("db list (PostgreSQL)", t_py, t_cli))
    ctx.close()
    shutil.rmtree(d)
    print(f"{'case':24} {'python':>12} {'CLI+json':>12} {'ratio':>7}")
    for name, a, b in rows:
        bs = f"{b * 1e6:10.1f}us" if b else f"{'-':>12}"
        ratio = f"{b / a:6.1f}x" if b else f"{'-':>7}"
        print(f"{name:24} {a * 1e6:10.2f}us {bs} {ratio}")


if __name__ == "__main__":
    main()
