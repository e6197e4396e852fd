"""Attachments' HTTP face: the blob store of the app, for routers that read or write
bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.attachments.storage import BlobStore


async def get_blob_store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
