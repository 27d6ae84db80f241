"""The fact row of one demand (models.DemandFact): every rate's numerator and denominator.

The definitions are those of docs/metrics.md; this module is their only implementation.
`refresh_demand` runs inside the transaction of each demand change (called from
demands/services.py `_record`), `rebuild` recomputes every row from scratch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.signals import post_delete
from django.dispatch import receiver

from sanfuwu.demands import sla
from sanfuwu.demands.models import Category, Demand, Rating, RatingValue, Revisit
from sanfuwu.demands.workflow import BEFORE_REPLY, CLOCK_STATES, State
from sanfuwu.orgs.models import Unit

from .models import DemandFact, ObjectType, Rollup

# events that change nothing a rate reads: no refresh
SKIP_ACTIONS = frozenset({"reveal_contact", "attach", "note", "contribute"})
OPEN_STATES = frozenset({*BEFORE_REPLY, State.UNDER_REVIEW})
GOOD_RATINGS = (RatingValue.SATISFIED, RatingValue.BASIC)
SECONDS_PER_DAY = 86400.0

DEMAND_FIELDS = (
    "id",
    "state",
    "kind",
    "channel",
    "level",
    "category_id",
    "enterprise_id",
    "resident_id",
    "submitter_id",
    "community_id",
    "lead_unit_id",
    "dispatch_unit_id",
    "handler_id",
    "created_at",
    "dispatched_at",
    "signed_at",
    "replied_at",
    "sla_cycle",
    "sla_started_at",
    "due_at",
    "overdue_cycle",
    "sign_overdue_cycle",
    "reopen_count",
)


class _Workdays:
    """working_seconds_between with a per-day cache: the same figure as sla's (which a test
    checks), at a fraction of the cost for a rebuild of a million demands."""

    def __init__(self) -> None:
        self.flags: dict[date, bool] = {}

    def is_workday(self, d: date) -> bool:
        hit = self.flags.get(d)
        if hit is None:
            hit = self.flags[d] = sla.is_workday(d)
        return hit

    def __call__(self, start: datetime, end: datetime) -> float:
        if end <= start:
            return 0.0
        s, e = start.astimezone(sla.tz()), end.astimezone(sla.tz())
        if s.date() == e.date():
            return (e - s).total_seconds() if self.is_workday(s.date()) else 0.0
        total = 0.0
        if self.is_workday(s.date()):
            total += (
                SECONDS_PER_DAY
                - (s - s.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
            )
        if self.is_workday(e.date()):
            total += (e - e.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
        d = s.date() + timedelta(days=1)
        while d < e.date():
            if self.is_workday(d):
                total += SECONDS_PER_DAY
            d += timedelta(days=1)
        return total


class _Lookups:
    """Unit paths and first-level categories: all of them for a rebuild (a few hundred rows
    each), only the demand's own for a single refresh."""

    def __init__(
        self, unit_ids: Iterable[int] | None = None, category_ids: Iterable[int] | None = None
    ) -> None:
        units = Unit.objects.all()
        cats = Category.objects.all()
        if unit_ids is not None:
            units = units.filter(pk__in=list(unit_ids))
        if category_ids is not None:
            cats = cats.filter(pk__in=list(category_ids))
        self.working_seconds = _Workdays()
        self.unit_paths: dict[int, str] = dict(units.values_list("id", "path"))
        self.category_path: dict[int, str] = dict(cats.values_list("id", "path"))
        # a first-level category's path is its name: the top of "一级/二级/三级" is its first part
        tops = {path.split("/")[0] for path in self.category_path.values()}
        top_ids = dict(Category.objects.filter(path__in=tops).values_list("path", "id"))
        self.top_category: dict[int, int] = {
            pk: top_ids[path.split("/")[0]]
            for pk, path in self.category_path.items()
            if path.split("/")[0] in top_ids
        }


def object_type_of(row: dict[str, Any], category_path: str) -> str:
    """五个满意: 人才/项目 by the category's name, else 企业 by the enterprise, else 村社 for a
    demand recorded for a village/community with no person, else 群众."""
    if "人才" in category_path:
        return ObjectType.TALENT
    if "项目" in category_path:
        return ObjectType.PROJECT
    if row["enterprise_id"]:
        return ObjectType.ENTERPRISE
    if row["community_id"] and not row["resident_id"] and not row["submitter_id"]:
        return ObjectType.VILLAGE
    return ObjectType.PEOPLE


def _local_date(dt: datetime):
    return dt.astimezone(sla.tz()).date()


