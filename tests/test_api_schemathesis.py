"""Schemathesis against /api/schema/: generated requests to every operation, as an org token.

Every operation of the published schema is called with data generated from the schema itself
(a bounded number of examples each), through the WSGI app in-process, authenticated with a
Bearer token of a seeded organisation. A response must never be a 5xx, must use a status code
the schema declares for that operation, and must match the declared response schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from evidence.demo import demo_sbom
from evidence.ingest import host_resolve, sbom_ingest, sbom_receive
from portal.accounts.tokens import api_token_create
from portal.wsgi import application
from tests.factories import FleetFactory, OrganizationFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    # As Django's test client does: requests must not close the test's database connection
    # (it holds the transaction every test is rolled back in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        # schemathesis' WSGI client calls the app as host "localhost".
        with override_settings(ALLOWED_HOSTS=["localhost", "testserver"]):
            yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def org_token(db: None) -> str:
    org = OrganizationFactory.create(slug="acme", name="Acme")
    fleet = FleetFactory.create(organization=org, slug="web", name="Web")
    host = host_resolve(fleet=fleet, hostname="web-01.example.test")
    data = demo_sbom(
        hostname=host.hostname,
        distribution="azurelinux-4",
        taken_at=timezone.now() - timedelta(days=1),
    )
    doc = sbom_receive(organization=org, data=data, size=len(data), host=host, dispatch=False)
    sbom_ingest(document_id=doc.pk)
    _, secret = api_token_create(organization=org, name="schemathesis")
    return secret


def _operation_test(operation: Any, secret: str, mode: Any, checks: list[Any]) -> Any:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=checks)

    return run


def _run(api_schema: Any, secret: str, mode: Any, checks: list[Any]) -> None:
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _operation_test(operation, secret, mode, checks)()
        except (Exception, BaseExceptionGroup) as error:  # report every failing operation
            failures.append(f"{operation.label}:\n{error}")
    assert operations > 20, "the schema lists suspiciously few operations"
    assert not failures, "\n\n".join(failures)


def test_api_conforms_to_its_schema(api_schema: Any, org_token: str) -> None:
    """Valid requests: documented status codes, content types and bodies, never a 5xx."""
    _run(api_schema, org_token, GenerationMode.POSITIVE, CHECKS)


def test_api_refuses_invalid_requests_without_a_server_error(
    api_schema: Any, org_token: str
) -> None:
    """Requests that break the schema (wrong types, missing fields, bad parameters): never a
    5xx, and the answer is still one the schema documents."""
    _run(
        api_schema,
        org_token,
        GenerationMode.NEGATIVE,
        [not_a_server_error, status_code_conformance],
    )
