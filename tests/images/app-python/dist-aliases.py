"""Record an installed distribution under a second name (NAME=INSTALLED).

PyPI publishes some modules under several distribution names (psycopg2 as
the prebuilt wheel psycopg2-binary); Debian installs one of them. A
.dist-info directory with the same version makes pip see the other name as
installed too. It lists no files: `pip uninstall` of the alias removes
nothing of the real package.
"""
import importlib.metadata
import pathlib
import sys
import sysconfig

for arg in sys.argv[1:]:
    alias, _, real = arg.partition("=")
    version = importlib.metadata.version(real)
    site = pathlib.Path(sysconfig.get_paths()["purelib"])
    info = site / f"{alias.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {alias}\nVersion: {version}\n"
        f"Summary: alias of {real} {version} (installed by Debian)\n")
    (info / "INSTALLER").write_text("towlion-test\n")
    (info / "RECORD").write_text("")
    print(f"{alias} {version} -> {real}")
