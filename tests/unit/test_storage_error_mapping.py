"""An object store that answers 5xx (or can't be reached) is 503 UNAVAILABLE; its 4xx are not."""

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from botocore.exceptions import ClientError, EndpointConnectionError
from swiftclient.exceptions import ClientException

from images.api.errors import to_registry_error


def _azure(status):
    error = HttpResponseError(message="store says no")
    error.status_code = status
    return error


def _s3(status):
    return ClientError({"Error": {"Code": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize(
    "exc",
    [
        ClientException("Auth GET failed", http_status=503),
        _azure(500),
        _s3(503),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ServiceRequestError("connection refused"),
    ],
    ids=["swift-503", "azure-500", "s3-503", "s3-unreachable", "azure-unreachable"],
)
def test_store_failures_are_retryable_unavailable(exc):
    error = to_registry_error(exc)
    assert (error.status, error.code) == (503, "UNAVAILABLE")


@pytest.mark.parametrize("exc", [ClientException("gone", http_status=404), _azure(403), _s3(404)])
def test_store_4xx_is_not_an_outage(exc):
    assert to_registry_error(exc) is None
