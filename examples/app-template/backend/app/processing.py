"""What happens to an upload after the request: read it back from the
bucket, record its size and SHA-256, and email someone about it. Run by the
Celery worker, or in the API process when USE_CELERY=0 (no worker)."""
import hashlib

from . import mail, storage
from .config import settings
from .db import SessionLocal
from .models import Upload, UploadResult


def process_upload(upload_id: int) -> dict:
    """Idempotent: a task run twice (a worker killed after the row, before
    the acknowledgement), or twice at once, records one result and sends
    one email. Each step locks the upload's row; the result is committed
    before the email, so a provider that is down delays only the email (the
    task is retried)."""
    with SessionLocal() as session:
        upload = session.get(Upload, upload_id, with_for_update=True)
        if upload is None:
            return {"upload_id": upload_id, "status": "gone"}
        if upload.result is None:
            digest, size = hashlib.sha256(), 0
            obj = storage.client().get_object(Bucket=settings.s3_bucket, Key=upload.key)
            for chunk in obj["Body"].iter_chunks(64 * 1024):
                digest.update(chunk)
                size += len(chunk)
            session.add(UploadResult(upload_id=upload.id, size=size, sha256=digest.hexdigest()))
        session.commit()

        upload = session.get(Upload, upload_id, with_for_update=True, populate_existing=True)
        result = upload.result
        if not result.emailed and settings.email_configured:
            mail.send(f"Upload processed: {upload.filename}",
                      f"{upload.filename} ({result.size} bytes)\nsha256 {result.sha256}\n")
            result.emailed = True
        session.commit()
        return {"upload_id": upload_id, "size": result.size, "sha256": result.sha256,
                "emailed": result.emailed}
