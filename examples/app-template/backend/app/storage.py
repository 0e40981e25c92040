"""The app's bucket (S3_ENDPOINT, S3_BUCKET and the app's own keys, which
reach only that bucket). Previews get no object storage: uploads there
answer 503."""
import boto3
from botocore.config import Config

from .config import settings


def client():
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        # MinIO, SeaweedFS and most self-hosted stores want path-style URLs.
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 3, "mode": "standard"}),
    )
