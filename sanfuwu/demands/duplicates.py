"""Possible duplicates of a demand being recorded or triaged (重复诉求提示), for staff only.

Open demands of the last N days that the user may see (and those closed in that window:
a caller often repeats a problem just settled) that share the phone, the enterprise, the
resident or the address, or whose text is similar by character bigrams. The search index
(sanfuwu/search) hands over a bounded set of candidates that share a telling bigram; the
similarity is computed in Python on that set only. The threshold is calibrated on the
tipdm2020 messages (bench/duplicates.py, figures in bench/README.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, Value
from django.db.models.functions import Replace
from django.utils.translation import gettext as _

from sanfuwu.core import clock
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.validators import validate_mobile_or_phone
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import INTAKE_ROLES, SUBTREE_ROLES
from sanfuwu.orgs.selectors import user_scope

from .access import demands_visible_to
from .models import Category, Demand
from .workflow import OPEN_STATES, State

DEFAULT_DAYS = 30
# how many candidates the database hands to the text comparison, at most
KEY_CANDIDATES = 50
TEXT_CANDIDATES = 300
# similarity of bigrams (see text_similarity) from which two texts look alike
TEXT_THRESHOLD = 0.6
MIN_BIGRAMS = 3
SEARCH_BIGRAMS = 24  # bigrams of the new text looked up in the search index
BODY_CHARS = 1000  # long bodies: the opening says what the demand is about
# bigrams that say nothing about what a demand is about
STOP_BIGRAMS = frozenset(
    {
        *("社区", "小区", "问题", "反映", "希望", "请求", "要求", "解决", "相关", "部门"),
        *("我们", "你好", "您好", "谢谢", "一下", "一个", "没有", "现在", "目前", "情况"),
        *("已经", "进行", "处理", "尽快", "政府", "领导", "市民", "居民", "群众", "村民"),
        *("有关", "关于", "这个", "不是"),
    }
)
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def duplicate_days() -> int:
    return int(getattr(settings, "SANFUWU", {}).get("DUPLICATE_DAYS", DEFAULT_DAYS))


def _bigram_list(text: str) -> list[str]:
    clean = _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    grams = (clean[i : i + 2] for i in range(len(clean) - 1))
    return [g for g in dict.fromkeys(grams) if g not in STOP_BIGRAMS]


def bigrams(text: str) -> set[str]:
    """Character bigrams of the text without punctuation, spaces and filler words."""
    return set(_bigram_list(text))


def text_similarity(a: set[str], b: set[str]) -> float:
    """Shared bigrams over the smaller set (0 … 1), so a caller who adds details still
    matches; but never over less than a quarter of the larger set, so that a short text
    inside a long one about many things does not. 0 when fewer than MIN_BIGRAMS are shared."""
    if len(a) < MIN_BIGRAMS or len(b) < MIN_BIGRAMS:
        return 0.0
    shared = len(a & b)
    if shared < MIN_BIGRAMS:
        return 0.0
    return shared / max(min(len(a), len(b)), max(len(a), len(b)) / 4)


@dataclass(frozen=True)
class _Grams:
    title: set[str]
    body: set[str]
    both: set[str]

    @classmethod
    def of(cls, title: str, body: str) -> _Grams:
        t, b = bigrams(title), bigrams((body or "")[:BODY_CHARS])
        return cls(t, b, bigrams(f"{title or ''} {(body or '')[:BODY_CHARS]}"))

    def similarity(self, other: _Grams) -> float:
        """The best of title+body, body against body and title against title: operators
        word the title differently more often than the facts."""
        return max(
            text_similarity(self.both, other.both),
            text_similarity(self.body, other.body),
            text_similarity(self.title, other.title),
        )


def _phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return validate_mobile_or_phone(value)
    except ValidationError:
        return value


def _address(value: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))[:300]


@dataclass
class SimilarDemand:
    demand: Demand
    reasons: list[str] = field(default_factory=list)
    similarity: float = 0.0  # of the text, 0 … 1

    @property
    def closed(self) -> bool:
        """Settled already (销号 within the window): shown, but not offered for merging."""
        return self.demand.state == State.CLOSED


def similar_open_demands(
    *,
    user: User | None,
    title: str = "",
    body: str = "",
    phone: str = "",
    address: str = "",
    enterprise: Enterprise | None = None,
    resident: Resident | None = None,
    community: Unit | None = None,
    category: Category | None = None,
    days: int | None = None,
    limit: int = 5,
    exclude_client_key: str | None = None,
    exclude_pk: int | None = None,
    include_closed: bool = True,
) -> list[SimilarDemand]:
    """Open demands of the last `days` days visible to `user` that look like the one being
    recorded, each with its reasons (同一电话 / 同一企业 / 同一群众 / 同一地址 / 内容相似 xx%);
    with `include_closed`, also those closed (销号) in that window.

    Staff only: anyone else gets an empty list. `exclude_client_key` leaves out the demand a
    repeated submission of the same form has already created, `exclude_pk` the demand itself.
    """
    scope = user_scope(user)
    if not (scope.is_admin or scope.unit_ids(INTAKE_ROLES) or scope.unit_ids(SUBTREE_ROLES)):
        return []
    title, body = title or "", body or ""
    days = duplicate_days() if days is None else max(1, int(days))
    since = clock.now() - timedelta(days=days)
    window = Q(state__in=OPEN_STATES, created_at__gte=since)
    if include_closed:
        window |= Q(state=State.CLOSED, closed_at__gte=since)
    base = demands_visible_to(user).filter(window)
    if exclude_pk is not None:
        base = base.exclude(pk=exclude_pk)
    if exclude_client_key:
        base = base.exclude(client_key__endswith=f":{exclude_client_key}")
    base = base.select_related("dispatch_unit", "lead_unit", "category")

    phone = _phone(phone)
    address = _address(address)
    key_q = Q(pk__in=[])
    if phone:
        key_q |= Q(contact_phone=phone)
    if enterprise is not None:
        key_q |= Q(enterprise=enterprise)
    if resident is not None:
        key_q |= Q(resident=resident)
    keyed = base
    if len(address) >= 4:
        # addresses are compared without spaces (幸福社区 5幢 = 幸福社区5幢)
        keyed = keyed.annotate(
            _address=Replace(Replace("address", Value(" "), Value("")), Value("\u3000"), Value(""))
        )
        key_q |= Q(_address=address)
    found: dict[int, SimilarDemand] = {}
    for d in keyed.filter(key_q).order_by("-created_at", "-id")[:KEY_CANDIDATES]:
        reasons = []
        if phone and d.contact_phone == phone:
            reasons.append(_("同一电话"))
        if enterprise is not None and d.enterprise_id == enterprise.pk:
            reasons.append(_("同一企业"))
        if resident is not None and d.resident_id == resident.pk:
            reasons.append(_("同一群众"))
        if len(address) >= 4 and _address(d.address) == address:
            reasons.append(_("同一地址"))
        found[d.pk] = SimilarDemand(d, reasons)

    mine = _Grams.of(title, body)
    if len(mine.both) >= MIN_BIGRAMS:
        # candidates: same 村社 or category, or the text shares a telling bigram (the index)
        text_q = Q(pk__in=list(found))
        if community is not None:
            text_q |= Q(community=community)
        if category is not None:
            text_q |= Q(category=category)
        from sanfuwu.search.selectors import any_token_q
        from sanfuwu.search.tokens import tokens as index_tokens

        telling = [t for t in index_tokens(f"{title} {body[:BODY_CHARS]}") if t not in STOP_BIGRAMS]
        shared_q = any_token_q(telling[:SEARCH_BIGRAMS])
        if shared_q is not None:
            text_q |= shared_q
        candidates = base.filter(text_q).order_by("-created_at", "-id")[:TEXT_CANDIDATES]
        for d in candidates:
            score = mine.similarity(_Grams.of(d.title, d.body))
            if score < TEXT_THRESHOLD:
                continue
            hit = found.setdefault(d.pk, SimilarDemand(d))
            hit.similarity = score
            hit.reasons.append(_("内容相似 %(percent)s%%") % {"percent": round(score * 100)})
    ranked = [h for h in found.values() if h.reasons]
    ranked.sort(key=lambda h: (len(h.reasons), h.similarity, h.demand.created_at), reverse=True)
    return ranked[:limit]


def similar_to_demand(*, user: User | None, demand: Demand, limit: int = 5) -> list[SimilarDemand]:
    """The likely duplicates of a recorded demand (triage panel, `GET /api/demands/{id}/similar`):
    the same search with its own fields, the demand itself left out."""
    return similar_open_demands(
        user=user,
        title=demand.title,
        body=demand.body,
        phone=demand.contact_phone,
        address=demand.address,
        enterprise=demand.enterprise,
        resident=demand.resident,
        community=demand.community,
        category=demand.category,
        limit=limit,
        exclude_pk=demand.pk,
    )
