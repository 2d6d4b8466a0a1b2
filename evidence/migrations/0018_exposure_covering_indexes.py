# The dashboards' figures read from the exposure indexes alone (issue 7): in an organisation
# among many, visiting each exposure row was most of the overview's time. Three indexes carry the
# columns the figures read (`include`, PostgreSQL only): exposure_org_counts (the window counts),
# exposure_org_fixed (the fixes of a period), exposure_advisory_lag (upstream lag). The four
# single-column foreign-key indexes go: each is the leading column of another index
# (organization: exposure_org_counts, fleet: exposure_fleet_due, host: exposure_natural_key,
# advisory: exposure_advisory_lag), so matching writes two indexes fewer per exposure than before.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_auditevent_append_only"),
        ("evidence", "0017_alias_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="exposure",
            name="exposure_org_fixed",
        ),
        migrations.AlterField(
            model_name="exposure",
            name="advisory",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exposures",
                to="evidence.advisory",
            ),
        ),
        migrations.AlterField(
            model_name="exposure",
            name="fleet",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exposures",
                to="evidence.fleet",
            ),
        ),
        migrations.AlterField(
            model_name="exposure",
            name="host",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exposures",
                to="evidence.host",
            ),
        ),
        migrations.AlterField(
            model_name="exposure",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["organization", "fleet"],
                include=("tier", "window_start", "fixed_at", "due_at", "closed_reason"),
                name="exposure_org_counts",
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["organization", "fixed_at"],
                include=("tier", "fix_available_at", "window_start", "host", "closed_reason"),
                name="exposure_org_fixed",
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["advisory", "organization"],
                include=(
                    "package_distro",
                    "fix_available_at",
                    "published_at",
                    "closed_reason",
                    "window_start",
                ),
                name="exposure_advisory_lag",
            ),
        ),
    ]
