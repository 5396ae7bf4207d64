"""S3 and S3-compatible stores (Ceph RGW, MinIO, Swift's s3api) through django-storages' S3Storage."""

import base64
import hashlib

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from storages.utils import clean_name

from storage_backends.adapters.base import BLOCK, BlockReader, GenericAdapter

# Multipart parts are buffered in memory: keep them few and modest.
TRANSFER = TransferConfig(multipart_threshold=16 * BLOCK, multipart_chunksize=16 * BLOCK, max_concurrency=2)


def _content_md5(request, **kwargs):
    """Swift's s3api wants Content-MD5 on multi-object deletes; newer botocore sends a CRC instead."""
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body
    request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(body).digest()).decode()


class S3Adapter(GenericAdapter):
    def __init__(self, storage):
        super().__init__(storage)
        self.client = storage.connection.meta.client
        self.bucket = storage.bucket_name
        self.client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5)

    def key(self, name):
        return self.storage._normalize_name(clean_name(name))

    def _missing(self, error):
        return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}

    def exists(self, name):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
            return True
        except ClientError as error:
            if self._missing(error):
                return False
            raise

    def size(self, name):
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(name))["ContentLength"]
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(name) from None
            raise

    def delete(self, name):
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def read(self, name, start=0, end=None, block=BLOCK):
        args = {"Bucket": self.bucket, "Key": self.key(name)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self.client.get_object(**args)["Body"]
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(name) from None
            raise
        try:
            yield from body.iter_chunks(block)
        finally:
            body.close()

    def write(self, name, blocks):
        self.client.upload_fileobj(BlockReader(blocks), self.bucket, self.key(name), Config=TRANSFER)

    def copy(self, source, target):
        self.client.copy(
            {"Bucket": self.bucket, "Key": self.key(source)}, self.bucket, self.key(target), Config=TRANSFER
        )

    def list(self, prefix):
        folder = self.key(prefix).rstrip("/") + "/"
        paginator = self.client.get_paginator("list_objects_v2")
        names = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder, Delimiter="/"):
            names.extend(f"{prefix}/{item['Key'][len(folder) :]}" for item in page.get("Contents", []))
        return sorted(names)

    def walk(self, prefix):
        folder = self.key(prefix).rstrip("/") + "/"
        base = self.key(prefix).rstrip("/")
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder):
            for item in page.get("Contents", []):
                name = prefix.rstrip("/") + item["Key"][len(base) :]
                yield name, item["Size"], item["LastModified"].timestamp()

    def url(self, name, expires):
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key(name)}, ExpiresIn=expires
        )

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)
