"""A loop of everything that allocates in the module without services
(contexts, handles, lists, records, errors, callbacks, options with lists,
a context left to the garbage collector), run under valgrind by the
python.valgrind test: no block may be definitely lost."""
import shutil
import tempfile, towlion
d = tempfile.mkdtemp()
cfg = {"TOWLION_STATE_DIR": d + "/state", "TOWLION_DATA_DIR": d, "TOWLION_CADDY_DIR": d + "/caddy"}
for i in range(20):
    with towlion.Context(use_env=False, use_config_file=False, config=cfg) as c:
        c.on_event = lambda ev: None
        if i == 0:
            c.apps.create("leak", ["leak.example.com"])
        c.apps.list(); c.apps.show("leak")
        try: c.apps.show("none")
        except towlion.NotFound: pass
        try: c.apps.create("Bad")
        except towlion.InvalidArgument: pass
        c.config(); c.routes.render("s", ["s.example.com"], ["127.0.0.1:1"], paths=[{"path": "/a/*", "upstreams": ["127.0.0.1:2"]}])
        c.platform.compose(); c.platform.init(root=d + f"/r{i}", no_docker=True)
        with towlion.EnvFile(text="A=1\n") as e: e["B"] = "2"; e.render()
        c.env.set("leak", {"A": "1", "B": "x\ny"}, production_only=i % 2 == 0)   # app settings (envcfg)
        c.env.list("leak", show=True); c.env.render("leak"); c.env.unset("leak", ["A"])
        try: c.env.set("leak", {"OK": "1", "DATABASE_URL": "x"})
        except towlion.InvalidArgument: pass
        try: c.deploys.deploy("leak", d, lock_timeout_ms=-1)
        except towlion.TowlionError: pass
        try: c.platform.status()   # the platform at a glance, with no service to ask
        except towlion.TowlionError: pass
    c2 = towlion.Context(use_env=False, use_config_file=False)   # freed by GC, not close()
    del c2
shutil.rmtree(d, ignore_errors=True)
print("done")
