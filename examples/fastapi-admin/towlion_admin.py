"""towlion-admin: a small JSON API an operator runs on a Towlion server.

Endpoints (all but /health need ``Authorization: Bearer <token>``):

  GET    /health                         liveness, no token
  GET    /status                         doctor report and every app's status
  GET    /apps                           registered apps with their status
  GET    /apps/{app}                     one app: settings and status
  GET    /apps/{app}/releases            release history, newest first
  POST   /apps/{app}/deploy              {"path"} or {"git_url", "git_ref"}  -> job
  POST   /apps/{app}/rollback            {"release_id"?}                     -> job
  GET    /backups?database=D             backups on disk, newest first
  POST   /backups/run                    {"databases"?, "format"?}           -> job
  POST   /backups/verify                 {"backup", "deep"?}                 -> job
  GET    /previews?app=A                 previews
  POST   /apps/{app}/previews/{pr}       {"path"} or {"git_url", "git_ref"}  -> job
  DELETE /apps/{app}/previews/{pr}                                            -> job
  GET    /jobs                           recent jobs
  GET    /jobs/{id}                      state, progress events, result or error
  POST   /jobs/{id}/cancel               ask a running job to stop

Long operations run in worker threads, each with its own towlion.Context
whose event callback records the job's progress and cancels it on request:
a POST answers 202 with the job at once. It uses only the ``towlion`` module.

Configuration (environment):
  TOWLION_ADMIN_TOKEN        the bearer token, or
  TOWLION_ADMIN_TOKEN_FILE   a file holding it (must not be readable by
                             group or others)
  TOWLION_ADMIN_CONFIG       the towlion config file (default: the CLI's)
  TOWLION_ADMIN_WORKERS      worker threads for jobs (default 2)
"""

from __future__ import annotations

import collections
import hmac
import os
import stat
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

import towlion

MAX_EVENTS = 300   # progress events kept per job
MAX_JOBS = 200     # finished jobs kept


@dataclass
class Settings:
    """How the service runs: its token, the towlion configuration, workers."""

    token: str
    config_path: Optional[str] = None
    use_config_file: bool = True
    config: Dict[str, str] = field(default_factory=dict)
    workers: int = 2

    @classmethod
    def from_env(cls, env: Optional[Dict[str, str]] = None) -> "Settings":
        """Settings from TOWLION_ADMIN_* variables; refuses to run without a
        token, or with a token file others can read."""
        env = dict(os.environ if env is None else env)
        token = env.get("TOWLION_ADMIN_TOKEN", "")
        path = env.get("TOWLION_ADMIN_TOKEN_FILE")
        if not token and path:
            mode = os.stat(path).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise RuntimeError(f"{path}: the token file must be mode 0600 or stricter")
            with open(path) as f:
                token = f.read().strip()
        if len(token) < 16:
            raise RuntimeError("set TOWLION_ADMIN_TOKEN or TOWLION_ADMIN_TOKEN_FILE "
                               "(at least 16 characters)")
        return cls(token=token, config_path=env.get("TOWLION_ADMIN_CONFIG"),
                   workers=int(env.get("TOWLION_ADMIN_WORKERS", "2")))

    def context(self, on_event: Optional[Callable[[towlion.Event], Any]] = None
                ) -> towlion.Context:
        """A new context (one per request or job: contexts are per thread)."""
        return towlion.Context(self.config_path, use_config_file=self.use_config_file,
                               on_event=on_event, config=self.config)


# ---- jobs ----------------------------------------------------------------------------

def error_dict(e: BaseException) -> Dict[str, Any]:
    """An exception as JSON: the towlion class, message, error class, upstream."""
    if isinstance(e, towlion.TowlionError):
        return {"type": type(e).__name__, "message": e.message,
                "class_name": e.class_name, "upstream": e.upstream}
    return {"type": type(e).__name__, "message": str(e), "class_name": "", "upstream": ""}


class Job:
    """One long operation: its state, progress events and outcome."""

    def __init__(self, kind: str, target: str):
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.target = target
        self.state = "queued"  # running, succeeded, failed, cancelled
        self.created = time.time()
        self.started: Optional[float] = None
        self.finished: Optional[float] = None
        self.events: Deque[Dict[str, Any]] = collections.deque(maxlen=MAX_EVENTS)
        self.result: Any = None
        self.error: Optional[Dict[str, Any]] = None
        self.cancel_requested = threading.Event()
        self._lock = threading.Lock()

    def on_event(self, ev: towlion.Event) -> bool:
        """The context's callback: record the event; True cancels the job."""
        with self._lock:
            self.events.append({"time": time.time(), "type": ev.type, "level": ev.level,
                                "message": ev.message, "step": ev.step, "done": ev.done,
                                "total": ev.total, "subject": ev.subject})
        return self.cancel_requested.is_set()

    def to_dict(self, events: bool = True) -> Dict[str, Any]:
        with self._lock:
            evs = list(self.events)
        d = {"id": self.id, "kind": self.kind, "target": self.target, "state": self.state,
             "created": self.created, "started": self.started, "finished": self.finished,
             "result": self.result, "error": self.error,
             "step": next((e["step"] for e in reversed(evs) if e["type"] == "step"), None),
             "progress": next(({"done": e["done"], "total": e["total"]}
                               for e in reversed(evs) if e["type"] == "progress"), None)}
        if events:
            d["events"] = evs
        return d


