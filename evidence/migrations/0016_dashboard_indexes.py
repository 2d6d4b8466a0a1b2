# Indexes for the dashboards (issue 7): the Exposures page's sorts, a fleet's open exposures,
# the known-exploited exposures and the upstream lag of the overview.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0015_work_claims"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["organization", "window_start", "id"], name="exposure_org_started"
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(fields=["organization", "due_at", "id"], name="exposure_org_due"),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["organization", "tier", "due_at", "id"], name="exposure_org_tier"
            ),
        ),
        migrations.AddIndex(
            model_name="host",
            index=models.Index(fields=["hostname"], name="host_hostname"),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                condition=models.Q(("fixed_at__isnull", True)),
                fields=["fleet", "organization", "host", "tier", "advisory", "closed_reason"],
                name="exposure_fleet_open",
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                condition=models.Q(("kev_added_at__isnull", False)),
                fields=["organization"],
                name="exposure_org_kev",
            ),
        ),
        migrations.AddIndex(
            model_name="exposure",
            index=models.Index(
                fields=["organization", "fix_available_at", "advisory"],
                name="exposure_org_fix_available",
            ),
        ),
    ]
