"""The public pages: ``/t/{token}`` (status) and ``/q/{token}`` (QR fault report)."""