def fact_for(
    row: dict[str, Any],
    *,
    ratings: tuple[int, int],
    revisited: bool,
    lookups: _Lookups,
) -> dict[str, Any]:
    """The fact row of one demand from its columns, (ratings, good ratings) and 回访."""
    state = row["state"]
    replied_at = row["replied_at"]
    due_at = row["due_at"]
    received = state != State.MERGED
    valid = received and state not in (State.REJECTED, State.WITHDRAWN)
    resolved = valid and replied_at is not None and state != State.UNDER_REVIEW
    sign_late = row["sign_overdue_cycle"] > 0
    signed = row["signed_at"] is not None
    # overdue now: the sweeper marked the current handling cycle and no reply came yet
    overdue = (
        state in CLOCK_STATES
        and replied_at is None
        and row["sla_cycle"] > 0
        and row["overdue_cycle"] == row["sla_cycle"]
    )
    replied_with_deadline = replied_at is not None and due_at is not None
    workdays = 0.0
    if replied_at is not None:
        start = row["sla_started_at"] or row["created_at"]
        workdays = lookups.working_seconds(start, replied_at) / SECONDS_PER_DAY
    unit_id = row["lead_unit_id"] or row["dispatch_unit_id"]
    category_id = row["category_id"]
    n_ratings, n_good = ratings
    return dict(
        demand_id=row["id"],
        day=_local_date(row["created_at"]),
        reply_day=_local_date(replied_at) if replied_at is not None else None,
        unit_id=unit_id,
        unit_path=lookups.unit_paths.get(unit_id, ""),
        category_id=lookups.top_category.get(category_id) if category_id else None,
        kind=row["kind"],
        channel=row["channel"],
        level=row["level"] or "",
        object_type=object_type_of(row, lookups.category_path.get(category_id or 0, "")),
        handler_id=row["handler_id"],
        received=int(received),
        valid=int(valid),
        sign_due=int(row["dispatched_at"] is not None and (signed or sign_late)),
        signed_on_time=int(row["dispatched_at"] is not None and signed and not sign_late),
        reply_due=int(replied_with_deadline or overdue),
        replied_on_time=int(replied_with_deadline and replied_at <= due_at),
        resolved=int(resolved),
        revisited=int(resolved and revisited),
        rated=n_ratings,
        satisfied=n_good,
        ever_replied=int(replied_at is not None or row["reopen_count"] > 0),
        reopened=int(row["reopen_count"] > 0),
        replied=int(replied_at is not None),
        reply_workdays=workdays,
        open=int(state in OPEN_STATES),
        overdue=int(overdue),
    )


FACT_COLUMNS = [f.attname for f in DemandFact._meta.concrete_fields]
FACT_FIELDS = [c for c in FACT_COLUMNS if c != "demand_id"]
# the summed measures: every fact column after the dimensions
MEASURES = tuple(FACT_FIELDS[FACT_FIELDS.index("received") :])


def _facts(rows: Iterable[dict[str, Any]], lookups: _Lookups) -> Iterator[dict[str, Any]]:
    rows = list(rows)
    ids = [r["id"] for r in rows]
    ratings: dict[int, list[int]] = {}
    for demand_id, value in Rating.objects.filter(demand_id__in=ids).values_list(
        "demand_id", "value"
    ):
        counts = ratings.setdefault(demand_id, [0, 0])
        counts[0] += 1
        counts[1] += value in GOOD_RATINGS
    revisited = set(
        Revisit.objects.filter(demand_id__in=ids, reached=True).values_list("demand_id", flat=True)
    )
    for r in rows:
        n = ratings.get(r["id"], [0, 0])
        yield fact_for(r, ratings=(n[0], n[1]), revisited=r["id"] in revisited, lookups=lookups)


def refresh_demand(demand: Demand | int, *, action: str = "") -> None:
    """Recompute the fact row of one demand and move its delta into the rollup (in the
    caller's transaction)."""
    if action in SKIP_ACTIONS:
        return
    pk = demand.pk if isinstance(demand, Demand) else int(demand)
    # lock the old fact first (PostgreSQL): two transactions refreshing the same demand
    # must not both subtract the same old contribution from the rollup
    old = DemandFact.objects.select_for_update().filter(pk=pk).values(*FACT_COLUMNS).first()
    row = Demand.objects.filter(pk=pk).values(*DEMAND_FIELDS).first()
    if row is None:
        return
    lookups = _Lookups(
        unit_ids=[row["lead_unit_id"] or row["dispatch_unit_id"]],
        category_ids=[row["category_id"]] if row["category_id"] else [],
    )
    (fact,) = _facts([row], lookups)
    if old is None:
        DemandFact.objects.create(**{c: fact[c] for c in FACT_COLUMNS})
    elif any(old[f] != fact[f] for f in FACT_FIELDS):
        DemandFact.objects.filter(pk=pk).update(**{f: fact[f] for f in FACT_FIELDS})
    else:
        return
    apply_rollup_delta(old, fact)


