"""Streaming access to the registry storage, one adapter per django-storages backend.

Django's Storage API opens objects as whole files (S3, Azure and Swift download
the object before the first read) and cannot append or copy server-side, so
each backend gets a small adapter over the client its django-storages class
already configured: ranged streaming reads, streamed writes, server-side copy,
listing and presigned URLs. Anything else falls back to the plain Storage API.
"""

from storage_backends.adapters.base import GenericAdapter
from storage_backends.adapters.local import LocalAdapter


def for_storage(storage):
    from django.core.files.storage import FileSystemStorage

    if isinstance(storage, FileSystemStorage):
        return LocalAdapter(storage)
    module = type(storage).__module__
    if module.startswith("storages.backends.s3"):
        from storage_backends.adapters.s3 import S3Adapter

        return S3Adapter(storage)
    if module.startswith("storages.backends.azure_storage"):
        from storage_backends.adapters.azure import AzureAdapter

        return AzureAdapter(storage)
    if module.startswith("swift.storage"):
        from storage_backends.adapters.swift import SwiftAdapter

        return SwiftAdapter(storage)
    return GenericAdapter(storage)
