"""Writes of reply quality (答复质量): one ReplyQuality row per sent reply.

`record_reply_quality` runs inside the transaction of each demand event (called from
demands/services.py `_record`, like the metrics fact row) and acts only on the events that
send a reply; `recompute_reply_quality` rebuilds the rows of every sent reply (after a new
IDF or threshold, or for demands replied before this existed).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from sanfuwu.demands.models import Demand, Reply

from .models import ReplyQuality
from .reply_quality import score_reply

# the transitions after which the citizen has a reply (workflow.py: → REPLIED)
REPLY_ACTIONS = frozenset({"approve_reply", "answer_directly", "record_upper_reply"})


def _store(reply: Reply, demand: Demand) -> ReplyQuality | None:
    unit_id = demand.lead_unit_id or demand.dispatch_unit_id
    if unit_id is None:  # pragma: no cover - a replied demand always has a dispatching unit
        return None
    score = score_reply(
        title=demand.title,
        body=demand.body,
        reply=reply.text,
        asked_at=demand.created_at,
        replied_at=reply.approved_at,
    )
    row, _created = ReplyQuality.objects.update_or_create(
        reply=reply,
        defaults={
            "demand": demand,
            "unit_id": unit_id,
            "relevance": score.relevance,
            "addresses": score.addresses,
            "working_days": score.working_days,
            "computed_at": timezone.now(),
        },
    )
    return row


def record_reply_quality(demand: Demand, *, action: str) -> ReplyQuality | None:
    """After a reply was sent (审核通过, 直接答复, 录入上级答复): score the demand's latest
    approved reply, in the caller's transaction. Other events: nothing."""
    if action not in REPLY_ACTIONS:
        return None
    reply = (
        Reply.objects.filter(demand=demand, approved_at__isnull=False)
        .order_by("-approved_at", "-id")
        .first()
    )
    if reply is None:  # pragma: no cover - these transitions always leave an approved reply
        return None
    return _store(reply, demand)


def recompute_reply_quality(*, only_missing: bool = False, batch: int = 500) -> int:
    """Score every sent reply again (or only those without a row); returns how many."""
    replies = Reply.objects.filter(approved_at__isnull=False).select_related("demand")
    if only_missing:
        replies = replies.filter(quality__isnull=True)
    done = 0
    last = 0
    while True:
        chunk = list(replies.filter(pk__gt=last).order_by("pk")[:batch])
        if not chunk:
            return done
        with transaction.atomic():
            for reply in chunk:
                if _store(reply, reply.demand) is not None:
                    done += 1
        last = chunk[-1].pk
