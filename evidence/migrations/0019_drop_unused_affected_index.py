# AffectedPackage keeps the indexes its queries use, and no more (issue 4): every lookup of
# affected rows is by name (matching, VEX) or by advisory, so the (package_type, distro, name)
# index served no query. Storing a 20,000-record OSV archive wrote it 32,000 times, about a
# sixth of the database's time for the sync (bench/feeds.py).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0018_exposure_covering_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="affectedpackage",
            name="affected_type_distro_name",
        ),
    ]
