"""Demo data of supervision, built through the real services: ~20 督办 / 催办 (some
answered and closed, one sent back, some overdue) and 15 监督问效 items in the style of the
47 of seed 004, with milestones, reports and linked demands. Idempotent."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from sanfuwu.core import clock
from sanfuwu.demands.models import Demand
from sanfuwu.demands.workflow import CLOCK_STATES
from sanfuwu.orgs.models import Unit, UnitKind, User
from sanfuwu.orgs.roles import Role

from . import services
from .models import SupervisionItem, SupervisionOrder

PERIOD = "2026年"

# (title, target) in the spirit of seed 004's 47 监督项目
ITEMS = [
    ("优化企业开办审批流程", "企业开办全流程压缩至1个工作日内，全年办结率100%。"),
    ("老旧小区物业提价提质", "完成22个老旧小区物业提价提质，居民满意率达90%以上。"),
    ("高山巡回医疗服务点建设", "设立18个高山巡回卫生健康服务点，全年服务7500人次以上。"),
    ("传统制造业数字化改造", "新建数字化车间10个，完成“机器换人”项目30个。"),
    ("人才服务卡落地", "发放人才服务卡500张，覆盖医疗保健、绿色通行等服务。"),
    ("重点项目工地书记全覆盖", "148个重点项目全部选派工地书记，协调解决难题百余个。"),
    ("垃圾分类示范小区创建", "新增垃圾分类示范小区20个，居民参与率达85%。"),
    ("开放空间议事常态化", "全年组织开放空间议事100场以上，解决问题700个以上。"),
    ("政企直通车诉求办结提速", "企业诉求平均办结时间缩短至5个工作日以内。"),
    ("山区便民服务队代办", "山区群众社保、民政等事项代办率达95%。"),
    ("老旧小区加装电梯", "全年完成既有住宅加装电梯40台。"),
    ("背街小巷环境整治", "完成背街小巷整治60条，群众满意率90%以上。"),
    ("红色帮办员服务民营企业", "335名红色帮办员联系民营企业，解决问题1500个以上。"),
    ("停车难综合治理", "新增公共停车泊位2000个，小区停车位划分问题清零。"),
    ("农村生活污水治理提标", "完成30个行政村生活污水治理设施提标改造。"),
]


def _head_of(unit: Unit) -> User | None:
    return (
        User.objects.filter(memberships__unit=unit, memberships__role=Role.UNIT_HEAD)
        .order_by("pk")
        .first()
    )


def build_supervision(log: Callable[[str], None] = print, *, seed: int = 2026) -> int:
    """Create the demo orders and items once; returns how many orders it created."""
    supervisor = User.objects.filter(username="qu_ducha").first()
    leader = User.objects.filter(username="qu_lingdao").first()
    if supervisor is None or leader is None:
        log("督办示范数据：缺少 qu_ducha / qu_lingdao，跳过")
        return 0
    rng = random.Random(seed)
    created = 0
    if not SupervisionOrder.objects.filter(issued_by__in=[supervisor, leader]).exists():
        created = _orders(rng, supervisor, leader)
    items = _items(rng, supervisor)
    warned = services.sweep_supervision_warnings()
    swept = services.sweep_supervision_orders()
    log(f"督办：新增 {created}，预警 {warned}，超期标记 {swept}；监督问效项目：新增 {items}")
    return created


def _orders(rng: random.Random, supervisor: User, leader: User) -> int:
    now = timezone.now()
    open_demands = Demand.objects.filter(state__in=CLOCK_STATES, lead_unit__isnull=False)
    # orders issued in the past go to demands that existed then (when the demo has them)
    older = open_demands.filter(created_at__lt=now - timedelta(days=21))
    demands = list(
        (older if older.exists() else open_demands).select_related("lead_unit").order_by("pk")[:400]
    )
    rng.shuffle(demands)
    units = list(
        Unit.objects.filter(kind__in=[UnitKind.STREET, UnitKind.DEPARTMENT]).order_by("path")
    )
    count = 0
    # plan: what happens to each order after it is issued
    plan = ["closed"] * 5 + ["answered"] * 4 + ["returned"] * 1 + ["open"] * 4 + ["overdue"] * 6
    for i, fate in enumerate(plan):
        issuer = supervisor if i % 3 else leader
        on_unit = i % 4 == 3 or not demands
        days = rng.choice([2, 3, 5])
        # overdue ones were issued long enough ago; open ones recently
        ago = timedelta(days=rng.randint(12, 20) if fate != "open" else rng.randint(0, 1))
        with clock.frozen_at(now - ago):
            if on_unit:
                unit = units[i % len(units)] if units else None
                if unit is None:
                    continue
                order = services.order_issue(
                    by=issuer,
                    kind="cuiban" if i % 2 else "duban",
                    unit=unit,
                    title=f"{unit.name}三服务诉求积压清理",
                    requirement="请说明本单位超期诉求的原因、整改措施和办结时限。",
                    working_days=days,
                )
            else:
                d = demands.pop()
                order = services.order_issue(
                    by=issuer,
                    kind="duban" if i % 2 else "cuiban",
                    demand=d,
                    requirement="该诉求群众反映强烈，请抓紧办理并书面说明进展和办结时限。",
                    working_days=days,
                )
        count += 1
        head = _head_of(order.unit)
        if fate in ("overdue", "open") or head is None:
            continue
        answered_at = order.created_at + timedelta(days=rng.randint(1, 4))
        with clock.frozen_at(answered_at):
            services.order_answer(
                order=order,
                by=head,
                text="已召集相关科室专题研究，明确专人跟进，三个工作日内办结。",
            )
        with clock.frozen_at(answered_at + timedelta(hours=rng.randint(2, 30))):
            if fate == "closed":
                services.order_close(order=order, by=issuer, note="答复认可。")
            elif fate == "returned":
                services.order_return(order=order, by=issuer, reason="未说明具体办结时限，请补充。")
    return count


def _items(rng: random.Random, supervisor: User) -> int:
    units = list(
        Unit.objects.filter(kind__in=[UnitKind.DEPARTMENT, UnitKind.STREET]).order_by("path")
    )
    if not units:
        return 0
    today = timezone.localdate()
    statuses = ["in_progress", "in_progress", "done", "lagging", "not_started"]
    created = 0
    for n, (title, target) in enumerate(ITEMS):
        if SupervisionItem.objects.filter(title=title, period=PERIOD).exists():
            continue
        unit = units[(n * 3) % len(units)]
        item = services.item_create(
            by=supervisor,
            title=title,
            target=target,
            owner_unit=unit,
            period=PERIOD,
            status=statuses[n % len(statuses)],
        )
        created += 1
        for k, text in enumerate(["制定实施方案", "完成过半任务", "全面完成并总结"]):
            services.milestone_add(
                item=item,
                by=supervisor,
                due_date=today + timedelta(days=60 * k - 60),
                description=text,
            )
        head = _head_of(unit)
        if head is None:
            continue
        for m in list(item.milestones.order_by("due_date"))[: 1 + n % 2]:
            services.milestone_done(milestone=m, by=head)
        for k in range(1 + n % 2):
            services.report_add(
                item=item,
                by=head,
                report_date=today - timedelta(days=30 * (k + 1)),
                text=f"{title}：本月完成阶段任务，{rng.choice(['进度符合计划', '个别节点滞后，已制定追赶措施', '已超额完成月度目标'])}。",
            )
        evidence = (
            Demand.objects.filter(lead_unit=unit).order_by("pk").values_list("pk", flat=True)[:2]
        )
        for pk in evidence:
            services.item_link_demand(item=item, by=supervisor, demand=pk)
    return created
