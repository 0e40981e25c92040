"""Record what Debian installed under the name PyPI gives it.

NAME=INSTALLED: PyPI publishes some modules under several distribution
names (psycopg2 as the prebuilt wheel psycopg2-binary); Debian installs one
of them. NAME==VERSION: what a PyPI package carries Debian ships outside
Python (the tzdata wheel is the tz database, which Debian's zoneinfo reads
from /usr/share/zoneinfo). A .dist-info directory makes pip see NAME as
installed. It lists no files: `pip uninstall` of it removes nothing.
"""
import importlib.metadata
import pathlib
import sys
import sysconfig

for arg in sys.argv[1:]:
    if "==" in arg:
        alias, _, version = arg.partition("==")
        real = "Debian's package"
    else:
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
