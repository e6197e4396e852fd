"""Attachments: content-addressed blobs, resumable uploads (tus), photos, documents and
customer signatures on work orders. See docs/attachments.md."""

from server.attachments import images, service
from server.attachments.models import Attachment, AttachmentStatus, Blob, Role, Signature
from server.attachments.service import visit_check
from server.attachments.storage import BlobStore

__all__ = [
    "Attachment",
    "AttachmentStatus",
    "Blob",
    "BlobStore",
    "Role",
    "Signature",
    "images",
    "service",
    "visit_check",
]