# --- the rollup (models.Rollup): the facts summed per (day, week or month; unit; category
# or one of DIMS) ---

ROLLUP_MEASURES = (*MEASURES, "replies")
ROLLUP_KEY = ("grain", "day", "unit_path", "unit_id", "category_id", "dim", "dim_value")
ROLLUP_COLUMNS = (*ROLLUP_KEY, "facts", *ROLLUP_MEASURES)


# the grains of the rollup rows (models.Grain): a row's `day` is the day, the Monday of the
# ISO week or the first day of the month. Plain strings so that a process which loaded an
# older models module still imports this one.
DAY, WEEK, MONTH = "day", "week", "month"


def grain_start(grain: str, d: date) -> date:
    """The `day` of the rollup row of `grain` that holds the date d."""
    if grain == WEEK:
        return d - timedelta(days=d.weekday())
    if grain == MONTH:
        return d.replace(day=1)
    return d


GRAINS = (DAY, WEEK, MONTH)
# week and month rows are split by first-level category (the dashboards' top categories);
# day rows are not: per day, unit and category they would hardly sum anything up
# (docs/adr/0017-metrics-daily-rollup.md)
CATEGORY_GRAINS = (WEEK, MONTH)
NO_CATEGORY = 0  # no category pk is 0; a NULL in the unique key would never conflict
# week and month rows are also summed per value of each of these fact columns (the
# groupings by kind, channel, level and object type); "" marks the rows not so split
DIMS = ("kind", "channel", "level", "object_type")
NO_DIM = ("", "")


def rollup_category(grain: str, category_id: int | None) -> int:
    """The rollup row's category_id: the fact's first-level category (NO_CATEGORY for none)
    on week and month rows; NO_CATEGORY on day rows, which are not split by category."""
    return (category_id or NO_CATEGORY) if grain in CATEGORY_GRAINS else NO_CATEGORY


def rollup_splits(grain: str, fact: dict[str, Any]) -> list[tuple]:
    """The (category_id, dim, dim_value) ends of the keys of the rows of `grain` that hold
    a fact with these columns: the plain row, and on week and month rows one per DIMS."""
    splits = [(rollup_category(grain, fact["category_id"]), *NO_DIM)]
    if grain in CATEGORY_GRAINS:
        splits += [(NO_CATEGORY, dim, fact[dim] or "") for dim in DIMS]
    return splits


def _contributions(fact: dict[str, Any], sign: int, into: dict[tuple, dict[str, float]]) -> None:
    """Add (sign = 1) or take away (sign = -1) one fact's share of the rollup rows: every
    measure on the rows of its receipt day, its reply on the rows of its reply day."""
    unit = (fact["unit_path"], fact["unit_id"])
    for grain in GRAINS:
        key = (grain, grain_start(grain, fact["day"]), *unit)
        for split in rollup_splits(grain, fact):
            slot = into.setdefault((*key, *split), {})
            slot["facts"] = slot.get("facts", 0) + sign
            for m in MEASURES:
                slot[m] = slot.get(m, 0) + sign * fact[m]
    if fact["reply_day"] is not None and fact["replied"]:
        for grain in GRAINS:
            key = (grain, grain_start(grain, fact["reply_day"]), *unit)
            for split in rollup_splits(grain, fact):
                slot = into.setdefault((*key, *split), {})
                slot["replies"] = slot.get("replies", 0) + sign * fact["replied"]


