"""``Storage`` on the file system, the same on every platform once the platform has said
where its private folder is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

PHOTOS = "photos"


class FolderStorage(ABC):
    """The store in ``root()``, photos in ``root()/photos``; both created on first ask."""

    @abstractmethod
    def root(self) -> Path:
        """The app's private folder on this platform."""

    def data_dir(self) -> Path:
        path = self.root()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def photos_dir(self) -> Path:
        path = self.data_dir() / PHOTOS
        path.mkdir(exist_ok=True)
        return path
