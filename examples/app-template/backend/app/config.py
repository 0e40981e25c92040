"""Settings from the environment the platform gives the containers.

The platform writes DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX and S3_* into
the app's environment (`towlion db|redis|s3 app create`); the app's own
secrets (EMAIL_API_KEY...) come from `towlion env set`. Locally, copy
.env.example to .env.
"""
import os
from dataclasses import dataclass


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    redis_key_prefix: str
    s3_endpoint: str
    s3_region: str
    s3_bucket: str
    s3_access_key: str
    s3_secret_key: str
    email_api_url: str
    email_api_key: str
    email_from: str
    email_to: str
    use_celery: bool
    max_upload_bytes: int

    @property
    def storage_configured(self) -> bool:
        return bool(self.s3_endpoint and self.s3_bucket and self.s3_access_key and self.s3_secret_key)

    @property
    def email_configured(self) -> bool:
        return bool(self.email_api_url and self.email_api_key and self.email_from and self.email_to)


def load() -> Settings:
    url = _env("DATABASE_URL")
    # SQLAlchemy names the driver in the scheme; the platform writes the
    # plain postgresql:// URL every client understands.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return Settings(
        database_url=url,
        redis_url=_env("REDIS_URL"),
        redis_key_prefix=_env("REDIS_KEY_PREFIX"),
        s3_endpoint=_env("S3_ENDPOINT"),
        s3_region=_env("S3_REGION", "us-east-1"),
        s3_bucket=_env("S3_BUCKET"),
        s3_access_key=_env("S3_ACCESS_KEY"),
        s3_secret_key=_env("S3_SECRET_KEY"),
        email_api_url=_env("EMAIL_API_URL", "https://api.postmarkapp.com").rstrip("/"),
        email_api_key=_env("EMAIL_API_KEY"),
        email_from=_env("EMAIL_FROM"),
        email_to=_env("EMAIL_TO"),
        use_celery=_env("USE_CELERY", "1") not in ("0", "false", "no", ""),
        max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
    )


settings = load()
