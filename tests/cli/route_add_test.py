#!/usr/bin/python3
"""`towlion route add` reads its options through the shared parser: any
number of --upstream and --path (each path any number of upstreams), up to
what the library takes, and beyond that the library's clear error instead
of a silent cut. --dry-run only: no Caddy, nothing written."""
import os

from clitest import Test

t = Test("cli-route-add")
env = t.env(TOWLION_TLS="off", TOWLION_CADDY_DIR=os.path.join(t.tmp, "caddy"))


def add(*args):
    return t.run(["--dry-run", "route", "add", "shop", "shop.example.com", *args], env=env)


def ups(n, prefix="h"):
    return [f"{prefix}{i}:80" for i in range(1, n + 1)]


# Repeated --upstream, --upstream=VALUE, and --path with several upstreams.
rc, out, err = add("--upstream", "a:1", "--upstream=b:2", "--path", "/api/*=api:9000,api2:9000",
                   "--health", "/health")
t.check(rc == 0, f"a route with two upstreams and a path: exit {rc}: {err}")
t.check("reverse_proxy a:1 b:2" in out, f"both upstreams in the site: {out}")
t.check("reverse_proxy api:9000 api2:9000" in out, f"the path's upstreams: {out}")

# All 32 upstreams a site takes, in the default route and in one path.
many = [x for u in ups(32) for x in ("--upstream", u)]
rc, out, err = add(*many, "--path", "/p/*=" + ",".join(ups(32, "p")))
t.check(rc == 0, f"32 upstreams: exit {rc}: {err}")
t.check("h32:80" in out and "p32:80" in out, "the 32nd upstreams are kept, not cut")

# One more is the library's error, naming the limit: not a silent cut.
rc, out, err = add("--upstream", "a:1", "--path", "/p/*=" + ",".join(ups(33, "p")))
t.check(rc == 1 and "too many upstreams (33, at most 32)" in err,
        f"33 upstreams of a path: exit {rc}: {err}")
many = [x for u in ups(33) for x in ("--upstream", u)]
rc, out, err = add(*many)
t.check(rc == 1 and "too many upstreams (33, at most 32)" in err,
        f"33 upstreams: exit {rc}: {err}")

# 16 paths are taken; a 17th is an error that says so.
paths = [x for i in range(1, 17) for x in ("--path", f"/p{i}/*=h:80")]
rc, out, err = add("--upstream", "a:1", *paths)
t.check(rc == 0 and "handle /p16/*" in out, f"16 paths: exit {rc}: {err}")
rc, out, err = add("--upstream", "a:1", *paths, "--path", "/p17/*=h:80")
t.check(rc == 1 and "at most 16" in err, f"17 paths: exit {rc}: {err}")

# Usage errors: a malformed --path, a missing value, a missing host.
for args, want in ((["--upstream", "a:1", "--path", "/x"], "--path takes PATH=HOST:PORT"),
                   (["--upstream", "a:1", "--path", "/x="], "--path takes PATH=HOST:PORT"),
                   (["--upstream"], "--upstream needs a value"),
                   (["--upstream", "a:1", "--bogus", "1"], "unknown option")):
    rc, out, err = add(*args)
    t.check(rc == 2 and want in err, f"{args}: exit {rc}, wanted 2 and {want!r}: {err}")
rc, out, err = t.run(["--dry-run", "route", "add", "shop", "--upstream", "a:1"], env=env)
t.check(rc == 2 and "at least one hostname" in err, f"no host: exit {rc}: {err}")

# Nothing was written by any of it.
t.check(not os.path.exists(os.path.join(t.tmp, "caddy")), "a dry run wrote no site file")
t.finish()
