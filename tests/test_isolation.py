"""The isolation enumerator: every URL of the project, requested by every persona.

URLs are found by walking the resolver, so a URL added later is covered without editing
this file, unless it takes an argument nobody declared how to fill: then this test fails
until FILL (or PUBLIC) says what to do with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, clear_url_caches, get_resolver, reverse

from evidence.models import AuditPacket, Fleet, Host, SbomDocument
from portal.accounts.models import ApiToken, AuditEvent
from tests.world import FLEET_MARKER, ORG_MARKER, Persona, World, build_world

# How to fill each URL argument with an object of organisation A (all of them in fleet A1).
FILL: dict[str, Callable[[World], Any]] = {
    "org": lambda w: w.org_a.slug,
    "fleet": lambda w: w.fleet_a1.slug,
    "host_id": lambda w: w.host_a1.pk,
    "sbom_id": lambda w: w.sbom_a1.pk,
    "packet_id": lambda w: w.packet_a1.pk,
    "evaluation_id": lambda w: w.packet_a1.evaluation_id,
    "kind": lambda w: "exposures.csv",
    "advisory_id": lambda w: w.exposure_a1.advisory_id,  # shared upstream data, like feeds
    "token_id": lambda w: w.token_a1.pk,
    "exposure_id": lambda w: w.exposure_a1.pk,
    "exception_id": lambda w: w.exception_a1.pk,
    "vex_id": lambda w: w.vex_a1.pk,
    "feed": lambda w: "kev",  # feeds are shared upstream facts, readable by any member
}
# The same arguments pointing at nothing: a denied caller must not be able to tell the two apart.
MISSING: dict[str, Any] = {
    "org": "no-such-org",
    "fleet": "no-such-fleet",
    "host_id": 999999,
    "sbom_id": 999999,
    "packet_id": 999999,
    "evaluation_id": 999999,
    "kind": "exposures.csv",
    "advisory_id": 999999,
    "token_id": 999999,
    "exposure_id": 999999,
    "exception_id": 999999,
    "vex_id": 999999,
    "feed": "no-such-feed",
}
# Arguments that point at one fleet-A1 object (a fleet-A2-scoped caller must not reach it).
FLEET_A1_ARGS = {
    "fleet", "host_id", "sbom_id", "packet_id", "evaluation_id", "token_id", "exposure_id",
    "exception_id", "vex_id",
}  # fmt: skip
# URLs that hold no tenant data and take no argument.
PUBLIC = {
    "home",
    "login",
    "logout",
    "earlyaccess:register",
    "earlyaccess:thanks",
    "earlyaccess:privacy",
    # Early-access pages opened from emailed links: the personal ones need a signed token
    # (`?t=`, which names one registration) and show nothing without it.
    "earlyaccess:confirm",
    "earlyaccess:confirmed",
    "earlyaccess:data",
    "earlyaccess:link-sent",
    "earlyaccess:data-export",
    "earlyaccess:erase-request",
    "earlyaccess:erase-confirm",
    "earlyaccess:invitation",
    "schema",
    "api-docs",
    "healthz",
    "readyz",
    "signing-key",  # the packet signing public key: anyone may verify a packet
}
# Pages where every member (viewers too) may POST changes to their own settings; auditors,
# who hold grants rather than memberships, may not.
OWN_SETTINGS = {"evidence:notifications"}
# Django admin is staff-only as a whole; checked on its own below.
SKIP_NAMESPACES = {"admin"}
LOGIN = "/accounts/login/"


def _walk(resolver: URLResolver, namespace: str = "", args: tuple[str, ...] = ()) -> Iterator:
    for entry in resolver.url_patterns:
        here = args + tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            if entry.namespace in SKIP_NAMESPACES:
                continue
            yield from _walk(entry, ns, here)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), here, entry


def project_urls() -> list[tuple[str, tuple[str, ...]]]:
    found = []
    for name, args, entry in _walk(get_resolver()):
        if name is None:
            pytest.fail(f"URL pattern {entry.pattern} has no name; name it so it can be checked")
        found.append((name, args))
    return found


def _reverse(name: str, args: tuple[str, ...], values: dict[str, Any]) -> str:
    return reverse(name, kwargs={a: values[a] for a in args})


def _counts() -> tuple[int, ...]:
    return (
        Fleet.objects.count(),
        Host.objects.count(),
        SbomDocument.objects.count(),
        AuditPacket.objects.count(),
        ApiToken.objects.count(),
        ApiToken.objects.filter(revoked_at__isnull=False).count(),
    )


def _effective_sees(persona: Persona, is_api: bool) -> str:
    # Bearer tokens authenticate API requests only; on web pages they are anonymous.
    if persona.token and not is_api:
        return "none"
    return persona.sees


def _request(persona: Persona, method: str, url: str) -> Any:
    client = persona.client()
    return client.get(url) if method == "GET" else client.post(url, {})


def _check(
    world: World,
    persona: Persona,
    name: str,
    url: str,
    method: str,
    response: Any,
    args: tuple[str, ...],
) -> list[str]:
    is_api = name.startswith("api:")
    sees = _effective_sees(persona, is_api)
    targets_a1 = bool(FLEET_A1_ARGS & set(args))
    tenant = bool(args) or is_api
    status = response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", "replace").lower()  # markers are matched case-insensitively
    where = f"{persona.name}: {method} {url} ({name})"
    problems = []
    if status >= 500:
        problems.append(f"{where} answered {status}")
    denied = sees == "none" or (sees == "fleet2" and targets_a1)
    if denied:
        marker = ORG_MARKER if sees == "none" else FLEET_MARKER
        if marker.lower() in text:
            problems.append(f"{where} leaked {marker!r} (status {status})")
        login_redirect = status == 302 and response["Location"].startswith(LOGIN)
        if args:
            if status < 400 and not login_redirect:
                problems.append(f"{where} answered {status} to a caller with no access")
            # Point the object arguments at nothing (the organisation too, if it is the only one).
            replace = {a for a in args if a != "org"} or {"org"}
            values = {a: (MISSING[a] if a in replace else FILL[a](world)) for a in args}
            missing_url = _reverse(name, args, values)
            twin = _request(persona, method, missing_url).status_code
            if twin != status:
                problems.append(
                    f"{where} answered {status} but {twin} for a missing object: "
                    "that difference tells an outsider the object exists"
                )
    else:
        if sees == "fleet2" and FLEET_MARKER.lower() in text:
            problems.append(f"{where} showed fleet A1 data to a fleet-A2-scoped caller")
        if method == "GET" and tenant:
            ok = {200, 405} if persona.writes else {200, 403, 405}
            if status not in ok:
                problems.append(f"{where} answered {status}, expected one of {sorted(ok)}")
        own_settings = name in OWN_SETTINGS and persona.name.startswith("viewer")
        if (
            method == "POST"
            and tenant
            and not persona.writes
            and not own_settings
            and status not in {403, 405}
        ):
            problems.append(f"{where} let a read-only caller write (status {status})")
    return problems


@pytest.mark.django_db
def test_every_url_keeps_organisation_a_to_those_entitled() -> None:
    world = build_world()
    urls = project_urls()
    assert len(urls) > 20, "the resolver walk found suspiciously few URLs"
    problems: list[str] = []
    checked = 0
    for name, args in urls:
        unknown = [a for a in args if a not in FILL]
        if unknown:
            problems.append(f"{name} takes {unknown}: declare how to fill them in FILL")
            continue
        if not args and name not in PUBLIC and not name.startswith("api:"):
            problems.append(f"{name} takes no argument: declare it in PUBLIC if it is public")
            continue
        url = _reverse(name, args, {a: FILL[a](world) for a in args})
        for persona in world.personas:
            for method in ("GET", "POST"):
                if name == "logout" and method == "POST":
                    continue
                before = _counts()
                events_before = AuditEvent.objects.count()
                response = _request(persona, method, url)
                checked += 1
                problems += _check(world, persona, name, url, method, response, args)
                if method == "POST" and (persona.sees == "none" or not persona.writes):
                    if _counts() != before:
                        problems.append(f"{persona.name}: POST {url} changed stored data")
                    if name not in PUBLIC and AuditEvent.objects.count() != events_before:
                        problems.append(f"{persona.name}: POST {url} was recorded as an action")
    assert not problems, "\n".join(problems)
    assert checked > 400


@pytest.mark.django_db
def test_admin_is_for_staff_only() -> None:
    world = build_world()
    for persona in world.personas:
        for url in [
            "/admin/",
            "/admin/evidence/fleet/",
            f"/admin/evidence/fleet/{world.fleet_a1.pk}/",
        ]:
            response = persona.client().get(url)
            assert response.status_code == 302, (persona.name, url)
            assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db
def test_a_new_url_argument_fails_until_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """The enumerator's own guard: an undeclared argument is reported, not skipped."""
    from django.urls import path

    import portal.urls

    def view(request: Any, **kwargs: Any) -> Any:
        raise AssertionError("never called")

    patterns = [*portal.urls.urlpatterns, path("o/<slug:org>/x/<int:widget_id>/", view, name="x")]
    monkeypatch.setattr(portal.urls, "urlpatterns", patterns)
    clear_url_caches()
    try:
        found = dict(project_urls())
    finally:
        clear_url_caches()
    assert found["x"] == ("org", "widget_id")
    assert "widget_id" not in FILL
