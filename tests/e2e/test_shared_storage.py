"""Several Berth instances sharing one database and one S3 bucket (OpenStack Swift's S3 API).

Configured the way people migrating from the original registry do it:
SETTINGS_FLAVOR=ceph-s3 with the AWS_* variables it reads.
"""

import hashlib
import os
import subprocess
import uuid
from urllib.parse import urljoin

import boto3
import pytest
import requests

from tests.e2e.builders import write_rootfs_tar
from tests.e2e.servers import REPO_ROOT, BerthServer, StartError

pytestmark = pytest.mark.e2e
S3_ENV = {
    "SETTINGS_FLAVOR": "ceph-s3",
    "AWS_KEY": "test:tester",
    "AWS_SECRET": "testing",
    "AWS_HOST": "127.0.0.1",
    "AWS_PORT": "8080",
    "AWS_SECURE": "false",
    "AWS_ENCRYPT": "false",
    "STORAGE_PATH": "/registry",
}


class S3Berth(BerthServer):
    """A gunicorn Berth whose blobs live in a bucket; `shared` reuses another instance's database."""

    def __init__(self, workdir, database_url, bucket, shared=None):
        super().__init__("gunicorn", workdir, database_url)
        self.bucket = bucket
        if shared is not None:
            self.database = shared.database
            self.owns_database = False
        else:
            self.owns_database = True

    def env(self):
        return {**super().env(), **S3_ENV, "AWS_BUCKET": self.bucket}

    def start(self, ready_timeout=60):
        if not self.owns_database:
            self.database.create = lambda: self.database.url
        return super().start(ready_timeout)

    def stop(self):
        if not self.owns_database:
            self.database = type(self.database)(None, self.workdir)  # never drop the shared database
        super().stop()


def s3_client():
    return boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:8080",
        aws_access_key_id="test:tester",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def bucket():
    result = subprocess.run([str(REPO_ROOT / "scripts" / "swift.sh"), "start"], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"swift did not start:\n{result.stdout}\n{result.stderr}", pytrace=False)
    name = f"berth-e2e-{uuid.uuid4().hex[:10]}"
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def instances(bucket, e2e_tmp):
    first = S3Berth(e2e_tmp / "s3-a", os.environ.get("DATABASE_URL"), bucket)
    second = S3Berth(e2e_tmp / "s3-b", os.environ.get("DATABASE_URL"), bucket, shared=first)
    started = []
    try:
        for server in (first, second):
            server.start()
            started.append(server)
    except StartError as exc:
        for server in reversed(started):
            server.stop()
        pytest.fail(str(exc), pytrace=False)
    yield first, second
    second.stop()
    first.stop()


def test_upload_session_moves_between_instances(instances, bucket):
    """Each chunk lands on another server process; the blob is whole on both."""
    a, b = instances
    data = os.urandom(5 * 1024 * 1024 + 17)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = requests.post(f"{a.url}/v2/shared/blob/blobs/uploads/", timeout=60)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    chunk = 2 * 1024 * 1024
    for number, start in enumerate(range(0, len(data), chunk)):
        server = (a, b)[number % 2]
        part = data[start : start + chunk]
        response = requests.patch(
            urljoin(server.url, location),
            data=part,
            headers={"Content-Range": f"{start}-{start + len(part) - 1}", "Content-Type": "application/octet-stream"},
            timeout=60,
        )
        assert response.status_code == 202, (server.url, response.text)
        location = response.headers["Location"]
    status = requests.get(urljoin(a.url, location), timeout=60)
    assert status.status_code == 204 and status.headers["Range"] == f"0-{len(data) - 1}"
    response = requests.put(urljoin(b.url, location), params={"digest": digest}, timeout=60)
    assert response.status_code == 201, response.text
    key = f"registry/blobs/sha256/{digest[7:9]}/{digest[7:]}"
    assert s3_client().head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
    for server in (a, b):
        got = requests.get(f"{server.url}/v2/shared/blob/blobs/{digest}", timeout=60)
        assert got.status_code == 200 and got.content == data
        ranged = requests.get(f"{server.url}/v2/shared/blob/blobs/{digest}", headers={"Range": "bytes=5-9"})
        assert ranged.status_code == 206 and ranged.content == data[5:10]


def test_docker_push_to_one_instance_pull_from_the_other(instances, docker, workdir):
    a, b = instances
    label = f"s3-{uuid.uuid4().hex[:8]}"
    rootfs = write_rootfs_tar(workdir / f"{label}.tar", label, big_file_size=24 * 1024 * 1024)
    image_id = docker("import", rootfs["path"], f"e2e-local/{label}:1").stdout.strip().splitlines()[-1]
    pushed_ref = f"{a.host}/team/on-s3:1"
    docker("tag", f"e2e-local/{label}:1", pushed_ref)
    digest = docker.pushed_digest(pushed_ref, docker("push", pushed_ref, timeout=600).stdout)
    docker.rmi(pushed_ref, f"e2e-local/{label}:1")
    pulled_ref = f"{b.host}/team/on-s3:1"
    docker("pull", pulled_ref, timeout=600)
    try:
        assert docker.image_id(pulled_ref) == image_id
        assert f"{b.host}/team/on-s3@{digest}" in docker.repo_digests(pulled_ref)
    finally:
        docker.rmi(pulled_ref)
