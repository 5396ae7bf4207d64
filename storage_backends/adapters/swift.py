"""OpenStack Swift (its own API) through django-storage-swift's SwiftStorage."""

import threading
from datetime import UTC

import swiftclient
from swiftclient.exceptions import ClientException

from storage_backends.adapters.base import BLOCK, BlockReader, GenericAdapter


class SwiftAdapter(GenericAdapter):
    def __init__(self, storage):
        super().__init__(storage)
        self.container = storage.container_name
        self.local = threading.local()

    @property
    def conn(self):
        """One swiftclient connection per thread (they are not thread-safe), set up like the storage's."""
        conn = getattr(self.local, "conn", None)
        if conn is None:
            s = self.storage
            s.swift_conn  # noqa: B018 - validates the settings and creates the container if asked
            conn = self.local.conn = swiftclient.Connection(
                authurl=s.api_auth_url,
                user=s.api_username,
                key=s.api_key,
                retries=s.max_retries,
                tenant_name=s.tenant_name,
                os_options=s.os_options,
                auth_version=s.auth_version,
            )
        return conn

    def key(self, name):
        return self.storage.name_prefix + name

    def _head(self, name):
        try:
            return self.conn.head_object(self.container, self.key(name))
        except ClientException as error:
            if error.http_status == 404:
                raise FileNotFoundError(name) from None
            raise

    def exists(self, name):
        try:
            self._head(name)
            return True
        except FileNotFoundError:
            return False

    def size(self, name):
        return int(self._head(name)["content-length"])

    def delete(self, name):
        try:
            self.conn.delete_object(self.container, self.key(name))
        except ClientException as error:
            if error.http_status != 404:
                raise

    def read(self, name, start=0, end=None, block=BLOCK):
        headers = {}
        if start or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            _, body = self.conn.get_object(self.container, self.key(name), resp_chunk_size=block, headers=headers)
        except ClientException as error:
            if error.http_status == 404:
                raise FileNotFoundError(name) from None
            raise
        yield from body

    def write(self, name, blocks):
        self.conn.put_object(self.container, self.key(name), BlockReader(blocks), chunk_size=BLOCK)

    def copy(self, source, target):
        self.conn.copy_object(self.container, self.key(source), destination=f"/{self.container}/{self.key(target)}")

    def list(self, prefix):
        folder = self.key(prefix).rstrip("/") + "/"
        _, items = self.conn.get_container(self.container, prefix=folder, delimiter="/", full_listing=True)
        return sorted(f"{prefix}/{item['name'][len(folder) :]}" for item in items if "name" in item)

    def walk(self, prefix):
        from datetime import datetime

        folder = self.key(prefix).rstrip("/") + "/"
        _, items = self.conn.get_container(self.container, prefix=folder, full_listing=True)
        for item in items:
            if "name" not in item:
                continue
            modified = datetime.fromisoformat(item["last_modified"]).replace(tzinfo=UTC).timestamp()
            yield f"{prefix.rstrip('/')}/{item['name'][len(folder) :]}", int(item["bytes"]), modified

    def check(self):
        self.conn.head_container(self.container)
