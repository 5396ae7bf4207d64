"""Render errors once: the v2 JSON envelope, with the right status and headers."""

import errno
import json
import logging
import sys

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler

from images.errors import NameUnknown, RegistryError, StorageFull, Unauthorized, Unavailable, Unsupported

logger = logging.getLogger(__name__)
API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


def to_registry_error(exc):
    if isinstance(exc, RegistryError):
        return exc
    if isinstance(exc, drf.MethodNotAllowed):
        return Unsupported(f"method {exc.args[0] if exc.args else ''} not allowed".strip())
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Unauthorized()
    if isinstance(exc, (Http404, drf.NotFound)):
        return NameUnknown("not found")
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return Unavailable("database unavailable, retry later")
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
        return Unavailable("database error, retry later")
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        logger.error("storage full: %s", exc)
        return StorageFull()
    if _storage_unreachable(exc):
        logger.warning("storage unavailable: %s: %s", exc.__class__.__name__, exc)
        return Unavailable("storage unavailable, retry later")
    return None


def _storage_unreachable(exc):
    """The object store can't be reached or answers 5xx (botocore, urllib3, requests/swiftclient, azure)."""
    if isinstance(exc, _connection_error_classes()):
        return True
    response = getattr(exc, "response", None)  # botocore ClientError: the store answered with an error
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, dict) else None
    if type(exc).__module__.startswith(("swiftclient", "azure")):  # ClientException, HttpResponseError
        status = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
    return isinstance(status, int) and status >= 500


_CONNECTION_ERRORS = (
    ("botocore.exceptions", ("ConnectionError", "HTTPClientError")),
    ("urllib3.exceptions", ("HTTPError",)),
    ("requests.exceptions", ("ConnectionError", "Timeout", "ChunkedEncodingError")),
    ("azure.core.exceptions", ("ServiceRequestError", "ServiceResponseError")),
)


def _connection_error_classes():
    """Only clients already imported can have raised: a filesystem registry never loads the S3 and
    Azure libraries (about 15 MiB per process) just to name their exceptions."""
    found = []
    for module, names in _CONNECTION_ERRORS:
        imported = sys.modules.get(module)
        if imported is not None:
            found.extend(getattr(imported, name) for name in names)
    return tuple(found)


def envelope(error):
    return {"errors": [error.as_dict()]}


def json_response(data, status=200):
    """The bytes DRF's JSONRenderer writes for `data` (compact, UTF-8, strict), without its rendering pass.

    Registry answers are always JSON, so Response, content negotiation and the template-response
    render only cost time: about a tenth of a tags list's CPU, and of a blob HEAD that finds nothing
    (the error envelope is built, then dropped from the HEAD answer, for its Content-Length).
    """
    text = json.dumps(data, cls=JSONEncoder, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if "\u2028" in text or "\u2029" in text:  # escaped as DRF does (a request's text can end up in `detail`)
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(text.encode(), status=status, content_type="application/json")


def error_response(error):
    response = json_response(envelope(error), status=error.status)
    for key, value in error.headers.items():
        response[key] = value
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    if error.status == 503:
        response["Retry-After"] = "1"
    return response


def exception_handler(exc, context):
    error = to_registry_error(exc)
    if error is None:
        # Not one of the registry's errors: DRF's own answer (the management API's root and its OpenAPI
        # schema use this handler too: an Accept they cannot serve is a 406, not a 500).
        return drf_exception_handler(exc, context)
    return error_response(error)