def rollup_delta(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> dict[tuple, dict[str, float]]:
    """Per rollup key, what changes when the fact `old` becomes `new` (either may be None);
    keys whose every change is zero are left out."""
    delta: dict[tuple, dict[str, float]] = {}
    if old is not None:
        _contributions(old, -1, delta)
    if new is not None:
        _contributions(new, 1, delta)
    return {k: v for k, v in delta.items() if any(v.values())}


def apply_rollup_delta(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """One upsert statement for every rollup row the change touches (none when nothing a
    rate reads moved). Concurrent transactions add to the same row safely: ON CONFLICT
    takes the row lock and adds to the committed value; keys are sorted so that two
    transactions lock shared rows in the same order."""
    delta = rollup_delta(old, new)
    if not delta:
        return
    q = connection.ops.quote_name
    table = q(Rollup._meta.db_table)
    values = []
    params: list[Any] = []
    for key in sorted(delta):
        change = delta[key]
        values.append("(" + ", ".join(["%s"] * len(ROLLUP_COLUMNS)) + ")")
        params += [*key, change.get("facts", 0), *(change.get(m, 0) for m in ROLLUP_MEASURES)]
    adds = ", ".join(
        f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in ("facts", *ROLLUP_MEASURES)
    )
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} ({', '.join(q(c) for c in ROLLUP_COLUMNS)}) "
            f"VALUES {', '.join(values)} "
            f"ON CONFLICT ({', '.join(q(c) for c in ROLLUP_KEY)}) DO UPDATE SET {adds}",
            params,
        )


@receiver(post_delete, sender=DemandFact)
def _fact_deleted(sender, instance: DemandFact, **kwargs) -> None:
    # a demand deleted (cascade): its share leaves the rollup too
    apply_rollup_delta({c: getattr(instance, c) for c in FACT_COLUMNS}, None)


def rebuild_rollup() -> int:
    """Recompute every rollup row from the fact rows (two GROUP BYs); returns the rows."""
    group = ("unit_path", "unit_id", "category_id", *DIMS)
    rows: dict[tuple, dict[str, float]] = {}

    def add(key: tuple, values: dict[str, float]) -> None:
        slot = rows.setdefault(key, {})
        for m, v in values.items():
            slot[m] = slot.get(m, 0) + (v or 0)

    sums = {m: Sum(m) for m in MEASURES}
    for r in (
        DemandFact.objects.order_by().values("day", *group).annotate(n_facts=Count("pk"), **sums)
    ):
        values = {"facts": r["n_facts"], **{m: r[m] for m in MEASURES}}
        for grain in GRAINS:
            start = grain_start(grain, r["day"])
            for split in rollup_splits(grain, r):
                add((grain, start, r["unit_path"], r["unit_id"], *split), values)
    for r in (
        DemandFact.objects.filter(reply_day__isnull=False, replied__gt=0)
        .order_by()
        .values("reply_day", *group)
        .annotate(n=Sum("replied"))
    ):
        values = {"replies": r["n"]}
        for grain in GRAINS:
            start = grain_start(grain, r["reply_day"])
            for split in rollup_splits(grain, r):
                add((grain, start, r["unit_path"], r["unit_id"], *split), values)
    q = connection.ops.quote_name
    table = q(Rollup._meta.db_table)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {table}")
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(q(c) for c in ROLLUP_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(ROLLUP_COLUMNS))})",
            [
                (*key, v.get("facts", 0), *(v.get(m, 0) for m in ROLLUP_MEASURES))
                for key, v in rows.items()
            ],
        )
    return len(rows)


def _insert(facts: Iterable[dict[str, Any]]) -> None:
    """Plain executemany: bulk_create's per-field preparation costs more than the facts."""
    q = connection.ops.quote_name
    table = q(DemandFact._meta.db_table)
    cols = ", ".join(q(c) for c in FACT_COLUMNS)
    marks = ", ".join(["%s"] * len(FACT_COLUMNS))
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})",
            [tuple(f[c] for c in FACT_COLUMNS) for f in facts],
        )


def rebuild(*, batch: int = 5000, log=None) -> int:
    """Recompute every fact row from the demands, then the rollup from the facts
    (management command rebuild_metrics)."""
    lookups = _Lookups()
    n = 0
    with transaction.atomic():
        # plain DELETE: the ORM's would load every fact to send post_delete
        with connection.cursor() as cur:
            cur.execute(f"DELETE FROM {connection.ops.quote_name(DemandFact._meta.db_table)}")
        last = 0
        while True:
            rows = list(
                Demand.objects.filter(pk__gt=last).order_by("pk").values(*DEMAND_FIELDS)[:batch]
            )
            if not rows:
                break
            _insert(_facts(rows, lookups))
            n += len(rows)
            last = rows[-1]["id"]
            if log is not None and n % (batch * 20) == 0:
                log(f"{n} demands")
        rows_rolled = rebuild_rollup()
        if log is not None:
            log(f"{rows_rolled} rollup rows")
    return n
