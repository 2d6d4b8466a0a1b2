# AdvisoryAlias keeps the indexes its queries use, and no more, so that storing a feed writes
# fewer (issue 4): the advisory_id index is dropped (the unique (advisory_id, alias) index serves
# those lookups), and the alias index loses its varchar_pattern_ops twin on PostgreSQL (nothing
# looks aliases up by prefix alone); a plain `advisory_alias` btree index stays for `alias=` and
# `alias__in` lookups.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0016_dashboard_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="advisoryalias",
            name="advisory",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="aliases",
                to="evidence.advisory",
            ),
        ),
        migrations.AlterField(
            model_name="advisoryalias",
            name="alias",
            field=models.CharField(max_length=255),
        ),
        migrations.AddIndex(
            model_name="advisoryalias",
            index=models.Index(fields=["alias"], name="advisory_alias"),
        ),
    ]
