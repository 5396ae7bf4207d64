"""Render errors once: the v2 JSON envelope, with the right status and headers."""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from images.errors import NameUnknown, RegistryError, Unauthorized, Unavailable, Unsupported

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
    return None


def envelope(error):
    return {"errors": [error.as_dict()]}


def error_response(error):
    response = Response(envelope(error), status=error.status)
    for key, value in error.headers.items():
        response[key] = value
    response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    if error.status == 503:
        response["Retry-After"] = "1"
    return response


def exception_handler(exc, context):
    error = to_registry_error(exc)
    if error is None:
        return None
    return error_response(error)
