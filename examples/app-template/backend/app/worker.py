"""The Celery app. Its broker is the app's own Redis user (REDIS_URL), whose
ACL reaches only keys and channels under REDIS_KEY_PREFIX (`shop:`, and
`shop-pr-7:` in a preview): kombu's global_keyprefix puts every key there.

Run it: celery -A app.worker worker --without-gossip --without-mingle
--without-heartbeat (the three use broadcast channels and are not needed by
one worker; the tenant's ACL would refuse the ones outside its prefix).
"""
from celery import Celery

from .config import settings
from .processing import process_upload

celery = Celery("app")
celery.conf.update(
    broker_url=settings.redis_url or "redis://localhost:6379/0",
    broker_transport_options={"global_keyprefix": settings.redis_key_prefix},
    broker_connection_retry_on_startup=True,
    # Results go to PostgreSQL (upload_results), not to a result backend.
    task_ignore_result=True,
    task_default_queue="uploads",
    # Acknowledge after the task ran: a worker killed halfway leaves the
    # message to the next one (process_upload is idempotent).
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    # Remote control (celery inspect/control) uses broadcast channels.
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    worker_hijack_root_logger=False,
)


@celery.task(name="uploads.process", bind=True, max_retries=5, default_retry_delay=10)
def process(self, upload_id: int) -> dict:
    try:
        return process_upload(upload_id)
    except Exception as e:  # a provider or the bucket down: try again later
        raise self.retry(exc=e)
