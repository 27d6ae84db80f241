"""The default rule table (积分制考核, seeds 001 and 003); administrators edit it afterwards."""

from django.db import migrations

# code, name, trigger, points, earner, description
DEFAULT_RULES = [
    ("visit_recorded", "记录走访", "visit_recorded", 1, "visitor",
     "走访干部每记录一次走访（走亲连心，先走访、再结合）。"),
    ("demand_recorded", "收集诉求", "demand_recorded", 1, "recorder",
     "走访、网格、民情速递中收集并录入一件诉求（民情日记：遇一事、记一文）。"),
    ("signed_on_time", "按时签收", "signed_on_time", 1, "handler_and_unit",
     "在签收时限内签收派单（赛速度）。"),
    ("sign_overdue", "签收超时", "sign_overdue", -1, "lead_unit",
     "派单后超过签收时限仍未签收。"),
    ("reply_on_time", "按期答复", "reply_on_time", 3, "handler_and_unit",
     "答复在办理期限内审核通过（按期办结）。"),
    ("rated_satisfied", "群众满意", "rated_satisfied", 2, "handler_and_unit",
     "服务对象评价“满意”（五个满意，赛质量）。"),
    ("rated_basic", "基本满意", "rated_basic", 1, "handler_and_unit",
     "服务对象评价“基本满意”。"),
    ("rated_unsatisfied", "不满意", "rated_unsatisfied", -3, "handler_and_unit",
     "服务对象评价“不满意”（重办或转督查）。"),
    ("overdue", "办理超期", "overdue", -2, "handler_and_unit",
     "超过办理期限仍未答复（每个办理周期一次）。"),
    ("supervision_issued", "被督办", "supervision_issued", -5, "user_and_unit",
     "领导或督查对诉求或单位发出督办（责任单位及诉求的承办人）。"),
    ("reminder_issued", "被催办", "reminder_issued", -1, "unit",
     "领导或督查对诉求或单位发出催办。"),
]


def add_rules(apps, schema_editor):
    PointRule = apps.get_model("points", "PointRule")
    for code, name, trigger, points, earner, description in DEFAULT_RULES:
        PointRule.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "trigger": trigger,
                "points": points,
                "earner": earner,
                "description": description,
            },
        )


def remove_rules(apps, schema_editor):
    PointRule = apps.get_model("points", "PointRule")
    PointRule.objects.filter(code__in=[r[0] for r in DEFAULT_RULES], entries__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("points", "0001_ledger")]

    operations = [migrations.RunPython(add_rules, remove_rules)]
