"""Attachments: content-addressed blobs, resumable uploads (tus), photos, documents and
customer signatures on work orders. See docs/attachments.md."""
