"""Build the demo district (示范区). Idempotent and resumable: run it twice, nothing doubles.

Demands are driven through the real service functions with the clock set to past dates, so
their timelines, deadlines and lights are what the platform itself would have produced.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from sanfuwu.core import clock
from sanfuwu.data import TIPDM_DIR
from sanfuwu.demands import services as svc
from sanfuwu.demands.models import Category, Channel, Demand, Kind, ReturnReason
from sanfuwu.demands.tasks import notifications_suppressed
from sanfuwu.demands.taxonomy import load_taxonomy_csv
from sanfuwu.directory.demo import build_directory
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import make_id_number, make_uscc
from sanfuwu.insights.demo import build_hot_topics
from sanfuwu.orgs.models import Grid, Membership, Unit, UnitKind, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.services import unit_create
from sanfuwu.points.demo import build_points
from sanfuwu.supervision.demo import build_supervision
from sanfuwu.visits.demo import build_visits

DEMO_PASSWORD = "demo12345"
ROOT_CODE = "SFQ"

STREETS = ["城东街道", "城西街道", "城南街道", "城北街道", "江滨街道", "湖畔镇", "青山镇", "白沙镇"]
# (department, its sections, the first-level categories it answers for by default)
DEPARTMENTS: list[tuple[str, list[str], list[str]]] = [
    ("住房和城乡建设局", ["物业管理科", "建筑市场科", "城建科"], ["城乡建设"]),
    ("人力资源和社会保障局", ["劳动关系科", "社会保险科", "就业促进科"], ["劳动和社会保障"]),
    ("教育局", ["基础教育科", "学前教育科"], ["教育文体"]),
    ("商务局", ["市场秩序科", "商贸流通科"], ["商贸旅游"]),
    ("生态环境分局", ["环境监察科", "污染防治科"], ["环境保护"]),
    ("卫生健康局", ["医政科", "疾控科"], ["卫生计生"]),
    ("交通运输局", ["运输管理科", "道路科"], ["交通运输"]),
    ("公安分局", ["治安科", "交警大队"], ["政法"]),
    ("市场监督管理局", ["消费者权益科", "食品安全科"], ["经济管理"]),
    ("自然资源和规划分局", ["规划科", "用地科"], ["国土资源"]),
    ("农业农村局", ["农经科", "乡村振兴科"], ["农村农业"]),
    ("民政局", ["社会救助科", "养老服务科"], ["民政"]),
    ("科学技术局", ["高新技术科"], ["科技与信息产业"]),
    ("财政局", ["预算科"], ["财税金融"]),
    ("文化和旅游局", ["文化科", "旅游科"], []),
    ("应急管理局", ["安全生产科"], []),
    ("水利局", ["水政科"], []),
    ("城市管理局", ["市容科", "执法大队"], []),
    ("综合行政执法局", ["执法一中队"], []),
    ("发展和改革局", ["项目科"], []),
    ("经济和信息化局", ["企业服务科", "工业科"], []),
    ("司法局", ["法律援助科"], []),
    ("退役军人事务局", ["优抚科"], []),
    ("医疗保障局", ["待遇保障科"], []),
    ("信访局", ["来访接待科"], []),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰海燕春梅文辉鹏飞"
INDUSTRIES = [
    "制造业",
    "批发和零售业",
    "信息传输、软件和信息技术服务业",
    "建筑业",
    "住宿和餐饮业",
    "科学研究和技术服务业",
    "交通运输、仓储和邮政业",
    "租赁和商务服务业",
]


def guess_category_name(title: str, body: str) -> str:
    """The hot-topic and replied files carry no label: let the shipped router decide."""
    from sanfuwu.insights.routing import load_router

    ranking = load_router().suggest(title, body).ranking
    return ranking[0][0] if ranking else "城乡建设"


@dataclass
class Message:
    title: str
    body: str
    category: str
    reply: str


def load_messages(limit: int = 10_000) -> list[Message]:
    """Real messages with original text: labelled 'original' rows, hot topics, replied ones."""
    out: list[Message] = []
    seen: set[str] = set()

    def add(title: str, body: str, category: str | None, reply: str = "") -> None:
        title, body = title.strip()[:200], body.strip()[:5000]
        if len(out) >= limit or not title or not body or title in seen:
            return
        category = category or guess_category_name(title, body)
        seen.add(title)
        out.append(Message(title, body, category, reply.strip()[:5000]))

    with (TIPDM_DIR / "messages_train.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["text_form"] == "original":
                add(row["title"], row["body"], row["label"])
    with (TIPDM_DIR / "replied_messages.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            add(row["title"], row["body"], None, row["reply"])
    with (TIPDM_DIR / "hot_topic_messages.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            add(row["title"], row["body"], None)
    return out


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "137", "150", "158", "186", "189", "177"]) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


# ------------------------------------------------------------------------------------------------
# organisation, people, service objects


@dataclass
class District:
    root: Unit
    streets: list[Unit]
    departments: list[Unit]
    communities: list[Unit]
    dispatchers: dict[int, User]  # unit id -> dispatcher
    heads: dict[int, User]  # unit id -> unit head
    handlers: dict[int, list[User]]  # unit id -> handlers
    supervisor: User
    grid_workers: list[User]
    portal_users: list[User]


def _user(username: str, name: str, password_hash: str, **extra) -> User:
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={"display_name": name, "password": password_hash, **extra},
    )
    return user


def _member(user: User, unit: Unit, role: str) -> None:
    Membership.objects.get_or_create(user=user, unit=unit, role=role)


def _unit(parent: Unit | None, code: str, name: str, kind: str) -> Unit:
    found = Unit.objects.filter(code=code).first()
    return found or unit_create(parent=parent, code=code, name=name, kind=kind)


@transaction.atomic
def build_organisation(rng: random.Random, log: Callable[[str], None]) -> District:
    pw = make_password(DEMO_PASSWORD)
    root = _unit(None, ROOT_CODE, "示范区", UnitKind.DISTRICT)
    streets, communities, departments = [], [], []
    dispatchers: dict[int, User] = {}
    heads: dict[int, User] = {}
    handlers: dict[int, list[User]] = {}
    n_comm = 0
    for si, sname in enumerate(STREETS, start=1):
        street = _unit(root, f"{ROOT_CODE}-J{si:02d}", sname, UnitKind.STREET)
        streets.append(street)
        per = 8 if si <= 4 else 7  # 60 村社 in all
        for ci in range(1, per + 1):
            n_comm += 1
            kind = UnitKind.COMMUNITY if sname.endswith("街道") else UnitKind.VILLAGE
            suffix = "社区" if kind == UnitKind.COMMUNITY else "村"
            name = f"{sname[:2]}{['一', '二', '三', '四', '五', '六', '七', '八'][ci - 1]}{suffix}"
            communities.append(_unit(street, f"{street.code}-C{ci:02d}", name, kind))
    for di, (dname, sections, _) in enumerate(DEPARTMENTS, start=1):
        dept = _unit(root, f"{ROOT_CODE}-B{di:02d}", dname, UnitKind.DEPARTMENT)
        departments.append(dept)
        for ki, kname in enumerate(sections, start=1):
            _unit(dept, f"{dept.code}-K{ki:02d}", kname, UnitKind.SECTION)

    admin = _user("admin", "系统管理员", pw, is_staff=True, is_superuser=True)
    _member(admin, root, Role.ADMIN)
    d_disp = _user("qu_paidan", "区三服务办派单员", pw)
    _member(d_disp, root, Role.DISPATCHER)
    dispatchers[root.pk] = d_disp
    _member(_user("qu_lingdao", "区领导", pw), root, Role.LEADER)
    supervisor = _user("qu_ducha", "区督查室", pw)
    _member(supervisor, root, Role.SUPERVISOR)
    visitor = _user("qu_zoufang", "走访干部", pw)
    _member(visitor, root, Role.VISITOR)
    for si, street in enumerate(streets, start=1):
        u = _user(f"jd{si}_paidan", f"{street.name}派单员", pw)
        _member(u, street, Role.DISPATCHER)
        dispatchers[street.pk] = u
        head = _user(f"jd{si}_fuzeren", f"{street.name}负责人", pw)
        _member(head, street, Role.UNIT_HEAD)
        _member(_user(f"jd{si}_lingdao", f"{street.name}书记", pw), street, Role.LEADER)
        heads[street.pk] = head
        h = _user(f"jd{si}_chengban", f"{street.name}承办人", pw)
        _member(h, street, Role.HANDLER)
        handlers[street.pk] = [h]
    for di, dept in enumerate(departments, start=1):
        head = _user(f"bm{di:02d}_fuzeren", f"{dept.name}负责人", pw)
        _member(head, dept, Role.UNIT_HEAD)
        heads[dept.pk] = head
        hs = []
        for k in (1, 2):
            h = _user(f"bm{di:02d}_chengban{k}", f"{dept.name}承办人{k}", pw)
            _member(h, dept, Role.HANDLER)
            hs.append(h)
        handlers[dept.pk] = hs
    for ci, comm in enumerate(communities, start=1):
        head = _user(f"cs{ci:02d}_fuzeren", f"{comm.name}书记", pw)
        _member(head, comm, Role.UNIT_HEAD)
        heads[comm.pk] = head
        h = _user(f"cs{ci:02d}_chengban", f"{comm.name}专干", pw)
        _member(h, comm, Role.HANDLER)
        handlers[comm.pk] = [h]

    # 400 grids, one grid worker each
    grid_workers: list[User] = []
    if not Grid.objects.exists():
        workers = []
        for gi in range(400):
            workers.append(
                User(username=f"wgy{gi + 1:03d}", display_name=f"网格员{gi + 1:03d}", password=pw)
            )
        User.objects.bulk_create(workers, ignore_conflicts=True)
        workers_by_name = {u.username: u for u in User.objects.filter(username__startswith="wgy")}
        memberships, grids = [], []
        for gi in range(400):
            comm = communities[gi % len(communities)]
            grids.append(
                Grid(
                    code=f"{comm.code}-G{gi // len(communities) + 1:02d}",
                    name=f"{comm.name}第{gi // len(communities) + 1}网格",
                    community=comm,
                )
            )
        Grid.objects.bulk_create(grids)
        grids = list(Grid.objects.order_by("id"))
        through = Grid.workers.through
        links = []
        for gi, grid in enumerate(grids):
            worker = workers_by_name[f"wgy{gi + 1:03d}"]
            links.append(through(grid_id=grid.pk, user_id=worker.pk))
            memberships.append(
                Membership(user=worker, unit_id=grid.community_id, role=Role.GRID_WORKER)
            )
        through.objects.bulk_create(links)
        Membership.objects.bulk_create(memberships, ignore_conflicts=True)
    grid_workers = list(User.objects.filter(username__startswith="wgy").order_by("username")[:400])

    # category → department defaults
    load_taxonomy_csv(TIPDM_DIR / "taxonomy.csv")
    for dept, (_, _, cats) in zip(departments, DEPARTMENTS, strict=True):
        Category.objects.filter(level=1, name__in=cats, default_unit__isnull=True).update(
            default_unit=dept
        )

    # service objects: 500 enterprises, 3,000 residents, and their portal accounts
    if not Enterprise.objects.exists():
        grids = list(Grid.objects.order_by("id"))
        Enterprise.objects.bulk_create(
            [
                Enterprise(
                    name=f"示范{['智能', '精密', '新材料', '电子', '食品', '纺织', '物流', '软件'][i % 8]}{['科技', '制造', '贸易', '实业'][i % 4]}有限公司{i + 1:03d}",
                    uscc=make_uscc(i + 1),
                    industry=INDUSTRIES[i % len(INDUSTRIES)],
                    is_above_scale=(i % 3 == 0),
                    address=f"示范区{STREETS[i % 8]}产业园{i % 40 + 1}号",
                    contact_name=person_name(rng),
                    contact_phone=mobile(rng),
                    grid=grids[i % len(grids)],
                )
                for i in range(500)
            ]
        )
        Resident.objects.bulk_create(
            [
                Resident(
                    name=person_name(rng),
                    phone=mobile(rng),
                    id_number=make_id_number(
                        birth=date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55)),
                        seq=i + 1,
                    ),
                    address=f"示范区{STREETS[i % 8]}{i % 97 + 1}幢{i % 30 + 1}0{i % 4 + 1}室",
                    grid=grids[i % len(grids)],
                )
                for i in range(3000)
            ]
        )
    portal_users = []
    for i, ent in enumerate(Enterprise.objects.order_by("id")[:3], start=1):
        u = _user(f"qiye{i}", ent.name, pw)
        ent.accounts.add(u)
        portal_users.append(u)
    for i, res in enumerate(Resident.objects.order_by("id")[:3], start=1):
        u = _user(f"qunzhong{i}", res.name, pw)
        if res.account_id is None:
            res.account = u
            res.save(update_fields=["account"])
        portal_users.append(u)
    log(
        f"组织：{Unit.objects.count()} 个单位，{Grid.objects.count()} 个网格，{User.objects.count()} 个用户"
    )
    return District(
        root,
        streets,
        departments,
        communities,
        dispatchers,
        heads,
        handlers,
        supervisor,
        grid_workers,
        portal_users,
    )


# ------------------------------------------------------------------------------------------------
# demands

# the state each demo demand is driven to, with its weight
TARGETS = [
    ("submitted", 6),
    ("dispatched", 8),
    ("returned", 2),
    ("handling", 22),
    ("escalating", 1),
    ("transferred", 1),
    ("reply_review", 3),
    ("replied", 6),
    ("revisited", 4),
    ("rated", 6),
    ("reopened", 3),
    ("under_review", 1),
    ("closed", 30),
    ("answered", 3),
    ("rejected", 2),
    ("merged", 1),
    ("withdrawn", 1),
]


def _pick(rng: random.Random) -> str:
    names, weights = zip(*TARGETS, strict=True)
    return rng.choices(names, weights=weights)[0]


class Driver:
    """Drives one demand through the services at advancing past times."""

    def __init__(self, district: District, rng: random.Random, start: datetime):
        self.d = district
        self.rng = rng
        self.t = start

    def step(self, hours: float) -> None:
        self.t += timedelta(hours=hours)

    def at(self, fn, **kwargs):
        with clock.frozen_at(self.t):
            return fn(**kwargs)


def drive_demand(
    i: int, msg: Message, district: District, rng: random.Random, now: datetime
) -> None:
    key = f"demo-{i}"
    if Demand.objects.filter(client_key__endswith=":" + key).exists():
        return
    target = _pick(rng)
    # open work is recent, closed work spreads over four months
    early = target in {"closed", "rated", "revisited", "rejected", "merged", "under_review"}
    age_days = rng.uniform(8, 120) if early else rng.uniform(0.2, 25)
    drv = Driver(district, rng, now - timedelta(days=age_days))
    street = rng.choice(district.streets)
    comm = rng.choice([c for c in district.communities if c.path.startswith(street.path)])
    category = Category.objects.filter(level=1, name=msg.category).first()
    lead = category.default_unit if category and category.default_unit_id else None
    if lead is None or rng.random() < 0.25:
        lead = comm if rng.random() < 0.5 else rng.choice(district.departments)
    at_district = lead.depth == 2 and lead.kind == UnitKind.DEPARTMENT
    dispatch_unit = district.root if at_district else street
    dispatcher = district.dispatchers[dispatch_unit.pk]
    if lead.kind in (UnitKind.COMMUNITY, UnitKind.VILLAGE) and not lead.path.startswith(
        dispatch_unit.path
    ):
        lead = comm
    channel = rng.choice(
        [Channel.HOTLINE] * 4 + [Channel.PORTAL, Channel.GRID, Channel.VISIT, Channel.MINQING]
    )
    kind = rng.choice(
        [Kind.COMPLAINT, Kind.COMPLAINT, Kind.HELP, Kind.CONSULT, Kind.SUGGESTION, Kind.DIFFICULTY]
    )
    resident = Resident.objects.order_by("id")[i % 3000]
    by = (
        dispatcher
        if channel == Channel.HOTLINE
        else district.grid_workers[i % len(district.grid_workers)]
    )
    if channel == Channel.PORTAL:
        by = district.portal_users[i % len(district.portal_users)]
    res = drv.at(
        svc.demand_submit,
        by=by,
        title=msg.title,
        body=msg.body,
        kind=kind,
        channel=channel,
        source="示范数据",
        contact_name=resident.name,
        contact_phone=resident.phone,
        resident=resident,
        community=comm,
        dispatch_unit=dispatch_unit,
        confidential=rng.random() < 0.05,
        address=resident.address,
        client_key=key,
    )
    demand = res.demand
    if target == "submitted":
        return
    drv.step(rng.uniform(0.5, 6))
    if target == "answered":
        drv.at(
            svc.demand_answer_directly,
            demand=demand,
            by=dispatcher,
            text=msg.reply or "您好，您咨询的问题已当场答复，如有疑问请再联系。",
            category=category,
        )
        return
    if target == "rejected":
        drv.at(
            svc.demand_reject,
            demand=demand,
            by=dispatcher,
            reason="不属于政府职能范围，已告知诉求人通过司法途径解决。",
        )
        return
    if target == "merged":
        other = (
            Demand.objects.filter(state__in=["handling", "dispatched"], dispatch_unit=dispatch_unit)
            .order_by("-id")
            .first()
        )
        if other is not None:
            drv.at(svc.demand_merge, demand=demand, by=dispatcher, into=other)
            return
        target = "dispatched"
    if target == "withdrawn":
        drv.at(
            svc.demand_withdraw, demand=demand, by=dispatcher, reason="诉求人来电表示问题已自行解决"
        )
        return
    drv.at(
        svc.demand_dispatch,
        demand=demand,
        by=dispatcher,
        lead_unit=lead,
        category=category,
        kind=kind,
    )
    if target == "dispatched":
        return
    head = district.heads[lead.pk]
    handler = district.handlers[lead.pk][0]
    drv.step(rng.uniform(1, 20))
    if target == "returned":
        drv.at(
            svc.demand_return,
            demand=demand,
            by=handler,
            reason_code=ReturnReason.NOT_OUR_DUTY,
            reason="经核实该事项不属于本单位职责，建议改派。",
        )
        return
    if rng.random() < 0.08:
        drv.at(
            svc.demand_return,
            demand=demand,
            by=handler,
            reason_code=ReturnReason.WRONG_AREA,
            reason="事发地不在本辖区。",
        )
        drv.step(rng.uniform(1, 8))
        drv.at(
            svc.demand_redispatch,
            demand=demand,
            by=dispatcher,
            lead_unit=lead,
            note="经核实仍由原单位办理",
        )
        drv.step(rng.uniform(1, 10))
    drv.at(svc.demand_sign, demand=demand, by=handler)
    drv.step(rng.uniform(2, 48))
    drv.at(svc.demand_note, demand=demand, by=handler, text="已联系诉求人了解情况，正在现场核实。")
    if target == "handling":
        if rng.random() < 0.15:
            drv.at(
                svc.demand_request_extension,
                demand=demand,
                by=handler,
                working_days=5,
                reason="需协调多个部门，申请延期。",
            )
        return
    if target in {"escalating", "transferred"}:
        drv.at(
            svc.demand_request_escalation,
            demand=demand,
            by=handler,
            reason="超出本单位职权，需上级协调。",
        )
        if target == "escalating":
            return
        drv.step(rng.uniform(2, 20))
        if demand.dispatch_unit_id != district.root.pk:
            drv.at(svc.demand_decide_escalation, demand=demand, by=head, approve=True)
            return
        drv.at(
            svc.demand_decide_escalation,
            demand=demand,
            by=head,
            approve=True,
            upper_reference=f"SJ{now:%Y}{i:06d}",
        )
        return
    drv.step(rng.uniform(4, 24 * 6))
    reply = (
        msg.reply or "您好，您反映的问题已收悉。经现场核实，已协调相关单位处理完毕，感谢您的监督。"
    )
    drv.at(svc.demand_submit_reply, demand=demand, by=handler, text=reply)
    if target == "reply_review":
        return
    drv.step(rng.uniform(1, 12))
    drv.at(svc.demand_approve_reply, demand=demand, by=head)
    if target == "replied":
        return
    drv.step(rng.uniform(4, 48))
    if target in {"reopened", "under_review"}:
        drv.at(
            svc.demand_revisit,
            demand=demand,
            by=dispatcher,
            reached=True,
            rating="unsatisfied",
            note="诉求人认为问题未解决",
        )
        if target == "reopened":
            return
        drv.step(rng.uniform(24, 72))
        drv.at(
            svc.demand_submit_reply,
            demand=demand,
            by=handler,
            text="再次核实后答复：" + reply[:200],
        )
        drv.at(svc.demand_approve_reply, demand=demand, by=head)
        drv.step(rng.uniform(4, 24))
        drv.at(svc.demand_revisit, demand=demand, by=dispatcher, reached=True, rating="unsatisfied")
        return
    reached = rng.random() < 0.9
    rating = None
    if reached:
        rating = rng.choices(["satisfied", "basic", "unsatisfied"], weights=[75, 18, 7])[0]
        if target == "revisited":
            rating = None
    drv.at(svc.demand_revisit, demand=demand, by=dispatcher, reached=reached, rating=rating)
    if target == "revisited" or rating == "unsatisfied":
        return
    if target == "rated" and rating is None:
        return
    if target == "closed":
        drv.step(rng.uniform(2, 48))
        drv.at(svc.demand_reconcile, demand=demand, by=dispatcher, note="对账无误，销号。")


def _drive_demands(demands: int, seed: int, district: District, log: Callable[[str], None]) -> int:
    messages = load_messages(limit=demands)
    now = timezone.now()
    created = 0
    for i in range(demands):
        # one RNG per demand: a resumed run drives the same demand the same way
        drng = random.Random(seed * 100003 + i)
        with transaction.atomic():
            before = Demand.objects.count()
            drive_demand(i, messages[i % len(messages)], district, drng, now)
            created += Demand.objects.count() - before
        if (i + 1) % 500 == 0:
            log(f"诉求：{i + 1}/{demands}")
    return created


def load_demo(*, demands: int = 5000, seed: int = 2026, log: Callable[[str], None] = print) -> int:
    rng = random.Random(seed)
    with notifications_suppressed():
        district = build_organisation(rng, log)
        build_directory(log=log)
        build_visits(log=log, scale=demands / 5000)  # pairings, teams, a year of visits
        done = Demand.objects.filter(source="示范数据").count()
        created = 0
        if done >= demands:
            # the rest below is idempotent too: a run stopped after the demands finishes here
            log(f"示范诉求已存在（{done} 件），跳过")
        else:
            created = _drive_demands(demands, seed, district, log)
        swept = svc.sweep_deadlines()
        log(f"诉求：新增 {created}，超期标记 {swept.overdue}，签收超时 {swept.sign_overdue}")
        build_supervision(log)
        # last: points are read from the demand events, visits and 督办 written above
        build_points(log)
        build_hot_topics(log)
        return created
