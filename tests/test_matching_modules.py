"""rpm module streams and end-of-life releases in matching, computed by hand.

A fix in module stream ruby:3.1 says nothing about a host on ruby:2.5 or on the non-modular
ruby, so module builds match only rows of their own stream (FORMATS.md: match module RPMs by
name and stream first); a module build whose stream is unknown is reported, never guessed.
A host still on an end-of-life release carries a finding until it leaves the release.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from evidence.feeds.sync import feed_sync, sources_ensure
from evidence.ingest import sbom_ingest, sbom_receive
from evidence.models import FeedSource, Fleet, Host
from tests.factories import FleetFactory, HostFactory
from tests.test_matching import (
    advisory as advisory,  # re-exported: the fixture, used by name
)
from tests.test_matching import (
    assert_recompute_changes_nothing,
    day,
    exposures,
)
from tests.test_matching import (
    run_commits as run_commits,  # re-exported: the fixture, used by name
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1] / "evidence" / "feeds" / "data"
RUBY_25 = "ruby:2.5:8090020230627084142:b46abd14"
RUBY_31 = "ruby:3.1:8090020230627084142:8aa3cd3d"


def rhel_purl(name: str, vr: str, *, module: str = "", distro: str = "rhel-8.9") -> str:
    qualifiers = f"arch=x86_64&distro={distro}" + (f"&rpmmod={module}" if module else "")
    return f"pkg:rpm/redhat/{name}@{vr}?{qualifiers}"


@pytest.fixture
def fleet() -> Fleet:
    return FleetFactory.create(distribution="rhel-8.9", sla_profile="balanced")


@pytest.fixture
def take(fleet: Fleet, run_commits: Callable[..., Any]) -> Callable[..., Host]:
    """Ingest a CycloneDX snapshot of exactly these purls for `hostname`."""

    def snapshot(hostname: str, when: datetime, purls: list[str]) -> Host:
        host = Host.objects.filter(fleet=fleet, hostname=hostname).first() or HostFactory.create(
            fleet=fleet, hostname=hostname
        )
        components = [
            {
                "type": "library",
                "bom-ref": purl,
                "name": purl.split("/")[2].split("@")[0],
                "purl": purl,
            }
            for purl in purls
        ]
        data = json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "version": 1,
                "metadata": {"timestamp": when.isoformat().replace("+00:00", "Z")},
                "components": components,
            }
        ).encode()
        document = sbom_receive(
            organization=fleet.organization, data=data, size=len(data), host=host, dispatch=False
        )
        run_commits(sbom_ingest, document_id=document.pk)
        host.refresh_from_db()
        return host

    return snapshot


def recompute(fleet: Fleet) -> dict[str, Any]:
    out = io.StringIO()
    call_command("recompute_exposures", "--org", fleet.organization.slug, "--json", stdout=out)
    return json.loads(out.getvalue())


def ruby_advisory(advisory: Any) -> None:
    """One erratum fixing ruby in two module streams (as Red Hat ships them)."""
    advisory(
        "RHSA-2026:1001",
        day(3, 1),
        [("ruby", "2.5.9-112.module+el8.9.0+20001+aaaa1111", None)],
        source="redhat-csaf",
        distro="rhel-8",
        module="ruby:2.5",
    )
    advisory(
        "RHSA-2026:1002",
        day(3, 1),
        [("ruby", "3.1.4-143.module+el8.9.0+20002+bbbb2222", None)],
        source="redhat-csaf",
        distro="rhel-8",
        module="ruby:3.1",
    )


def test_a_module_build_matches_only_its_own_stream(take: Any, advisory: Any, fleet: Fleet) -> None:
    ruby_advisory(advisory)
    host = take(
        "app-1",
        day(4, 1),
        [rhel_purl("ruby", "2.5.9-111.module+el8.9.0+19193+435404ae", module=RUBY_25)],
    )
    # Without streams, 2.5.9-111 would also sit below ruby:3.1's fix 3.1.4-143 and match it.
    [exposure] = exposures(host)
    assert exposure.advisory.external_id == "RHSA-2026:1001"
    assert exposure.window_start == day(4, 1) and exposure.fixed_at is None
    take(
        "app-1",
        day(4, 10),
        [rhel_purl("ruby", "2.5.9-112.module+el8.9.0+20001+aaaa1111", module=RUBY_25)],
    )
    [exposure] = exposures(host)
    assert (exposure.closed_reason, exposure.fixed_at) == ("upgraded", day(4, 10))
    assert_recompute_changes_nothing(fleet)


def test_a_host_on_the_newer_stream_is_judged_by_that_stream(
    take: Any, advisory: Any, fleet: Fleet
) -> None:
    ruby_advisory(advisory)
    fixed = take(
        "app-2",
        day(4, 1),
        [rhel_purl("ruby", "3.1.4-143.module+el8.9.0+20002+bbbb2222", module=RUBY_31)],
    )
    older = take(
        "app-3",
        day(4, 1),
        [rhel_purl("ruby", "3.1.2-141.module+el8.9.0+18000+cccc3333", module=RUBY_31)],
    )
    assert exposures(fixed) == []
    assert [e.advisory.external_id for e in exposures(older)] == ["RHSA-2026:1002"]


def test_module_rows_never_apply_to_the_non_modular_package_and_back(
    take: Any, advisory: Any, fleet: Fleet
) -> None:
    ruby_advisory(advisory)
    advisory(
        "RHSA-2026:1003",
        day(3, 1),
        [("ruby", "2.4.0-1.el8", None)],
        source="redhat-csaf",
        distro="rhel-8",
    )
    plain = take("plain", day(4, 1), [rhel_purl("ruby", "2.0.0-1.el8")])
    modular = take(
        "modular", day(4, 1), [rhel_purl("ruby", "2.2.0-1.module+el8.9.0+1+aaaa", module=RUBY_25)]
    )
    assert [e.advisory.external_id for e in exposures(plain)] == ["RHSA-2026:1003"]
    assert [e.advisory.external_id for e in exposures(modular)] == ["RHSA-2026:1001"]


def test_a_module_build_without_its_stream_is_reported_not_guessed(
    take: Any, advisory: Any, fleet: Fleet
) -> None:
    ruby_advisory(advisory)
    host = take(
        "mystery", day(4, 1), [rhel_purl("ruby", "2.5.9-111.module+el8.9.0+19193+435404ae")]
    )
    assert exposures(host) == []
    summary = recompute(fleet)
    assert "ruby:2.5 vs a module build without an rpmmod qualifier" in summary["unmapped_modules"]
    assert "ruby:3.1 vs a module build without an rpmmod qualifier" in summary["unmapped_modules"]


def test_end_of_life_release_is_a_finding_until_the_host_upgrades(
    take: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    sources_ensure()
    run = run_commits(feed_sync, FeedSource.objects.get(slug="retired"), path=DATA)
    assert run.status == "ok", run.errors
    old = [
        rhel_purl("centos-release", "7-9.2009.1.el7.centos", distro="centos-7"),
        rhel_purl("bash", "4.2.46-35.el7_9", distro="centos-7"),
    ]
    host = take("legacy", day(1, 10), old)
    [finding] = exposures(host)
    assert finding.advisory.source == "retired"
    assert finding.advisory.kind == "end-of-life"
    assert finding.advisory.external_id == "eol/centos-7/rpm/centos-release"
    assert finding.published_at == datetime(2024, 6, 30, tzinfo=UTC)
    # Balanced "remove or migrate": 30 days, from the end of life or from when the host was
    # first seen, whichever is later.
    assert finding.due_at == day(1, 10) + timedelta(days=30)
    assert finding.status_at(NOW) == "overdue"
    # Migrated to a supported release: the old marker package goes, the finding closes.
    take("legacy", day(3, 1), [rhel_purl("redhat-release", "9.4-0.5.el9", distro="rhel-9.4")])
    [finding] = exposures(host)
    assert (finding.closed_reason, finding.fixed_at) == ("removed", day(3, 1))
    assert_recompute_changes_nothing(fleet)


def test_a_supported_release_has_no_end_of_life_finding(
    take: Any, fleet: Fleet, run_commits: Callable[..., Any]
) -> None:
    sources_ensure()
    run_commits(feed_sync, FeedSource.objects.get(slug="retired"), path=DATA)
    host = take(
        "current", day(1, 10), [rhel_purl("redhat-release", "9.4-0.5.el9", distro="rhel-9.4")]
    )
    assert exposures(host) == []
