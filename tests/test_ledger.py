"""The host package ledger: intervals from snapshots, late arrivals, order independence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence import ledger as ledger_module
from evidence.ledger import (
    ledger_apply,
    packages_known,
    packages_upsert,
    purl_hash,
    snapshot_apply,
    snapshot_time_unique,
)
from evidence.models import Host, Package, PackageInterval, SbomDocument, SbomStatus
from evidence.sbom.model import Component
from tests.factories import HostFactory

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def t(day: int) -> datetime:
    return T0 + timedelta(days=day)


def rpm(name: str, version: str = "1.0-1.fc40") -> Component:
    purl = f"pkg:rpm/fedora/{name}@{version}?arch=x86_64&distro=fedora-40"
    return Component(purl=purl, type="rpm", name=name, version=version, namespace="fedora")


def snapshot(
    host: Host, when: datetime, components: list[Component], *, ingest_path: bool = False
) -> SbomDocument:
    """What sbom_ingest does for one host snapshot, without the parsing: `packages_upsert` then
    `ledger_apply`, or with `ingest_path` the combined `snapshot_apply` that sbom_ingest uses."""
    with transaction.atomic():
        locked = Host.objects.select_for_update().get(pk=host.pk)
        doc = SbomDocument.objects.create(
            organization=host.fleet.organization,
            fleet=host.fleet,
            host=host,
            status=SbomStatus.PROCESSING,
        )
        taken = snapshot_time_unique(host=locked, wanted=when, document_id=doc.pk)
        if ingest_path:
            snapshot_apply(host=locked, document=doc, taken_at=taken, components=components)
        else:
            ids = packages_upsert(components)
            ledger_apply(host=locked, document=doc, taken_at=taken, package_ids=set(ids.values()))
        SbomDocument.objects.filter(pk=doc.pk).update(status=SbomStatus.INGESTED, snapshot_at=taken)
    return doc


def ledger(host: Host) -> list[tuple[str, datetime, datetime | None]]:
    rows = PackageInterval.objects.filter(host=host).values_list(
        "package__name", "package__version", "present_from", "present_until"
    )
    return sorted((f"{n}@{v}", a, b) for n, v, a, b in rows)


@pytest.mark.django_db
def test_upgrade_closes_the_old_version_and_opens_the_new() -> None:
    host = HostFactory.create()
    snapshot(host, t(1), [rpm("openssl", "3.2.2-3.fc40"), rpm("bash")])
    snapshot(host, t(5), [rpm("openssl", "3.2.2-9.fc40"), rpm("bash")])

    assert ledger(host) == [
        ("bash@1.0-1.fc40", t(1), None),
        ("openssl@3.2.2-3.fc40", t(1), t(5)),
        ("openssl@3.2.2-9.fc40", t(5), None),
    ]


@pytest.mark.django_db
def test_removed_package_interval_closes_at_the_snapshot_without_it() -> None:
    host = HostFactory.create()
    snapshot(host, t(1), [rpm("deepin-terminal"), rpm("bash")])
    snapshot(host, t(2), [rpm("bash")])
    snapshot(host, t(3), [rpm("bash")])

    assert ledger(host) == [
        ("bash@1.0-1.fc40", t(1), None),
        ("deepin-terminal@1.0-1.fc40", t(1), t(2)),
    ]


@pytest.mark.django_db
def test_late_snapshot_is_placed_into_history_not_read_as_a_downgrade() -> None:
    host = HostFactory.create()
    snapshot(host, t(1), [rpm("a", "1"), rpm("b")])
    snapshot(host, t(3), [rpm("a", "2"), rpm("b")])
    snapshot(host, t(2), [rpm("a", "1"), rpm("c")])  # arrives last, taken in between

    assert ledger(host) == [
        ("a@1", t(1), t(3)),
        ("a@2", t(3), None),
        ("b@1.0-1.fc40", t(1), t(2)),
        ("b@1.0-1.fc40", t(3), None),
        ("c@1.0-1.fc40", t(2), t(3)),
    ]


@pytest.mark.django_db
def test_snapshot_older_than_all_others_extends_history_backwards() -> None:
    host = HostFactory.create()
    snapshot(host, t(5), [rpm("a")])
    snapshot(host, t(1), [rpm("a"), rpm("b")])

    assert ledger(host) == [("a@1.0-1.fc40", t(1), None), ("b@1.0-1.fc40", t(1), t(5))]


@pytest.mark.django_db
def test_two_snapshots_at_the_same_time_get_distinct_times() -> None:
    host = HostFactory.create()
    first = snapshot(host, t(1), [rpm("a")])
    second = snapshot(host, t(1), [rpm("b")])
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.snapshot_at == t(1) + timedelta(microseconds=1)
    assert ledger(host) == [
        ("a@1.0-1.fc40", t(1), t(1) + timedelta(microseconds=1)),
        ("b@1.0-1.fc40", t(1) + timedelta(microseconds=1), None),
    ]


@pytest.mark.django_db
def test_packages_are_shared_between_hosts() -> None:
    one, two = HostFactory.create(), HostFactory.create()
    snapshot(one, t(1), [rpm("a"), rpm("b")])
    snapshot(two, t(1), [rpm("a"), rpm("b")])
    from evidence.models import Package

    assert Package.objects.count() == 2
    assert PackageInterval.objects.count() == 4


# Each snapshot: a day (distinct) and a set of packages drawn from a small universe, so that
# packages come, go, come back and change versions.
UNIVERSE = [rpm(name, version) for name in "abcde" for version in ("1", "2")]
snapshots = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60),
        st.sets(st.integers(min_value=0, max_value=len(UNIVERSE) - 1), max_size=6),
    ),
    min_size=1,
    max_size=7,
    unique_by=lambda s: s[0],
)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=snapshots, order=st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_ledger(history, order) -> None:
    in_order, shuffled, ingested = (HostFactory.create() for _ in range(3))
    for day, members in sorted(history):
        snapshot(in_order, t(day), [UNIVERSE[i] for i in sorted(members)])
    arrival = list(history)
    order.shuffle(arrival)
    for day, members in arrival:
        snapshot(shuffled, t(day), [UNIVERSE[i] for i in sorted(members)])
        snapshot(ingested, t(day), [UNIVERSE[i] for i in sorted(members)], ingest_path=True)

    assert ledger(shuffled) == ledger(in_order)
    assert ledger(ingested) == ledger(in_order)
    # And the ledger says exactly what each snapshot said.
    for day, members in history:
        present = {
            f"{n}@{v}"
            for n, v in PackageInterval.objects.filter(host=shuffled, present_from__lte=t(day))
            .exclude(present_until__lte=t(day))
            .values_list("package__name", "package__version")
        }
        assert present == {f"{UNIVERSE[i].name}@{UNIVERSE[i].version}" for i in members}


@pytest.mark.django_db
def test_purls_whose_keys_collide_get_packages_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key is only an index: purls that share one (here all of them) still get one package
    each, found again by their purl, on PostgreSQL's COPY path and the ORM path alike."""
    monkeypatch.setattr(ledger_module, "purl_hash", lambda purl: 42)
    first = packages_upsert([rpm("a"), rpm("b")])
    second = packages_upsert([rpm("c"), rpm("b"), rpm("a")])

    assert len(set(first.values())) == 2
    assert {purl: second[purl] for purl in first} == first
    stored = dict(Package.objects.values_list("purl", "purl_hash"))
    assert sorted(stored.values()) == [42, 43, 44]
    assert {stored[purl] for purl in first} == {42, 43}

    host = HostFactory.create()
    snapshot(host, t(1), [rpm("a"), rpm("b")], ingest_path=True)
    snapshot(host, t(2), [rpm("b"), rpm("c")], ingest_path=True)
    assert ledger(host) == [
        ("a@1.0-1.fc40", t(1), t(2)),
        ("b@1.0-1.fc40", t(1), None),
        ("c@1.0-1.fc40", t(2), None),
    ]


