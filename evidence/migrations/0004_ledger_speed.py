"""Ledger write speed (issue 3): a 64-bit integer package key, and fewer interval indexes.

`Package.purl_hash` was the MD5 of the purl as 32 hex characters (two B-tree indexes on text,
random keys); it becomes the first 8 bytes of the same MD5 as a signed 64-bit integer, computed
here from the old value. Two purls whose 64-bit keys collide keep the lowest id at the key and
the others move to the next free key, the probe order `evidence.ledger.packages_upsert` follows.

`PackageInterval.host` loses its own index (the host indexes start with the host), and
`present_until` and `closed_by` are indexed only where set: most intervals are open, and open
ones are found through the index of `interval_one_open_per_package`.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Q

_MAX = (1 << 63) - 1
_MIN = -(1 << 63)


def _key(md5_hex: str) -> int:
    return int.from_bytes(bytes.fromhex(md5_hex[:16]), "big", signed=True)


def _next(key: int) -> int:
    return _MIN if key == _MAX else key + 1


def purl_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    Package = apps.get_model("evidence", "Package")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Package._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET purl_key = ('x' || left(purl_hash, 16))::bit(64)::bigint"  # noqa: S608
            )
    else:
        batch = []
        for package in Package.objects.order_by("pk").only("pk", "purl_hash").iterator():
            package.purl_key = _key(package.purl_hash)
            batch.append(package)
            if len(batch) >= 1000:
                Package.objects.bulk_update(batch, ["purl_key"])
                batch = []
        Package.objects.bulk_update(batch, ["purl_key"])
    # Collisions of the 64-bit keys: astronomically rare for honest purls, but possible.
    clashes = (
        Package.objects.values("purl_key").annotate(n=Count("pk")).filter(n__gt=1)
    ).values_list("purl_key", flat=True)
    for key in list(clashes):
        movers = list(Package.objects.filter(purl_key=key).order_by("pk"))[1:]
        for package in movers:
            candidate = _next(key)
            while Package.objects.filter(purl_key=candidate).exists():
                candidate = _next(candidate)
            package.purl_key = candidate
            package.save(update_fields=["purl_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0003_feeds"),
    ]

    operations = [
        migrations.AddField(
            model_name="package",
            name="purl_key",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(purl_keys, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="package", name="purl_hash"),
        migrations.RenameField(model_name="package", old_name="purl_key", new_name="purl_hash"),
        migrations.AlterField(
            model_name="package",
            name="purl_hash",
            field=models.BigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="packageinterval",
            name="closed_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="evidence.sbomdocument",
            ),
        ),
        migrations.AlterField(
            model_name="packageinterval",
            name="host",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="package_intervals",
                to="evidence.host",
            ),
        ),
        migrations.AddIndex(
            model_name="packageinterval",
            index=models.Index(
                condition=Q(closed_by__isnull=False),
                fields=["closed_by"],
                name="interval_closed_by",
            ),
        ),
        migrations.RemoveIndex(model_name="packageinterval", name="interval_host_open"),
        migrations.AddIndex(
            model_name="packageinterval",
            index=models.Index(
                condition=Q(present_until__isnull=False),
                fields=["host", "present_until"],
                name="interval_host_closed",
            ),
        ),
    ]
