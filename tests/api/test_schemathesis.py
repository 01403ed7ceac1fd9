"""Schemathesis against the served OpenAPI schema (``/api/schema/``), with an
integration's token and without credentials: no server error, every answer documented
and shaped as the schema says (issue 11). Bounded: a fixed number of examples per
operation, derandomized so a run is repeatable; in CI's real pass (PostgreSQL), where the
database is the one production has."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.models import Integration
from supportdesk.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
EXAMPLES = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
# The schema as the desk serves it, asked of the WSGI application in-process (the schema
# view reads no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection():
    """As Django's test client does: a request's start and end must not close the
    connection that holds the test's transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(departments) -> str:
    """An integration allowed everything."""
    integration = Integration.objects.create(
        name="fuzzer",
        can_push_chat=True,
        can_push_phone=True,
        can_read_tickets=True,
        can_open_tickets=True,
    )
    return integration.issue_token()


# Every check but one: a schema-valid entry may still be refused (400) for what only the
# database knows — a department, agent or reseller ID that does not exist, a phone
# "number" that is none. Server errors, undocumented statuses, answers not shaped as
# documented and accepted schema-violating input all fail.
NOT_CHECKED = [positive_data_acceptance]


@schema.parametrize()
@EXAMPLES
def test_api_with_a_token(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, excluded_checks=NOT_CHECKED)


@schema.parametrize()
@EXAMPLES
def test_api_without_credentials(case, departments):
    case.call_and_validate(excluded_checks=NOT_CHECKED)
