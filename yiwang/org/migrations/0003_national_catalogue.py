"""Install the national catalogue (version 1, active), so that `migrate` alone gives a usable system.

- A database that already has categories: they all become national version 1, and those whose code is in the
  project fixture (yiwang/org/fixtures/categories.csv) get its conditions, default urgency, form questions
  and time limits; nothing else is added.
- A fresh database: the fixture is loaded into national version 1.

Migrations run with historical models and cannot call the journaled services (yiwang.org.services), so this
writes through the plain ORM and the journal does not record the installation (it cannot append to the
journal's hash chain either: that needs the live models). It reads the fixture
with yiwang.org.catalogue_csv, the same reader the loader uses (`manage.py load_categories`), so a later
change to the reader or the fixture changes what a fresh installation gets — which is the point.
"""

from django.db import migrations
from django.utils import timezone


def install(apps, schema_editor):
    from yiwang.org.catalogue_csv import FIXTURE, read_catalogue_csv, write_catalogue_rows

    Catalogue = apps.get_model("org", "Catalogue")
    Category = apps.get_model("org", "Category")
    CategoryTimeLimit = apps.get_model("org", "CategoryTimeLimit")
    if Catalogue.objects.exists():
        return
    rows, errors = read_catalogue_csv(FIXTURE)
    if errors:
        raise RuntimeError(f"the category fixture is invalid: {errors}")
    now = timezone.now()
    national = Catalogue.objects.create(region=None, version=1, name="全国默认分类目录", status="active",
                                        activated_at=now, note="数字城管事件部件分类及社会治理扩展（初始安装）")
    if Category.objects.exists():
        Category.objects.update(catalogue=national)
        by_code = {row.code: row for row in rows}
        limits = []
        for category in Category.objects.all():
            row = by_code.get(category.code)
            if row is None:
                continue
            category.default_urgency = row.default_urgency
            category.filing_condition, category.closing_condition = row.filing_condition, row.closing_condition
            category.form_questions = row.form_questions
            category.default_unit_kind = category.default_unit_kind or row.default_unit_kind
            category.save(update_fields=["default_urgency", "filing_condition", "closing_condition",
                                         "form_questions", "default_unit_kind"])
            limits += [CategoryTimeLimit(category=category, step=limit.step, urgency=limit.urgency,
                                         amount=limit.amount, unit=limit.unit) for limit in row.limits]
        CategoryTimeLimit.objects.bulk_create(limits)
    else:
        models = {"category": Category, "limit": CategoryTimeLimit}
        write_catalogue_rows(rows, catalogue=national, category_model=Category, limit_model=CategoryTimeLimit,
                             save=lambda objs, kind: models[kind].objects.bulk_create(objs))


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0002_catalogue"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
