"""The HTTP API. Caddy sends /api/* here unchanged (the frontend gets the
rest), so the app is served under root_path /api: /api/items reaches the
items route, and the platform's health check asks /health directly."""
import io
import logging
import re
import uuid

from fastapi import Depends, FastAPI, HTTPException, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import storage
from .config import settings
from .db import get_session
from .models import Item, Upload
from .schemas import Health, ItemIn, ItemOut, UploadOut

log = logging.getLogger("app")
app = FastAPI(title="app-template", root_path="/api")


@app.get("/health", response_model=Health)
def health(session: Session = Depends(get_session)):
    """Healthy when PostgreSQL answers: the platform switches traffic to a
    new release only after this says ok."""
    try:
        session.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError as e:
        log.warning("health: database unreachable: %s", e.__class__.__name__)
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return {"status": "ok"}


@app.get("/items", response_model=list[ItemOut])
def list_items(limit: int = 100, session: Session = Depends(get_session)):
    limit = max(1, min(limit, 1000))
    return session.scalars(select(Item).order_by(Item.id.desc()).limit(limit)).all()


@app.post("/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
def create_item(item: ItemIn, session: Session = Depends(get_session)):
    row = Item(name=item.name, description=item.description)
    session.add(row)
    session.commit()
    return row


@app.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: int, session: Session = Depends(get_session)):
    row = session.get(Item, item_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id}")
    return row


@app.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: int, session: Session = Depends(get_session)):
    row = session.get(Item, item_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id}")
    session.delete(row)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _object_key(filename: str) -> str:
    """uploads/<uuid>/<name>: unique, and no client-chosen path reaches the
    bucket's key space as-is."""
    name = _UNSAFE.sub("_", filename.rsplit("/", 1)[-1]).strip("._")[:100] or "file"
    return f"uploads/{uuid.uuid4().hex}/{name}"


@app.post("/uploads", response_model=UploadOut, status_code=status.HTTP_201_CREATED)
async def create_upload(file: UploadFile, session: Session = Depends(get_session)):
    if not settings.storage_configured:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "object storage is not configured (S3_* are unset; previews have none)")
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"uploads are limited to {settings.max_upload_bytes} bytes")
    key = _object_key(file.filename or "")
    content_type = (file.content_type or "application/octet-stream")[:100]
    await run_in_threadpool(storage.client().put_object, Bucket=settings.s3_bucket, Key=key,
                            Body=io.BytesIO(data), ContentType=content_type)
    row = Upload(key=key, filename=(file.filename or "file")[:255], content_type=content_type)
    session.add(row)
    session.commit()
    _process_later(row.id)
    return row


@app.get("/uploads/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: int, session: Session = Depends(get_session)):
    row = session.get(Upload, upload_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no upload {upload_id}")
    return row


def _process_later(upload_id: int) -> None:
    """Queue the upload for the Celery worker; without one (USE_CELERY=0)
    process it in a thread of this process."""
    if settings.use_celery:
        from .worker import process
        process.delay(upload_id)
        return
    import threading
    from .processing import process_upload

    def run():
        try:
            process_upload(upload_id)
        except Exception:
            log.exception("processing upload %s failed", upload_id)
    threading.Thread(target=run, name=f"upload-{upload_id}", daemon=True).start()
