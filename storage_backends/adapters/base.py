"""The adapter interface, implemented with the plain Django Storage API."""

from django.core.files import File

BLOCK = 1024 * 1024


class BlockReader:
    """A read()-able, non-seekable view of an iterator of byte blocks."""

    def __init__(self, blocks):
        self.blocks = iter(blocks)
        self.pending = b""
        self.position = 0

    def read(self, size=-1):
        if size is None or size < 0:
            out = self.pending + b"".join(self.blocks)
            self.pending = b""
        else:
            # Joined once: request bodies arrive as socket reads (~100 KiB) and the SDKs read parts of
            # several MiB; growing one bytes object block by block copied it again for every block.
            parts, have = [self.pending], len(self.pending)
            while have < size:
                block = next(self.blocks, None)
                if block is None:
                    break
                parts.append(block)
                have += len(block)
            joined = b"".join(parts)
            out, self.pending = joined[:size], joined[size:]
        self.position += len(out)
        return out

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        if whence != 0 or offset != self.position:
            raise OSError("stream is not seekable")
        return self.position

    def seekable(self):
        return False

    def readable(self):
        return True

    def close(self):
        close = getattr(self.blocks, "close", None)
        if close:
            close()  # a generator over an HTTP response releases its connection

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GenericAdapter:
    """Any Django storage: correct, but reads may buffer and copies stream through us."""

    supports_append = False

    def __init__(self, storage):
        self.storage = storage

    def local_path(self, name):
        return None

    def exists(self, name):
        return self.storage.exists(name)

    def size(self, name):
        return self.storage.size(name)

    def delete(self, name):
        self.storage.delete(name)

    def read(self, name, start=0, end=None, block=BLOCK):
        """Yield bytes start..end (inclusive; end=None to the end of the object)."""
        with self.storage.open(name, "rb") as fh:
            fh.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                data = fh.read(block if remaining is None else min(block, remaining))
                if not data:
                    return
                if remaining is not None:
                    remaining -= len(data)
                yield data

    def write(self, name, blocks):
        """Store an object from an iterator of blocks, streamed."""
        self.delete(name)
        self.storage.save(name, File(BlockReader(blocks), name=name))

    def copy(self, source, target):
        self.write(target, self.read(source))

    def concat(self, sources, target):
        self.write(target, (block for source in sources for block in self.read(source)))

    def list(self, prefix):
        """Names of the objects directly under the folder `prefix`."""
        try:
            _, files = self.storage.listdir(prefix)
        except FileNotFoundError:
            return []
        return sorted(f"{prefix}/{name.rsplit('/', 1)[-1]}" for name in files)

    def walk(self, prefix):
        """Yield (name, size, modified epoch seconds) of every object under the folder `prefix`, recursively."""
        stack = [prefix.rstrip("/")]
        while stack:
            folder = stack.pop()
            try:
                dirs, files = self.storage.listdir(folder)
            except FileNotFoundError:
                continue
            stack.extend(f"{folder}/{d.rstrip('/')}" for d in dirs)
            for name in files:
                full = f"{folder}/{name.rsplit('/', 1)[-1]}"
                try:
                    yield full, self.storage.size(full), self.storage.get_modified_time(full).timestamp()
                except FileNotFoundError:
                    continue

    def url(self, name, expires):
        return None

    def check(self):
        """Raise if the storage can't be reached (used at start-up and by /readyz)."""
        self.storage.exists("berth-health-check")
