"""The public side of Azure Linux 4 early access: register, confirm, your data, erasure, abuse.

The helpers and fixtures here are shared by the other test_earlyaccess* modules.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from portal.accounts.models import AuditEvent
from portal.earlyaccess.models import Registration, Status

FORM = {
    "organization_name": "Contoso",
    "contact_name": "Ana Ruiz",
    "work_email": "Ana.Ruiz@contoso.example",
    "country": "ES",
    "fleet_size": "50-499",
    "current_distribution": "cbl-mariner-2",
    "azure_regions": ["westeurope", "northeurope"],
    "workloads": ["web", "containers"],
    "workloads_other": "",
    "wants_migration_tooling": "on",
    "consent": "on",
}
EMAIL = "ana.ruiz@contoso.example"
URL = re.compile(r"https?://\S+")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings: Any) -> Iterator[None]:
    """Each test counts rate limits from zero: its own cache key prefix, cleared afterwards
    (a prefix rather than a flush, so a shared Redis keeps everything else it holds)."""
    caches = {name: dict(conf) for name, conf in django_settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches
    from django.core.cache import cache

    yield
    if "LocMem" in caches["default"]["BACKEND"]:
        cache.clear()


@pytest.fixture(name="send")
def send_fixture(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a request (or any call) and then its on-commit callbacks, as a commit would: the
    emails it queues are then in `mail.outbox`."""

    def run(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def links_in(message: Any) -> list[str]:
    return URL.findall(message.body)


def local(url: str) -> str:
    """The path and query of a link from an email, to request it from the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link(message: Any, path: str) -> str:
    """The one link in `message` to `path` (it may appear more than once)."""
    found = sorted({local(u) for u in links_in(message) if urlsplit(u).path == path})
    assert len(found) == 1, (path, links_in(message))
    return found[0]


def token_of(url: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(urlsplit(url).query)["t"][0]


def register(send: Callable[..., Any], client: Client | None = None, **changes: Any) -> Any:
    client = client or Client()
    return send(client.post, "/early-access/", {**FORM, **changes})


def confirm(send: Callable[..., Any], message: Any, client: Client | None = None) -> Any:
    client = client or Client()
    url = link(message, "/early-access/confirm/")
    return send(client.post, "/early-access/confirm/", {"t": token_of(url)})


def registered_and_confirmed(send: Callable[..., Any], **changes: Any) -> Registration:
    mail.outbox.clear()
    register(send, **changes)
    confirm(send, mail.outbox[-1])
    mail.outbox.clear()
    email = str(changes.get("work_email", FORM["work_email"])).lower()
    return Registration.objects.get(work_email=email)


@pytest.mark.django_db
def test_programme_page_explains_and_links_the_privacy_notice(settings: Any) -> None:
    page = Client().get("/early-access/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Fedora" in text
    assert "CBL-Mariner 2" in text and "Azure Linux 3" in text
    assert "Migration scripts" in text and "Images" in text
    assert 'href="/early-access/privacy/"' in text
    assert f"version {settings.PRIVACY_NOTICE_VERSION}" in text
    for field in ["organization_name", "contact_name", "work_email", "country", "fleet_size"]:
        assert f'name="{field}"' in text
    assert 'name="azure_regions"' in text and 'name="workloads"' in text
    assert 'name="wants_migration_tooling"' in text and 'name="consent"' in text
    assert 'class="ea-hp" aria-hidden="true"' in text  # the honeypot is hidden from people
    assert 'name="csrfmiddlewaretoken"' in text


@pytest.mark.django_db
def test_registration_is_confirmed_by_email_before_it_is_a_lead(settings, send) -> None:
    client = Client()
    response = register(send, client)

    assert response.status_code == 302
    assert response["Location"] == "/early-access/thanks/"
    thanks = client.get("/early-access/thanks/").content.decode()
    assert "Check your inbox" in thanks and "48 hours" in thanks
    registration = Registration.objects.get()
    assert registration.work_email == EMAIL
    assert registration.status == Status.UNCONFIRMED and registration.confirmed_at is None
    assert registration.consent_notice_version == settings.PRIVACY_NOTICE_VERSION
    assert registration.consented_at is not None
    assert registration.country == "ES"
    assert registration.azure_regions == ["westeurope", "northeurope"]
    assert registration.workloads == ["web", "containers"]
    assert registration.wants_migration_tooling is True

    [message] = mail.outbox
    assert message.to == [EMAIL]
    assert message.subject == "Confirm your Azure Linux 4 early-access registration"
    assert "48 hours" in message.body
    confirm_url = link(message, "/early-access/confirm/")
    assert links_in(message)[0].startswith(settings.SITE_URL)

    # Opening the link changes nothing (mail scanners open links); the button confirms.
    page = client.get(confirm_url)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("no-store")
    assert "Confirm my registration" in page.content.decode()
    registration.refresh_from_db()
    assert registration.confirmed_at is None

    done = send(client.post, "/early-access/confirm/", {"t": token_of(confirm_url)}, follow=True)
    assert "Registration confirmed" in done.content.decode()
    registration.refresh_from_db()
    assert registration.status == Status.NEW
    assert registration.confirmed_at is not None

    again = send(client.post, "/early-access/confirm/", {"t": token_of(confirm_url)})
    assert again.status_code == 302  # confirming twice is harmless
    assert AuditEvent.objects.filter(action="earlyaccess.confirmed").count() == 1


@pytest.mark.django_db
def test_registering_again_updates_without_revealing_it(send) -> None:
    client = Client()
    first = register(send, client)
    second = register(send, client, work_email="ANA.RUIZ@Contoso.example", fleet_size="5000+")

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Registration.objects.count() == 1
    assert Registration.objects.get().fleet_size == "5000+"
    # Each submission sends a fresh link to the address (read only by its owner); only the
    # latest one works.
    old, new = mail.outbox
    assert old.to == new.to == [EMAIL] and old.subject == new.subject
    assert confirm(send, old).status_code == 400
    assert confirm(send, new).status_code == 302


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer_and_the_same_mail(send) -> None:
    registered_and_confirmed(send)
    outcomes = []
    for email in [FORM["work_email"], "someone.new@fabrikam.example"]:
        mail.outbox.clear()
        client = Client()
        response = register(send, client, work_email=email)
        page = client.get(response["Location"])
        [message] = mail.outbox
        outcomes.append((response.status_code, response["Location"], page.content, message.subject))
    assert outcomes[0] == outcomes[1]


@pytest.mark.django_db
def test_a_confirmed_registration_changes_only_once_the_address_confirms(send) -> None:
    registration = registered_and_confirmed(send)

    register(send, organization_name="Contoso Renamed (by someone else?)", fleet_size="1-49")
    registration.refresh_from_db()
    assert registration.organization_name == "Contoso"
    assert registration.fleet_size == "50-499"
    assert registration.status == Status.NEW
    [message] = mail.outbox
    assert "replace the current ones only if you confirm" in message.body

    confirm(send, message)
    registration.refresh_from_db()
    assert registration.organization_name == "Contoso Renamed (by someone else?)"
    assert registration.fleet_size == "1-49"
    assert registration.pending_changes is None


@pytest.mark.django_db
def test_consent_is_required() -> None:
    response = Client().post("/early-access/", {**FORM, "consent": ""})
    assert response.status_code == 400
    assert b"only register you with your consent" in response.content
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_overlong_and_invalid_fields_are_refused_clearly() -> None:
    data = {
        **FORM,
        "organization_name": "x" * 500,
        "contact_name": "y" * 201,
        "work_email": "not-an-email",
        "country": "XX",
        "fleet_size": "a-lot",
        "azure_regions": ["westeurope", "mars-central"],
        "workloads_other": "z" * 301,
    }
    response = Client().post("/early-access/", data)
    text = response.content.decode()
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 500)" in text
    assert "Ensure this value has at most 200 characters (it has 201)" in text
    assert "Ensure this value has at most 300 characters" in text
    assert "Enter a valid email address" in text
    assert "Select a valid choice. XX is not one of the available choices." in text
    assert "Select a valid choice. mars-central is not one of the available choices." in text
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_the_privacy_notice_is_versioned_and_consent_names_its_version(settings, send) -> None:
    page = Client().get("/early-access/privacy/")
    assert page.status_code == 200
    assert f"version {settings.PRIVACY_NOTICE_VERSION}" in page.content.decode()
    assert "180 days" in page.content.decode()
    assert Client().get("/early-access/privacy/?version=1999-01").status_code == 404
    assert Client().get("/early-access/privacy/?version=../../base").status_code == 404

    register(send)
    registration = Registration.objects.get()
    assert registration.consent_notice_version == settings.PRIVACY_NOTICE_VERSION
    assert abs(registration.consented_at - timezone.now()) < timedelta(minutes=5)


@pytest.mark.django_db
def test_the_confirmation_link_expires_after_48_hours(send) -> None:
    register(send)
    [message] = mail.outbox
    url = link(message, "/early-access/confirm/")

    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        page = Client().get(url)
        assert page.status_code == 400
        assert "This link has expired" in page.content.decode()
        assert confirm(send, message).status_code == 400
    assert Registration.objects.get().confirmed_at is None

    with time_machine.travel(timezone.now() + timedelta(hours=47)):
        assert confirm(send, message).status_code == 302
    assert Registration.objects.get().confirmed_at is not None


@pytest.mark.django_db
def test_forged_and_borrowed_links_are_refused(send) -> None:
    registered_and_confirmed(send)
    send(Client().post, "/early-access/my-data/", {"work_email": EMAIL})
    data_url = link(mail.outbox[-1], "/early-access/my-data/")
    token = token_of(data_url)

    # A data link does not confirm, erase or invite; a changed token is nobody's.
    for path in ["/early-access/confirm/", "/early-access/erase/", "/early-access/invitation/"]:
        response = Client().get(path, {"t": token})
        assert response.status_code == 400, path
        assert "This link is not valid" in response.content.decode()
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert Client().get("/early-access/my-data/", {"t": tampered}).status_code == 400
    assert Client().post("/early-access/my-data/export/", {"t": tampered}).status_code == 400


@pytest.mark.django_db
def test_too_many_submissions_from_one_address_are_refused_politely(settings, send) -> None:
    settings.EARLY_ACCESS_RATE_PER_CLIENT = 3
    client = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(3):
        assert register(send, client, work_email=f"p{n}@contoso.example").status_code == 302
    blocked = register(send, client, work_email="p4@contoso.example")

    assert blocked.status_code == 429
    text = blocked.content.decode()
    assert "Too many attempts" in text and "Please try again in an hour" in text
    assert not Registration.objects.filter(work_email="p4@contoso.example").exists()
    assert len(mail.outbox) == 3
    # Another client is not affected.
    other = Client(REMOTE_ADDR="198.51.100.9")
    assert register(send, other, work_email="p5@contoso.example").status_code == 302


@pytest.mark.django_db
def test_too_many_submissions_for_one_email_are_refused_politely(settings, send) -> None:
    settings.EARLY_ACCESS_RATE_PER_EMAIL = 2
    statuses = [
        register(send, Client(REMOTE_ADDR=f"203.0.113.{n}"), work_email=EMAIL).status_code
        for n in range(1, 4)
    ]
    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2
    # The limit is per address: someone else can still register from the same network.
    neighbour = Client(REMOTE_ADDR="203.0.113.1")
    assert register(send, neighbour, work_email="x@y.example").status_code == 302


@pytest.mark.django_db
def test_forwarded_for_is_trusted_only_behind_a_configured_proxy(settings, send) -> None:
    settings.EARLY_ACCESS_RATE_PER_CLIENT = 1
    spoofing = [
        Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}") for n in (1, 2)
    ]
    assert register(send, spoofing[0], work_email="a@x.example").status_code == 302
    assert register(send, spoofing[1], work_email="b@x.example").status_code == 429

    settings.TRUSTED_PROXIES = 1
    proxied = [
        Client(REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"1.2.3.4, 198.51.100.{n}")
        for n in (1, 2)
    ]
    assert register(send, proxied[0], work_email="c@x.example").status_code == 302
    assert register(send, proxied[1], work_email="d@x.example").status_code == 302


@pytest.mark.django_db
def test_the_honeypot_refuses_with_a_polite_explanation(send) -> None:
    response = register(send, website="https://spam.example")
    assert response.status_code == 400
    text = response.content.decode()
    assert "It looked automated" in text and "Leave this field empty" in text
    assert not Registration.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_oversized_submission_is_refused(send) -> None:
    response = register(send, workloads_other="w" * 20_000)
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not Registration.objects.exists()


@pytest.mark.django_db
def test_forms_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/early-access/", FORM).status_code == 403
    assert client.post("/early-access/my-data/", {"work_email": EMAIL}).status_code == 403
    page = client.get("/early-access/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    data = {**FORM, "csrfmiddlewaretoken": token.group(1).decode()}
    assert client.post("/early-access/", data).status_code == 302


@pytest.mark.django_db
def test_a_registrant_downloads_their_data_and_only_theirs(send) -> None:
    registered_and_confirmed(send, work_email="other@fabrikam.example", contact_name="Bo Other")
    registered_and_confirmed(send)
    # Every email carries the data link; ask for one as a returning registrant would.
    ask = send(Client().post, "/early-access/my-data/", {"work_email": EMAIL})
    assert ask["Location"] == "/early-access/my-data/sent/"
    [message] = mail.outbox
    assert message.to == [EMAIL]
    data_url = link(message, "/early-access/my-data/")

    client = Client()
    page = client.get(data_url)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("no-store")
    assert page["Referrer-Policy"] == "same-origin"  # the token never leaves the site
    assert "Download my data" in page.content.decode()
    assert "Ana Ruiz" not in page.content.decode()  # the page itself shows nobody's data

    download = client.post("/early-access/my-data/export/", {"t": token_of(data_url)})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/json")
    assert "attachment" in download["Content-Disposition"]
    exported = json.loads(download.content)
    assert exported["registration"]["work_email"] == EMAIL
    assert exported["registration"]["contact_name"] == "Ana Ruiz"
    assert exported["registration"]["azure_regions"] == ["westeurope", "northeurope"]
    assert exported["consent"]["privacy_notice_version"]
    assert [h["event"] for h in exported["history"]] == ["submitted", "confirmed", "exported"]
    assert "fabrikam" not in download.content.decode()
    assert "Bo Other" not in download.content.decode()


@pytest.mark.django_db
def test_asking_for_a_data_link_reveals_nothing(send) -> None:
    registered_and_confirmed(send)
    answers = []
    for email in [EMAIL, "nobody@nowhere.example"]:
        client = Client()
        response = send(client.post, "/early-access/my-data/", {"work_email": email})
        answers.append((response.status_code, response["Location"]))
        assert "this page looks the same" in client.get(response["Location"]).content.decode()
    assert answers[0] == answers[1]
    assert [m.to for m in mail.outbox] == [[EMAIL]]


@pytest.mark.django_db
def test_erasure_is_confirmed_by_email_and_leaves_an_anonymous_record(send) -> None:
    registration = registered_and_confirmed(send)
    send(Client().post, "/early-access/my-data/", {"work_email": EMAIL})
    data_url = link(mail.outbox[-1], "/early-access/my-data/")
    mail.outbox.clear()

    asked = send(Client().post, "/early-access/my-data/erase/", {"t": token_of(data_url)})
    assert asked.status_code == 200
    assert "Confirm the erasure by email" in asked.content.decode()
    assert Registration.objects.get(pk=registration.pk).status == Status.NEW  # not yet
    [message] = mail.outbox
    assert message.to == [EMAIL]
    erase_url = link(message, "/early-access/erase/")
    assert "Erase my data" in Client().get(erase_url).content.decode()

    done = send(Client().post, "/early-access/erase/", {"t": token_of(erase_url)})
    assert done.status_code == 200
    assert "Registration erased" in done.content.decode()
    registration.refresh_from_db()
    assert registration.status == Status.DELETED
    assert registration.work_email is None
    assert registration.organization_name == registration.contact_name == ""
    assert registration.azure_regions == [] and registration.workloads == []
    assert (registration.country, registration.fleet_size) == ("ES", "50-499")
    assert registration.erasure_reason == "request" and registration.erased_at is not None

    # The old links are dead; the address can register afresh.
    assert Client().get(data_url).status_code == 400
    assert Client().post("/early-access/erase/", {"t": token_of(erase_url)}).status_code == 400
    register(send)
    assert Registration.objects.filter(work_email=EMAIL).count() == 1
    assert Registration.objects.count() == 2


@pytest.mark.django_db
def test_personal_data_stays_out_of_logs_audit_and_task_arguments(send, monkeypatch) -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    queued: list[tuple[Any, ...]] = []
    from portal.earlyaccess import tasks

    real_delay = tasks.registration_email.delay

    def spy(*args: Any) -> Any:
        queued.append(args)
        return real_delay(*args)

    monkeypatch.setattr(tasks.registration_email, "delay", spy)
    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        registered_and_confirmed(send)
        register(send, website="bot")  # refused, and logged
        send(Client().post, "/early-access/my-data/", {"work_email": EMAIL})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

    assert any("refused: automated" in r for r in records)
    secrets = ["ana.ruiz", "Ana Ruiz", "Contoso", "contoso.example"]
    everything = "\n".join(records).lower()
    assert not [s for s in secrets if s.lower() in everything]
    for event in AuditEvent.objects.filter(action__startswith="earlyaccess."):
        blob = json.dumps([event.actor_label, event.data]).lower()
        assert not [s for s in secrets if s.lower() in blob], event.action
    assert queued
    assert all(isinstance(a[0], int) and a[1] in {"confirm", "data_link"} for a in queued)


@pytest.mark.django_db
def test_links_in_emails_carry_no_address(send) -> None:
    register(send)
    for url in links_in(mail.outbox[0]):
        token = token_of(url) if "t=" in url else ""
        import base64

        padded = token.split(":")[0] + "=" * (-len(token.split(":")[0]) % 4)
        decoded = base64.urlsafe_b64decode(padded) if token else b""
        assert b"contoso" not in decoded.lower() and "contoso" not in url.lower()


@pytest.mark.django_db
def test_every_email_carries_the_data_link(send) -> None:
    from portal.earlyaccess.emails import KINDS, registration_email_send

    registration = registered_and_confirmed(send)
    for kind in sorted(KINDS - {"invitation"}):
        registration_email_send(registration_id=registration.pk, kind=kind)
    assert len(mail.outbox) == len(KINDS) - 1
    for message in mail.outbox:
        assert link(message, "/early-access/my-data/"), message.subject
        assert "/early-access/privacy/" in message.body
        assert "&#x27;" not in message.body and "&amp;" not in message.body


@pytest.mark.django_db
def test_personal_pages_are_not_cached_and_say_why_a_link_failed() -> None:
    page = Client().get("/early-access/confirm/", {"t": "nonsense"})
    assert page.status_code == 400
    assert page["Cache-Control"].startswith("no-store")
    assert "send the form again" in page.content.decode()
    assert Client().get("/early-access/confirm/").status_code == 400
    assert Client().get("/early-access/my-data/").status_code == 200  # the "ask for a link" form


@pytest.mark.django_db
def test_every_early_access_page_answers_strangers_without_errors_or_data(send) -> None:
    from django.urls import get_resolver, reverse

    registered_and_confirmed(send)
    names = [
        name
        for name in get_resolver().namespace_dict["earlyaccess"][1].reverse_dict
        if isinstance(name, str)
    ]
    assert len(names) >= 11
    for name in names:
        url = reverse(f"earlyaccess:{name}")
        for response in [Client().get(url), Client().post(url, {}), Client().post(url, {"t": "x"})]:
            assert response.status_code < 500, (url, response.status_code)
            assert b"contoso" not in response.content.lower(), url
    assert Registration.objects.count() == 1
    assert Registration.objects.get().status == Status.NEW
