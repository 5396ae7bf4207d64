"""Azure Blob Storage (and Azurite) through django-storages' AzureStorage."""

from datetime import timedelta

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, generate_blob_sas
from django.utils import timezone

from storage_backends.adapters.base import BLOCK, BlockReader, GenericAdapter


class AzureAdapter(GenericAdapter):
    def __init__(self, storage):
        super().__init__(storage)
        self.container = storage.client

    def blob(self, name):
        return self.container.get_blob_client(self.storage._get_valid_path(name))

    def exists(self, name):
        return self.blob(name).exists()

    def size(self, name):
        try:
            return self.blob(name).get_blob_properties().size
        except ResourceNotFoundError:
            raise FileNotFoundError(name) from None

    def delete(self, name):
        try:
            self.blob(name).delete_blob()
        except ResourceNotFoundError:
            pass

    def read(self, name, start=0, end=None, block=BLOCK):
        length = None if end is None else end - start + 1
        try:
            offset = start if (start or length is not None) else None
            stream = self.blob(name).download_blob(offset=offset, length=length, max_concurrency=1)
        except ResourceNotFoundError:
            raise FileNotFoundError(name) from None
        yield from stream.chunks()

    def write(self, name, blocks):
        self.blob(name).upload_blob(BlockReader(blocks), overwrite=True, max_concurrency=1)

    def copy(self, source, target):
        self.write(target, self.read(source))

    def list(self, prefix):
        folder = self.storage._get_valid_path(prefix).rstrip("/") + "/"
        location = self.storage._get_valid_path("")
        names = []
        for item in self.container.walk_blobs(name_starts_with=folder, delimiter="/"):
            if not item.name.endswith("/"):
                names.append(item.name[len(location) :].lstrip("/"))
        return sorted(names)

    def walk(self, prefix):
        folder = self.storage._get_valid_path(prefix).rstrip("/") + "/"
        location = self.storage._get_valid_path("")
        for item in self.container.list_blobs(name_starts_with=folder):
            name = item.name[len(location) :].lstrip("/")
            yield name, item.size, item.last_modified.timestamp()

    def url(self, name, expires):
        account = self.container.account_name
        key = self.storage.account_key
        if not key:
            return None
        blob = self.blob(name)
        token = generate_blob_sas(
            account_name=account,
            container_name=blob.container_name,
            blob_name=blob.blob_name,
            account_key=key,
            permission=BlobSasPermissions(read=True),
            expiry=timezone.now() + timedelta(seconds=expires),
        )
        return f"{blob.url}?{token}"

    def check(self):
        self.container.get_container_properties()
