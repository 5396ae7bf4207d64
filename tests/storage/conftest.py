"""The registry storage under test: the same suite runs over every backend, against real servers.

filesystem, OpenStack Swift's S3 API (django-storages S3Storage + boto3), Swift's
own API (django-storage-swift) and Azurite (django-storages AzureStorage). The
servers are started by scripts/swift.sh and scripts/azurite.sh when they are
not already running; a server that can't start fails the tests, never skips them.
"""

import subprocess
import uuid
from pathlib import Path

import boto3
import pytest
from azure.storage.blob import BlobServiceClient

ROOT = Path(__file__).resolve().parents[2]
SWIFT_AUTH = {"authurl": "http://127.0.0.1:8080/auth/v1.0", "user": "test:tester", "key": "testing"}
S3 = {"endpoint_url": "http://127.0.0.1:8080", "access_key": "test:tester", "secret_key": "testing"}
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)
BACKENDS = ["filesystem", "s3", "swift", "azure"]


def _start(script):
    result = subprocess.run([str(ROOT / "scripts" / script), "start"], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{script} start failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def swift_server():
    _start("swift.sh")


@pytest.fixture(scope="session")
def azurite_server():
    _start("azurite.sh")


def s3_options(bucket):
    client = boto3.client(
        "s3",
        endpoint_url=S3["endpoint_url"],
        aws_access_key_id=S3["access_key"],
        aws_secret_access_key=S3["secret_key"],
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            **S3,
            "bucket_name": bucket,
            "region_name": "us-east-1",
            "signature_version": "s3v4",
            "addressing_style": "path",
            "location": "registry",
        },
    }


def swift_options(container):
    return {
        "BACKEND": "swift.storage.SwiftStorage",
        "OPTIONS": {
            "api_auth_url": SWIFT_AUTH["authurl"],
            "api_username": SWIFT_AUTH["user"],
            "api_key": SWIFT_AUTH["key"],
            "auth_version": "1",
            "container_name": container,
            "auto_create_container": True,
            "name_prefix": "registry/",
        },
    }


def azure_options(container):
    BlobServiceClient.from_connection_string(AZURITE).create_container(container)
    return {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {
            "connection_string": AZURITE,
            "account_name": "devstoreaccount1",
            "account_key": AZURITE_KEY,
            "azure_container": container,
            "azure_ssl": False,
            "overwrite_files": True,
            "location": "registry",
        },
    }


@pytest.fixture(params=BACKENDS)
def backend(request, settings, tmp_path):
    """Point STORAGES["registry"] at a fresh bucket/container of the given backend; returns its name."""
    name = f"berth-test-{uuid.uuid4().hex[:12]}"
    if request.param == "filesystem":
        entry = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}
    elif request.param == "s3":
        request.getfixturevalue("swift_server")
        entry = s3_options(name)
    elif request.param == "swift":
        request.getfixturevalue("swift_server")
        entry = swift_options(name)
    else:
        request.getfixturevalue("azurite_server")
        entry = azure_options(name)
    settings.STORAGES = {**settings.STORAGES, "registry": entry}
    return request.param
