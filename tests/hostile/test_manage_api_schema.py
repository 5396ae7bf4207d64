"""schemathesis against the management API's own OpenAPI schema (/api/schema/, drf-spectacular):
every operation, with generated parameters and bodies, as an admin over Basic auth, in-process
through the WSGI app. No answer may be a 5xx, and every answer must match the schema."""

import base64
from contextlib import contextmanager

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.v2.conftest import Registry

ADMIN = ("schema-admin", "s3cret-Schema")


@pytest.fixture
def manage_api_schema(db, settings, client):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # Basic auth on every call
    get_user_model().objects.create_superuser(ADMIN[0], "admin@example.invalid", ADMIN[1])
    registry = Registry(client)
    registry.push_image("team/app")
    registry.push_index("team/multi")
    with kept_test_connection():  # (after the test client's pushes: each of them connects the receivers back)
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@contextmanager
def kept_test_connection():
    """Django's WSGI handler closes the database connection around each request; inside a test's
    transaction it must not (django.test.Client disconnects the same receivers)."""
    receivers = (signals.request_started, signals.request_finished)
    for signal in receivers:
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in receivers:
            signal.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("manage_api_schema")
BASIC = "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_management_api_never_fails_and_matches_its_schema(case):
    case.call_and_validate(
        headers={"Authorization": BASIC},
        checks=[not_a_server_error, response_schema_conformance],
    )