@pytest.mark.django_db
def test_key_probing_wraps_around_the_largest_key(monkeypatch: pytest.MonkeyPatch) -> None:
    top = (1 << 63) - 1
    monkeypatch.setattr(ledger_module, "purl_hash", lambda purl: top)
    ids = packages_upsert([rpm("a"), rpm("b")])

    assert len(set(ids.values())) == 2
    assert sorted(Package.objects.values_list("purl_hash", flat=True)) == [-(1 << 63), top]


def record_lookups(monkeypatch: pytest.MonkeyPatch, *, miss_first: bool = False) -> list[Any]:
    """Replace `_packages_at` with one that records the keys of every look-up; with
    `miss_first`, the first look-up finds nothing (a stale read, or a sample that missed)."""
    real = ledger_module._packages_at
    lookups: list[list[int]] = []

    def recording(keys: list[int]) -> dict[int, tuple[int, str]]:
        lookups.append(list(keys))
        return {} if miss_first and len(lookups) == 1 else real(keys)

    monkeypatch.setattr(ledger_module, "_packages_at", recording)
    return lookups


@pytest.mark.django_db(transaction=True)
def test_a_package_inserted_meanwhile_is_looked_up_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The look-up missed a package that another ingest inserted before our write: the write
    fails (PostgreSQL) or skips it (elsewhere), and the next round finds it."""
    existing = packages_upsert([rpm("a")])
    lookups = record_lookups(monkeypatch, miss_first=True)
    with transaction.atomic():
        ids = packages_upsert([rpm("a"), rpm("b")])

    assert ids[rpm("a").purl] == existing[rpm("a").purl]
    assert Package.objects.count() == 2
    assert Package.objects.get(pk=ids[rpm("b").purl]).purl == rpm("b").purl
    assert len(lookups) == 2


@pytest.mark.django_db
def test_many_new_packages_are_written_without_looking_each_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new host whose packages are all new: a sample of the keys is looked up, then every
    package written at once, and the ids returned are those stored."""
    if connection.vendor != "postgresql":
        pytest.skip("the write-first path is PostgreSQL's (COPY)")
    monkeypatch.setattr(ledger_module, "_WRITE_FIRST_FROM", 4)
    monkeypatch.setattr(ledger_module, "_SAMPLE", 2)
    lookups = record_lookups(monkeypatch)
    ids = packages_upsert([rpm(f"p{n}") for n in range(10)])

    assert [len(keys) for keys in lookups] == [2]
    stored = dict(Package.objects.values_list("purl", "pk"))
    assert ids == stored and len(stored) == 10


