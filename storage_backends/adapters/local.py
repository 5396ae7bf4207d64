"""The filesystem: paths, appends in place, atomic renames, sendfile-able files."""

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
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.partial-{os.getpid()}"
        try:
            with open(partial, "wb") as fh:
                for block in blocks:
                    fh.write(block)
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def move(self, source, target):
        dst = self.local_path(target)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(self.local_path(source), dst)

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
