"""ASGI entry point for uvicorn: `uvicorn server.asgi:app`."""

from server.main import create_app

app = create_app()
