from django.db import migrations, models

import sanfuwu.demands.models


def fill_tracking_codes(apps, schema_editor):
    Demand = apps.get_model("demands", "Demand")
    seen: set[str] = set()
    batch = []
    for demand in Demand.objects.filter(tracking_code__isnull=True).only("pk").iterator():
        code = sanfuwu.demands.models.new_tracking_code()
        while code in seen:
            code = sanfuwu.demands.models.new_tracking_code()
        seen.add(code)
        demand.tracking_code = code
        batch.append(demand)
        if len(batch) >= 1000:
            Demand.objects.bulk_update(batch, ["tracking_code"])
            batch = []
    if batch:
        Demand.objects.bulk_update(batch, ["tracking_code"])


class Migration(migrations.Migration):
    dependencies = [("demands", "0003_category_publishable")]

    operations = [
        migrations.AddField(
            model_name="demand",
            name="tracking_code",
            field=models.CharField(max_length=11, null=True, verbose_name="查询码"),
        ),
        migrations.RunPython(fill_tracking_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="demand",
            name="tracking_code",
            field=models.CharField(
                default=sanfuwu.demands.models.new_tracking_code,
                max_length=11,
                unique=True,
                verbose_name="查询码",
            ),
        ),
        migrations.AddField(
            model_name="demand",
            name="warned_cycle",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
