"""The filesystem: paths, appends in place, atomic and fsynced renames, plain files to serve."""

import os
import shutil

from storage_backends.adapters.base import GenericAdapter


class LocalAdapter(GenericAdapter):
    supports_append = True

    def local_path(self, name):
        return self.storage.path(name)

    def exists(self, name):
        return os.path.exists(self.local_path(name))

    def size(self, name):
        return os.path.getsize(self.local_path(name))

    def delete(self, name):
        path = self.local_path(name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def write(self, name, blocks):
        path = self.local_path(name)
        new_folder = _make_folders(os.path.dirname(path))
        partial = f"{path}.partial-{os.getpid()}"
        try:
            with open(partial, "wb") as fh:
                for block in blocks:
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, path)
            _sync_folders(path, new_folder)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def create_empty(self, name):
        """An empty file to append to, not synced: staged bytes are made durable when they move into place."""
        path = self.local_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()

    def move(self, source, target):
        """Rename into place, durably: the bytes reach the disk before the name does, the name before we return."""
        src, dst = self.local_path(source), self.local_path(target)
        new_folder = _make_folders(os.path.dirname(dst))
        _fsync(src)
        os.replace(src, dst)
        _sync_folders(dst, new_folder)

    def copy(self, source, target):
        self.write(target, self.read(source))

    def list(self, prefix):
        folder = self.local_path(prefix)
        try:
            return sorted(f"{prefix}/{name}" for name in os.listdir(folder))
        except FileNotFoundError:
            return []

    def walk(self, prefix):
        root = self.local_path(prefix)
        for folder, _, files in os.walk(root):
            rel = os.path.relpath(folder, self.storage.location)
            for name in files:
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                yield f"{rel}/{name}".replace(os.sep, "/"), st.st_size, st.st_mtime

    def check(self):
        root = self.storage.location
        os.makedirs(root, exist_ok=True)
        if not os.access(root, os.W_OK):
            raise PermissionError(f"storage folder {root} is not writable")


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_folders(folder):
    """makedirs(folder); returns the topmost folder it created, or None when `folder` existed."""
    folder = os.path.abspath(folder)
    top, probe = None, folder
    while not os.path.isdir(probe):
        top, probe = probe, os.path.dirname(probe)
    os.makedirs(folder, exist_ok=True)
    return top


def _sync_folders(path, new_folder=None):
    """Make `path`'s name durable: fsync its folder and, when folders were created for it, each
    parent up to the one that already existed (a new folder's own name lives in its parent)."""
    folder = os.path.dirname(os.path.abspath(path))
    stop = os.path.dirname(new_folder) if new_folder else folder
    while True:
        _fsync(folder)
        if folder == stop or folder == os.path.dirname(folder):
            return
        folder = os.path.dirname(folder)
