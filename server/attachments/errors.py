"""The attachment domain's problems (each an AppError, rendered as problem+json)."""

from __future__ import annotations

from server.errors import AppError, Conflict, PreconditionFailed, Unprocessable


class UploadGone(AppError):
    """Expired, or refused at the end: the bytes were discarded; create a new upload."""

    status, code, title = 410, "upload_gone", "Upload gone"


class OffsetMismatch(Conflict):
    code, title = "offset_mismatch", "Upload-Offset does not match"


class UploadBusy(Conflict):
    code, title = "upload_busy", "Another request is writing this upload"


class HashMismatch(Unprocessable):
    code, title = "hash_mismatch", "The bytes do not match the declared SHA-256"


class UnsupportedType(Unprocessable):
    code, title = "unsupported_type", "File type not accepted"


class ImageTooLarge(Unprocessable):
    code, title = "image_too_large", "Image has too many pixels"


class TusVersionUnsupported(PreconditionFailed):
    code, title = "tus_version_unsupported", "Unsupported tus version"


class NotReady(Conflict):
    code, title = "not_ready", "Not available yet"
