"""Notifications: each event is noticed once, emailed to the members who want it, and POSTed,
signed, to the organisation's webhook (a real HTTP server on 127.0.0.1).

Exposures come from the product's own pipeline (real SBOM ingests, real feed records); clocks are
frozen with time-machine. Personas: alice (officer), bob (viewer), carol (owner elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import time_machine
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from evidence.exceptions import exception_approve, exception_request
from evidence.feeds import model as feed
from evidence.feeds.store import kev_store
from evidence.feeds.sync import _match_later
from evidence.models import Exposure, FeedSource, Fleet, Notification, WebhookEndpoint
from evidence.notifications.preferences import notification_preference_set
from evidence.notifications.send import notification_webhook, notifications_scan
from evidence.notifications.webhook import (
    WebhookRefused,
    WebhookTransient,
    webhook_endpoint_create,
    webhook_post,
)
from evidence.tasks import notify_webhook
from portal.accounts.models import Role
from tests.factories import MembershipFactory, OrganizationFactory
from tests.feeds.server import serving
from tests.test_matching import (
    advisory as advisory,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    day,
)
from tests.test_matching import (
    fleet as fleet,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    snapshot as snapshot,  # re-exported: the fixture, used by name
)

pytestmark = pytest.mark.django_db


# --- a webhook receiver -------------------------------------------------------------------------


@dataclass
class Receiver:
    url: str = ""
    statuses: list[int] = field(default_factory=list)  # answers in order, then 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append((dict(self.headers.items()), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with serving(Handler) as base:
        state.url = f"{base}/hooks/patchproof"
        yield state


# --- scenario helpers ---------------------------------------------------------------------------


def scan(run_commits: Callable[..., Any], when: datetime) -> dict[str, Any]:
    """One scan at `when`, with its queued deliveries run (eager tasks, after commit)."""
    with time_machine.travel(when, tick=False):
        return run_commits(notifications_scan).as_dict()


def overdue_exposure(snapshot: Any, advisory: Any) -> Exposure:
    """nginx on web-1 from 5 January, P2 (CVSS 7.5): due 4 February, never fixed."""
    advisory("FEDORA-2026-0009", day(1, 1), [("nginx", "1.26.2-1.fc40", day(1, 1))], cvss=7.5)
    host = snapshot("web-1", day(1, 5), {"nginx": "1.26.1-1.fc40"})
    [exposure] = Exposure.objects.filter(host=host)
    assert exposure.due_at == day(1, 5) + timedelta(days=30)
    return exposure


@pytest.fixture
def alice(fleet: Fleet) -> Any:
    return MembershipFactory.create(
        organization=fleet.organization, role=Role.OFFICER, user__username="alice@example.test"
    ).user


@pytest.fixture
def bob(fleet: Fleet) -> Any:
    return MembershipFactory.create(
        organization=fleet.organization, role=Role.VIEWER, user__username="bob@example.test"
    ).user


# --- email --------------------------------------------------------------------------------------


def test_overdue_exposure_emails_the_officer_once(
    snapshot: Any, advisory: Any, run_commits: Any, fleet: Fleet, alice: Any, bob: Any
) -> None:
    exposure = overdue_exposure(snapshot, advisory)
    assert scan(run_commits, day(2, 1))["created"] == 0  # not yet due

    counts = scan(run_commits, day(2, 10))
    assert counts["created_by_kind"] == {"exposure_overdue": 1}
    [message] = mail.outbox
    assert message.to == ["alice@example.test"]  # the viewer gets nothing by default
    assert "FEDORA-2026-0009" in message.subject and "web-1" in message.subject
    assert "2026-02-04" in message.body
    link = f"{settings.SITE_URL}/o/{fleet.organization.slug}/hosts/{exposure.host_id}/"
    assert f"Evidence: {link}" in message.body  # a link to the evidence, absolute
    [notification] = Notification.objects.all()
    assert notification.payload["url"] == link
    assert notification.key == f"exposure_overdue:{exposure.pk}:{exposure.due_at.isoformat()}"  # type: ignore[union-attr]
    assert notification.email_recipients == ["alice@example.test"]
    assert notification.emailed_at == day(2, 10)
    assert notification.webhook_status == "none"  # no endpoint configured

    # The next scan (here through the command) finds the same event: nothing new is sent.
    out = io.StringIO()
    with time_machine.travel(day(2, 10) + timedelta(minutes=15), tick=False):
        run_commits(call_command, "notify", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 0
    assert len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_preferences_switch_email_off_and_on(
    snapshot: Any, advisory: Any, run_commits: Any, fleet: Fleet, alice: Any, bob: Any
) -> None:
    notification_preference_set(
        user=alice, organization=fleet.organization, kind="exposure_overdue", email=False
    )
    notification_preference_set(
        user=bob, organization=fleet.organization, kind="exposure_overdue", email=True
    )
    with pytest.raises(ValueError, match="unknown notification kind"):
        notification_preference_set(
            user=bob, organization=fleet.organization, kind="everything", email=True
        )
    overdue_exposure(snapshot, advisory)
    scan(run_commits, day(2, 10))
    assert [m.to for m in mail.outbox] == [["bob@example.test"]]


def test_expiring_exception_notifies_a_week_ahead(
    snapshot: Any, advisory: Any, run_commits: Any, fleet: Fleet, alice: Any
) -> None:
    exposure = overdue_exposure(snapshot, advisory)
    ciso = MembershipFactory.create(organization=fleet.organization, role=Role.OWNER).user
    exception = exception_request(
        fleet=fleet,
        exposure=exposure,
        requested_by=alice,
        justification="WAF rule blocks the vulnerable path until the March window",
        expires_at=day(3, 1),
        now=day(1, 20),
    )
    exception_approve(exception=exception, approver=ciso, now=day(1, 21))

    assert scan(run_commits, day(2, 10))["created"] == 0  # excepted, expiry 19 days away
    counts = scan(run_commits, day(2, 23))
    assert counts["created_by_kind"] == {"exception_expiring": 1}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, ciso.email])
    assert all("2026-03-01" in m.subject for m in mail.outbox)
    assert scan(run_commits, day(2, 24))["created"] == 0


def test_kev_item_on_a_host_notifies(
    snapshot: Any, advisory: Any, run_commits: Any, fleet: Fleet, alice: Any
) -> None:
    advisory(
        "FEDORA-2026-0007",
        day(3, 1),
        [("glibc", "2.39-9.fc40", day(3, 2))],
        cves=("CVE-2026-1111",),
    )
    snapshot("h", day(3, 5), {"glibc": "2.39-8.fc40"})
    assert scan(run_commits, day(3, 6))["created"] == 0

    def add_kev() -> None:
        entry = feed.KevEntry(
            cve_id="CVE-2026-1111",
            vendor="GNU",
            product="glibc",
            name="glibc flaw",
            date_added=date(2026, 3, 10),
            due_date=date(2026, 3, 31),
        )
        _match_later(kev_store([entry]))

    run_commits(add_kev)
    assert scan(run_commits, day(3, 11))["created_by_kind"] == {"kev_on_host": 1}
    [message] = mail.outbox
    assert message.subject.startswith("Known exploited: FEDORA-2026-0007 on h")


def test_stale_feed_notifies_every_organisation_with_members(run_commits: Any) -> None:
    carol = MembershipFactory.create(role=Role.OWNER, user__username="carol@example.test")
    dave = MembershipFactory.create(role=Role.OFFICER, user__username="dave@example.test")
    OrganizationFactory.create()  # no members: nobody to tell
    FeedSource.objects.update(enabled=False)
    source = FeedSource.objects.create(
        slug="test-feed",
        kind="osv",
        url="https://feeds.example.test/osv.json",
        interval=timedelta(hours=6),
        last_success_at=day(5, 1),
        last_attempt_at=day(5, 2),
        last_error="HTTP 503",
    )
    assert scan(run_commits, day(5, 1) + timedelta(hours=11))["created"] == 0  # within 12 h
    counts = scan(run_commits, day(5, 2))
    assert counts["created_by_kind"] == {"feed_stale": 2}
    assert sorted(m.to[0] for m in mail.outbox) == [carol.user.email, dave.user.email]
    assert "HTTP 503" in mail.outbox[0].body
    assert scan(run_commits, day(5, 3))["created"] == 0  # still the same stale spell
    source.last_success_at = day(5, 4)
    source.save()
    assert scan(run_commits, day(5, 6))["created"] == 2  # recovered, then stale again


# --- webhook ------------------------------------------------------------------------------------


@pytest.fixture
def local_receivers(settings: Any) -> None:
    """The receivers below listen on 127.0.0.1, which production refuses (SSRF guard)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.mark.usefixtures("local_receivers")