class Jobs:
    """The job registry and its worker threads."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._jobs: "collections.OrderedDict[str, Job]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=settings.workers,
                                        thread_name_prefix="towlion-job")

    def submit(self, kind: str, target: str, fn: Callable[[towlion.Context], Any]) -> Job:
        job = Job(kind, target)
        with self._lock:
            self._jobs[job.id] = job
            self._prune()
        self._pool.submit(self._run, job, fn)
        return job

    def _run(self, job: Job, fn: Callable[[towlion.Context], Any]) -> None:
        job.state, job.started = "running", time.time()
        try:
            if job.cancel_requested.is_set():
                raise towlion.Cancelled("cancelled before it started")
            with self._settings.context(on_event=job.on_event) as ctx:
                job.result = fn(ctx)
            job.state = "succeeded"
        except towlion.Cancelled as e:
            job.state, job.error = "cancelled", error_dict(e)
        except Exception as e:  # a job's failure is its outcome, not a crash
            job.state, job.error = "failed", error_dict(e)
        finally:
            job.finished = time.time()

    def _prune(self) -> None:
        done = [j for j in self._jobs.values() if j.finished is not None]
        for j in done[:max(0, len(self._jobs) - MAX_JOBS)]:
            del self._jobs[j.id]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job

    def list(self) -> List[Job]:
        with self._lock:
            return list(self._jobs.values())

    def shutdown(self) -> None:
        for j in self.list():
            j.cancel_requested.set()
        self._pool.shutdown(wait=True)


# ---- request bodies --------------------------------------------------------------------

class SourceBody(BaseModel):
    path: Optional[str] = None
    git_url: Optional[str] = None
    git_ref: Optional[str] = None
    health_timeout_ms: Optional[int] = None


class PreviewBody(SourceBody):
    repo: Optional[str] = None


class RollbackBody(BaseModel):
    release_id: Optional[str] = None
    health_timeout_ms: Optional[int] = None


class BackupRunBody(BaseModel):
    databases: Optional[List[str]] = None
    format: str = "custom"


class VerifyBody(BaseModel):
    backup: str
    deep: bool = False


STATUS_OF = [  # most specific first
    (towlion.InvalidArgument, 400), (towlion.NotFound, 404), (towlion.Conflict, 409),
    (towlion.Locked, 409), (towlion.Unhealthy, 422), (towlion.AuthError, 502),
    (towlion.Unavailable, 503), (towlion.Timeout, 504),
]


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """The FastAPI application (settings: from the environment by default)."""
    settings = settings or Settings.from_env()
    jobs = Jobs(settings)
    app = FastAPI(title="towlion-admin", version=towlion.__version__)
    app.state.settings = settings
    app.state.jobs = jobs
    bearer = HTTPBearer(auto_error=False)

    def auth(cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        given = cred.credentials if cred and cred.scheme.lower() == "bearer" else ""
        if not hmac.compare_digest(given.encode(), settings.token.encode()):
            raise HTTPException(401, "a valid bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(towlion.TowlionError)
    def towlion_error(request: Any, e: towlion.TowlionError) -> JSONResponse:
        code = next((c for cls, c in STATUS_OF if isinstance(e, cls)), 500)
        return JSONResponse(status_code=code, content={"error": error_dict(e)})

    @app.on_event("shutdown")
    def stop_jobs() -> None:
        jobs.shutdown()

    def accepted(job: Job) -> JSONResponse:
        return JSONResponse(status_code=202, content=job.to_dict(events=False),
                            headers={"Location": f"/jobs/{job.id}"})

    def status_or_none(ctx: towlion.Context, name: str) -> Optional[Dict[str, Any]]:
        try:
            return ctx.deploys.status(name)
        except towlion.TowlionError as e:
            return {"error": error_dict(e)}

    @app.get("/health")
    def health() -> Dict[str, str]:
        return {"status": "ok"}

    @app.get("/status", dependencies=[Depends(auth)])
    def platform_status() -> Dict[str, Any]:
        with settings.context() as ctx:
            apps = [{"name": a["name"], "status": status_or_none(ctx, a["name"])}
                    for a in ctx.apps.list()]
            return {"doctor": ctx.platform.doctor(), "apps": apps}

    @app.get("/apps", dependencies=[Depends(auth)])
    def apps_list() -> List[Dict[str, Any]]:
        with settings.context() as ctx:
            return [dict(a, status=status_or_none(ctx, a["name"])) for a in ctx.apps.list()]

    @app.get("/apps/{name}", dependencies=[Depends(auth)])
    def app_show(name: str) -> Dict[str, Any]:
        with settings.context() as ctx:
            return dict(ctx.apps.show(name), status=status_or_none(ctx, name))

    @app.get("/apps/{name}/releases", dependencies=[Depends(auth)])
    def releases(name: str) -> List[Dict[str, Any]]:
        with settings.context() as ctx:
            return ctx.deploys.releases(name)

    @app.post("/apps/{name}/deploy", dependencies=[Depends(auth)], status_code=202)
    def deploy(name: str, body: SourceBody) -> JSONResponse:
        with settings.context() as ctx:
            ctx.apps.show(name)  # 404 now rather than a failed job
        return accepted(jobs.submit("deploy", name, lambda ctx: ctx.deploys.deploy(
            name, body.path, git_url=body.git_url, git_ref=body.git_ref,
            health_timeout_ms=body.health_timeout_ms, requested_by="towlion-admin")))

    @app.post("/apps/{name}/rollback", dependencies=[Depends(auth)], status_code=202)
    def rollback(name: str, body: RollbackBody) -> JSONResponse:
        with settings.context() as ctx:
            ctx.apps.show(name)
        return accepted(jobs.submit("rollback", name, lambda ctx: ctx.deploys.rollback(
            name, body.release_id, health_timeout_ms=body.health_timeout_ms,
            requested_by="towlion-admin")))

    @app.get("/backups", dependencies=[Depends(auth)])
    def backups_list(database: Optional[List[str]] = Query(None)) -> List[Dict[str, Any]]:
        with settings.context() as ctx:
            return ctx.backups.list(database)

    @app.post("/backups/run", dependencies=[Depends(auth)], status_code=202)
    def backups_run(body: BackupRunBody) -> JSONResponse:
        target = ",".join(body.databases or ["all"])
        return accepted(jobs.submit("backup.run", target, lambda ctx: ctx.backups.run(
            body.databases, format=body.format)))

    @app.post("/backups/verify", dependencies=[Depends(auth)], status_code=202)
    def backups_verify(body: VerifyBody) -> JSONResponse:
        return accepted(jobs.submit("backup.verify", body.backup, lambda ctx:
                                    ctx.backups.verify(body.backup, deep=body.deep)))

    @app.get("/previews", dependencies=[Depends(auth)])
    def previews_list(app_name: Optional[str] = Query(None, alias="app")
                      ) -> List[Dict[str, Any]]:
        with settings.context() as ctx:
            return ctx.previews.list(app_name)

    @app.post("/apps/{name}/previews/{pr}", dependencies=[Depends(auth)], status_code=202)
    def preview_up(name: str, pr: int, body: PreviewBody) -> JSONResponse:
        towlion.validate_pr(pr)
        return accepted(jobs.submit("preview.up", f"{name}#{pr}", lambda ctx:
                                    ctx.previews.up(name, pr, body.path, git_url=body.git_url,
                                                    git_ref=body.git_ref, repo=body.repo,
                                                    health_timeout_ms=body.health_timeout_ms)))

    @app.delete("/apps/{name}/previews/{pr}", dependencies=[Depends(auth)], status_code=202)
    def preview_down(name: str, pr: int) -> JSONResponse:
        towlion.validate_pr(pr)
        return accepted(jobs.submit("preview.down", f"{name}#{pr}", lambda ctx:
                                    {"existed": ctx.previews.down(name, pr)}))

    @app.get("/jobs", dependencies=[Depends(auth)])
    def jobs_list() -> List[Dict[str, Any]]:
        return [j.to_dict(events=False) for j in jobs.list()]

    @app.get("/jobs/{job_id}", dependencies=[Depends(auth)])
    def job_show(job_id: str) -> Dict[str, Any]:
        return jobs.get(job_id).to_dict()

    @app.post("/jobs/{job_id}/cancel", dependencies=[Depends(auth)], status_code=202)
    def job_cancel(job_id: str) -> Dict[str, Any]:
        job = jobs.get(job_id)
        job.cancel_requested.set()
        return job.to_dict(events=False)

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn towlion_admin:app` builds the app from the environment on
    # first use, so importing this module for create_app() needs no token.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
