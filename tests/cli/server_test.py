"""towlion server bootstrap: every hostile or bad option is refused before
anything reaches a server (the target 127.0.0.1:1 refuses connections, so
an option that got through would fail with "cannot connect", exit 5), and
--host names the server to bootstrap instead of running remotely."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from clitest import Test  # noqa: E402

t = Test("server")
env = {k: v for k, v in os.environ.items() if not k.startswith("TOWLION_")}
key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0b3dsaW9uLXRlc3Qta2V5LW5vdC1yZWFsLTAw op"
base = ["server", "bootstrap", "--host", "root@127.0.0.1:1", "--known-hosts", os.devnull]

deb = os.path.join(t.tmp, "towlion_1_amd64.deb")
with open(deb, "wb") as f:
    f.write(b"!<arch>\n")
empty = os.path.join(t.tmp, "empty")
os.mkdir(empty)
forced = os.path.join(t.tmp, "forced.pub")
with open(forced, "w") as f:
    f.write('command="sh",no-pty ' + key + "\n")
pub = os.path.join(t.tmp, "deploy.pub")
with open(pub, "w") as f:
    f.write(key + "\n")

refused = [
    # a second authorized_keys line smuggled in after the key
    (["--deploy-key", key + "\nssh-ed25519 AAAAother attacker"], 1, "deploy key"),
    # authorized_keys options: a forced command, a from= widening
    (["--deploy-key", forced], 1, "deploy key"),
    (["--deploy-key", "from=\"*\" " + key], 3, "deploy-key"),  # not a key: read as a file
    # a config line that would add a second key (newline) or an unknown key
    (["--config", "TOWLION_DOMAIN=a.example\nTOWLION_PG_URL=postgres://evil"], 1, "config"),
    (["--config", "FOO=1"], 1, "FOO"),
    (["--config", "TOWLION_DOMAIN"], 1, "KEY=VALUE"),
    # a user name the shell or sudoers would read as more than a name
    (["--deploy-user", "root ALL=(ALL)", "--deploy-key", key], 1, "deploy user"),
    (["--deploy-user", "-o", "--deploy-key", key], 1, "deploy user"),
    (["--image", "caddy"], 1, "SERVICE=IMAGE"),
    (["--images", os.path.join(t.tmp, "missing.tar")], 3, "missing.tar"),
    (["--packages", empty], 3, "no .deb"),
    (["--packages", os.path.join(t.tmp, "nodir")], 3, "cannot open"),
    (["--ssh-port", "70000"], 2, "--ssh-port"),
    # package sources the server takes itself: an absolute path without
    # "..", or an http(s) URL naming a .deb; nothing the scripts misread
    (["--packages-from", "debs/towlion.deb"], 1, "package source"),
    (["--packages-from", "/srv/../etc/shadow"], 1, "package source"),
    (["--packages-from", "/srv/debs/.."], 1, "package source"),
    (["--packages-from", "/srv/a b.deb"], 1, "package source"),
    (["--packages-from", "/srv/x.deb\nrm -rf /"], 1, "package source"),
    (["--packages-from", "ftp://example.com/towlion.deb"], 1, "package source"),
    (["--packages-from", "https://example.com/towlion.deb?x=1"], 1, "package source"),
    (["--packages-from", "https://example.com/towlion.tar"], 1, "package source"),
    (["--packages-from", "https://example.com.deb"], 1, "package source"),
    (["--packages-from", "https:///towlion.deb"], 1, "package source"),
]
for extra, want, words in refused:
    rc, out, err = t.run(base + extra, env=env)
    t.check(rc == want and words in err and "cannot connect" not in err,
            f"{extra!r}: exit {rc} (want {want}), stderr {err.strip()!r}")

rc, out, err = t.run(["server", "bootstrap"], env=env)
t.check(rc == 2 and "--host" in err, f"no --host: exit {rc}, {err.strip()!r}")

# Good options get as far as connecting: --host is not handed to the
# remote runner (which would say "towlion was not found"), --config
# KEY=VALUE is the verb's, not the global config file.
good = ["--deploy-key", pub, "--config", "TOWLION_DOMAIN=a.example", "--packages", t.tmp,
        "--image", "caddy=caddy:2", "--packages-from", "/srv/debs",
        "--packages-from", "https://example.com/r/towlion_0.2.0_amd64.deb"]
rc, out, err = t.run(base + good, env=env)
t.check(rc == 5 and "cannot connect to root@127.0.0.1:1" in err,
        f"good options: exit {rc}, {err.strip()!r}")
rc, doc, err = t.json(["--dry-run"] + base + good, env=env)
t.check(rc == 5 and doc and doc.get("error", {}).get("code"),
        f"--json --dry-run: exit {rc}, {doc}")
t.finish()
