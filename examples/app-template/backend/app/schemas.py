"""What the API reads and answers (Pydantic v2)."""
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_at: datetime


class UploadResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    size: int
    sha256: str
    emailed: bool
    processed_at: datetime


class UploadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    filename: str
    content_type: str
    created_at: datetime
    result: UploadResultOut | None = None


class Health(BaseModel):
    status: str