@pytest.mark.django_db(transaction=True)
def test_a_stored_package_the_sample_missed_undoes_the_write_and_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sample found nothing, but one of the packages is stored: the write of all of them
    fails on its key, is undone, and the look-up settles every purl (nothing is written
    twice, the stored package keeps its id)."""
    if connection.vendor != "postgresql":
        pytest.skip("the write-first path is PostgreSQL's (COPY)")
    existing = packages_upsert([rpm("p3")])
    monkeypatch.setattr(ledger_module, "_WRITE_FIRST_FROM", 4)
    lookups = record_lookups(monkeypatch, miss_first=True)
    with transaction.atomic():
        ids = packages_upsert([rpm(f"p{n}") for n in range(6)])

    assert ids[rpm("p3").purl] == existing[rpm("p3").purl]
    assert dict(Package.objects.values_list("purl", "pk")) == ids
    assert len(lookups[1]) == 6  # after the failed write, every key is looked up


@pytest.mark.django_db
def test_known_packages_are_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    host = HostFactory.create()
    snapshot(host, t(1), [rpm("a"), rpm("b")], ingest_path=True)
    known = packages_known(host=host)
    assert set(known) == {rpm("a").purl, rpm("b").purl}

    looked_up = record_lookups(monkeypatch)
    ids = packages_upsert([rpm("a"), rpm("b"), rpm("c")], known=known)
    # (Twice without COPY: the ORM path reads what it wrote in a second round.)
    assert looked_up and all(keys == [purl_hash(rpm("c").purl)] for keys in looked_up)
    assert {purl: ids[purl] for purl in known} == known


def test_purl_key_is_the_first_half_of_the_md5_as_the_migration_computes_it() -> None:
    import hashlib
    import importlib

    migration = importlib.import_module("evidence.migrations.0004_ledger_speed")
    for purl in ("pkg:rpm/fedora/bash@5.2-1.fc40?arch=x86_64", "pkg:generic/x@1", "é"):
        old_key = hashlib.md5(purl.encode(), usedforsecurity=False).hexdigest()  # 0002's key
        assert migration._key(old_key) == purl_hash(purl)
        assert -(1 << 63) <= purl_hash(purl) < (1 << 63)