def test_webhook_is_delivered_signed(
    snapshot: Any, advisory: Any, run_commits: Any, fleet: Fleet, alice: Any
) -> None:
    exposure = overdue_exposure(snapshot, advisory)
    with receiver() as hook:
        endpoint, secret = webhook_endpoint_create(
            organization=fleet.organization, url=hook.url, actor=alice
        )
        assert WebhookEndpoint.objects.get().secret == secret and endpoint.url == hook.url
        scan(run_commits, day(2, 10))
        scan(run_commits, day(2, 11))
    [(headers, body)] = hook.received
    notification = Notification.objects.get()
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Patchproof-Signature"], expected)
    assert headers["X-Patchproof-Event"] == "exposure_overdue"
    assert headers["X-Patchproof-Delivery"] == str(notification.pk)
    assert headers["Content-Type"] == "application/json"
    document = json.loads(body)
    assert document["kind"] == "exposure_overdue"
    assert document["organization"] == fleet.organization.slug
    assert document["data"]["exposure_id"] == exposure.pk
    assert (notification.webhook_status, notification.webhook_attempts) == ("sent", 1)
    assert notification.webhook_sent_at == day(2, 10)


@pytest.mark.usefixtures("local_receivers")
def test_webhook_answering_500_is_retried_then_recorded_failed(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    overdue_exposure(snapshot, advisory)
    with receiver() as hook:
        webhook_endpoint_create(organization=fleet.organization, url=hook.url)
        hook.statuses = [500] * 10
        with time_machine.travel(day(2, 10), tick=False):
            notifications_scan()  # deliveries wait for the commit: called directly below
        notification = Notification.objects.get()
        assert notification.webhook_status == "pending"
        for attempt in range(1, 4):
            with pytest.raises(WebhookTransient, match="HTTP 500"):
                notification_webhook(notification_id=notification.pk)
            notification.refresh_from_db()
            assert (notification.webhook_status, notification.webhook_attempts) == (
                "pending",
                attempt,
            )
            assert f"attempt {attempt}:" in notification.webhook_error
        failed = notification_webhook(notification_id=notification.pk, final=True)
        assert (failed.webhook_status, failed.webhook_attempts) == ("failed", 4)
        assert (
            "HTTP 500" in failed.webhook_error
            and "gave up after 4 attempts" in failed.webhook_error
        )
        # Failed is final: a redelivered task sends nothing more.
        assert notification_webhook(notification_id=notification.pk).webhook_attempts == 4
    assert len(hook.received) == 4


@pytest.mark.usefixtures("local_receivers")
def test_webhook_task_retries_then_its_last_try_records_failed(
    snapshot: Any, advisory: Any, fleet: Fleet
) -> None:
    overdue_exposure(snapshot, advisory)
    with receiver() as hook:
        webhook_endpoint_create(organization=fleet.organization, url=hook.url)
        hook.statuses = [503, 503]
        with time_machine.travel(day(2, 10), tick=False):
            notifications_scan()
            notification = Notification.objects.get()
            with pytest.raises(Retry, match="HTTP 503"):
                notify_webhook.apply(args=(notification.pk,))
            assert notify_webhook.max_retries == 5
            last = notify_webhook.apply(args=(notification.pk,), retries=5)
    assert last.result == "failed"
    notification.refresh_from_db()
    assert (notification.webhook_status, notification.webhook_attempts) == ("failed", 2)
    assert len(hook.received) == 2


def test_webhook_url_must_be_http(fleet: Fleet) -> None:
    for url in ("file:///etc/passwd", "ftp://hooks.example.test/x", "hooks.example.test/x"):
        with pytest.raises(WebhookRefused, match=r"only http:// and https:// URLs"):
            webhook_endpoint_create(organization=fleet.organization, url=url)
    assert not WebhookEndpoint.objects.exists()


def test_webhooks_to_internal_addresses_are_refused(fleet: Fleet, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url, said in (
        ("http://127.0.0.1:8080/hook", "127.0.0.1, a loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.1.2.3/hook", "10.1.2.3"),
        ("http://[::1]:9000/hook", "::1"),
        ("http://localhost/hook", "a loopback"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ):
        with pytest.raises(WebhookRefused, match=re.escape(said)):
            webhook_endpoint_create(organization=fleet.organization, url=url)
    assert not WebhookEndpoint.objects.exists()
    with pytest.raises(WebhookRefused, match="loopback"):  # checked again before each POST
        webhook_post(url="http://127.0.0.1:1/x", secret="s", body=b"{}", event="e", delivery="1")


def test_the_scan_is_scheduled_every_15_minutes() -> None:
    task = PeriodicTask.objects.get(name="notifications:scan")
    assert task.task == "evidence.notifications.scan"
    assert task.interval is not None and task.interval.every == 15 * 60
