"""Generate a benchmark district with bulk SQL (COPY on PostgreSQL, executemany on SQLite).

Not through the service functions: the point is size, quickly. Distributions are meant to be
realistic: ~500 units, 10,000 users, most demands closed, 5–8 events each.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, transaction

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STEP = 4
STATES = [
    ("closed", 55),
    ("rated", 5),
    ("revisited", 3),
    ("replied", 4),
    ("handling", 15),
    ("dispatched", 7),
    ("submitted", 5),
    ("returned", 2),
    ("reply_review", 2),
    ("escalating", 1),
    ("rejected", 1),
]
KINDS = ["complaint", "complaint", "help", "consult", "suggestion", "difficulty"]
CHANNELS = ["hotline", "hotline", "hotline", "portal", "grid", "visit", "minqing"]
CLOCK = {"dispatched", "handling", "reply_review", "escalating"}
TITLES = [
    "小区物业乱收停车费",
    "道路施工噪音扰民",
    "学校周边交通拥堵",
    "企业用工社保咨询",
    "路灯长期不亮",
    "老旧小区加装电梯",
    "农贸市场占道经营",
    "医保异地报销咨询",
    "排水管道堵塞",
    "园区企业用电困难",
]


def step(i: int) -> str:
    out = ""
    for _ in range(STEP):
        out = ALPHABET[i % 36] + out
        i //= 36
    return out


def ts(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if connection.vendor == "sqlite":
        return dt.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return dt.isoformat()


def bulk_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    n = 0
    cols = ", ".join(f'"{c}"' for c in columns)
    if connection.vendor == "postgresql":
        raw = connection.connection
        with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n
    marks = ", ".join(["%s"] * len(columns))
    sql = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
    batch: list[Sequence] = []
    with connection.cursor() as cur:
        for row in rows:
            batch.append(row)
            if len(batch) >= 10_000:
                cur.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
            n += len(batch)
    return n


def ids(table: str, where: str = "") -> list[int]:
    with connection.cursor() as cur:
        cur.execute(f'SELECT id FROM "{table}" {where} ORDER BY id')
        return [r[0] for r in cur.fetchall()]


@transaction.atomic
def generate(size: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    # --- units: 1 区, 20 镇街 × 15 村社, 60 部门 × 2 科室 = 501
    units = [("0001", 1, 80, "B", "示范区", "district")]
    for s in range(20):
        sp = "0001" + step(s + 1)
        units.append((sp, 2, 15, f"B-J{s:02d}", f"街道{s + 1}", "street"))
        for c in range(15):
            units.append(
                (
                    sp + step(c + 1),
                    3,
                    0,
                    f"B-J{s:02d}-C{c:02d}",
                    f"街道{s + 1}社区{c + 1}",
                    "community",
                )
            )
    for d in range(60):
        dp = "0001" + step(21 + d)
        units.append((dp, 2, 2, f"B-B{d:02d}", f"部门{d + 1}", "department"))
        for k in range(2):
            units.append(
                (dp + step(k + 1), 3, 0, f"B-B{d:02d}-K{k}", f"部门{d + 1}科室{k + 1}", "section")
            )
    bulk_insert(
        "orgs_unit",
        ["path", "depth", "numchild", "code", "name", "kind", "is_active"],
        ((*u, True) for u in units),
    )
    with connection.cursor() as cur:
        cur.execute('SELECT id, path, kind FROM "orgs_unit" ORDER BY path')
        unit_rows = cur.fetchall()
    by_path = {p: (i, k) for i, p, k in unit_rows}
    root = by_path["0001"][0]
    leads = [
        (i, by_path[p[:8]][0] if k == "community" else root)
        for i, p, k in unit_rows
        if k in ("community", "department", "section")
    ]

    # --- 10,000 users with one role each
    pw = make_password("bench12345")
    joined = ts(now)
    bulk_insert(
        "orgs_user",
        [
            "password",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
            "display_name",
            "phone",
        ],
        (
            (pw, False, f"u{i:05d}", "", "", "", False, True, joined, f"用户{i}", "")
            for i in range(10_000)
        ),
    )
    user_ids = ids("orgs_user", "WHERE username LIKE 'u%'")
    roles = ["handler", "handler", "unit_head", "grid_worker", "visitor"]
    memberships = [(user_ids[0], root, "dispatcher"), (user_ids[1], leads[0][0], "handler")]
    for n, uid in enumerate(user_ids[2:]):
        unit_id = leads[n % len(leads)][0]
        memberships.append((uid, unit_id, roles[n % len(roles)]))
    bulk_insert(
        "orgs_membership",
        ["user_id", "unit_id", "role", "created_at"],
        ((u, un, r, joined) for u, un, r in memberships),
    )
    call_command("load_taxonomy", verbosity=0)
    cats = ids("demands_category", "WHERE level = 1")

    # --- demands
    weights = [w for _, w in STATES]
    names = [s for s, _ in STATES]

    def demand_rows():
        for g in range(size):
            state = rng.choices(names, weights)[0]
            created = now - timedelta(days=rng.random() * 365)
            lead, dispatch = leads[g % len(leads)]
            dispatched = state not in ("submitted", "rejected")
            clocked = state in CLOCK
            if state in CLOCK and rng.random() < 0.7:
                created = now - timedelta(days=rng.random() * 20)
            due = created + timedelta(days=10) if clocked else None
            warn = created + timedelta(days=8) if clocked else None
            replied = (
                created + timedelta(days=rng.uniform(1, 12))
                if state in ("closed", "rated", "revisited", "replied")
                else None
            )
            closed = replied + timedelta(days=3) if state == "closed" and replied else None
            yield (
                TITLES[g % len(TITLES)] + f"（{g}）",
                "诉求内容：" + TITLES[g % len(TITLES)] * 3,
                KINDS[g % len(KINDS)],
                CHANNELS[g % len(CHANNELS)],
                "bench",
                "own" if dispatched else "",
                state,
                "张三",
                "13800000000",
                "",
                False,
                False,
                "",
                "",
                1 if dispatched else 0,
                ts(created),
                10,
                ts(warn),
                ts(due),
                0,
                0,
                0,
                0,
                f"bench-{g}-{secrets.token_hex(6)}",
                f"B{g:09d}"[:5] + "-" + f"B{g:09d}"[5:],
                0,
                ts(created),
                ts(created),
                ts(created + timedelta(hours=2)) if dispatched else None,
                ts(replied),
                ts(closed),
                cats[g % len(cats)],
                dispatch,
                lead if dispatched else None,
            )

    bulk_insert(
        "demands_demand",
        [
            "title",
            "body",
            "kind",
            "channel",
            "source",
            "level",
            "state",
            "contact_name",
            "contact_phone",
            "contact_id_number",
            "confidential",
            "publish_consent",
            "address",
            "upper_reference",
            "sla_cycle",
            "sla_started_at",
            "sla_working_days",
            "warn_at",
            "due_at",
            "overdue_cycle",
            "sign_overdue_cycle",
            "reopen_count",
            "unsatisfied_count",
            "rating_token",
            "tracking_code",
            "warned_cycle",
            "created_at",
            "updated_at",
            "dispatched_at",
            "replied_at",
            "closed_at",
            "category_id",
            "dispatch_unit_id",
            "lead_unit_id",
        ],
        demand_rows(),
    )
    with connection.cursor() as cur:
        cur.execute(
            'SELECT id, dispatch_unit_id, lead_unit_id, state, created_at FROM "demands_demand" WHERE source = %s ORDER BY id',
            ["bench"],
        )
        demands = cur.fetchall()

    def party_rows():
        for pk, disp, lead, _state, created in demands:
            c = created if isinstance(created, str) else ts(created)
            yield (pk, disp, "dispatch", True, "", c)
            if lead:
                yield (pk, lead, "lead", True, "", c)
                if pk % 10 == 0:
                    other = leads[(pk * 7) % len(leads)][0]
                    if other != lead:
                        yield (pk, other, "co", True, "", c)

    bulk_insert(
        "demands_demandparty",
        ["demand_id", "unit_id", "role", "active", "contribution", "created_at"],
        party_rows(),
    )
    flow = [
        ("submit", "", "submitted"),
        ("dispatch", "submitted", "dispatched"),
        ("sign", "dispatched", "handling"),
        ("note", "handling", "handling"),
        ("submit_reply", "handling", "reply_review"),
        ("approve_reply", "reply_review", "replied"),
        ("revisit", "replied", "revisited"),
        ("rate", "revisited", "rated"),
    ]

    def event_rows():
        for pk, _d, _l, _s, created in demands:
            start = (
                created
                if isinstance(created, datetime)
                else datetime.fromisoformat(created).replace(tzinfo=UTC)
            )
            for k, (action, a, b) in enumerate(flow[: 5 + pk % 4]):
                yield (pk, action, "bench", a, b, "", "{}", ts(start + timedelta(hours=6 * k)))

    bulk_insert(
        "demands_demandevent",
        [
            "demand_id",
            "action",
            "actor_label",
            "from_state",
            "to_state",
            "note",
            "data",
            "created_at",
        ],
        event_rows(),
    )
