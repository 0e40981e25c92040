"""The template's API: FastAPI on SQLAlchemy 2, PostgreSQL, S3, Celery."""
