"""Reads: which attachments a viewer may list and download.

Staff see every file of a demand they may read (sanfuwu.demands.access). The person served
(their portal account or the secret link, demand.rating_token) sees what they submitted and
the files of an approved reply, not the handling units' internal files (退单, 进展, 回访).
"""

from __future__ import annotations

import hmac

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from sanfuwu.core.errors import NotFound
from sanfuwu.demands.access import access_demand, actors_for
from sanfuwu.demands.models import Demand, Reply
from sanfuwu.demands.workflow import Actor
from sanfuwu.orgs.models import User
from sanfuwu.orgs.selectors import user_scope

from .models import Attachment, Purpose


class AttachmentNotFound(NotFound):
    def __init__(self) -> None:
        # the same answer for "does not exist" and "not yours"
        super().__init__(_("附件不存在或无权查看"))


def token_matches(demand: Demand, token: str | None) -> bool:
    if not token or not demand.rating_token:
        return False
    return hmac.compare_digest(str(token).encode(), demand.rating_token.encode())


def person_view(user: User | None, demand: Demand) -> bool:
    """True when `user` reads the demand only as the person who submitted it."""
    if user is None or demand.submitter_id != user.pk:
        return False
    if user_scope(user).is_admin:
        return False
    return actors_for(user, demand) <= {Actor.SUBMITTER}


def _visible(demand: Demand, *, person: bool) -> QuerySet[Attachment]:
    qs = Attachment.objects.filter(demand=demand).select_related("uploaded_by").order_by("id")
    if person:
        approved_rounds = Reply.objects.filter(demand=demand, approved_at__isnull=False).values(
            "round"
        )
        qs = qs.filter(
            Q(purpose=Purpose.SUBMIT) | Q(purpose=Purpose.REPLY, round__in=approved_rounds)
        )
    return qs


def attachments_for(*, demand: Demand | int, user: User | None) -> list[Attachment]:
    """What `user` may list for `demand`; nothing when the demand is not theirs to read."""
    try:
        d = access_demand(user, demand.pk if isinstance(demand, Demand) else demand)
    except NotFound:
        return []
    return list(_visible(d, person=person_view(user, d)))


def attachments_for_token(*, demand: Demand, token: str | None) -> list[Attachment]:
    """What the secret link (the demand's rating_token) shows; nothing for a wrong token."""
    if not token_matches(demand, token):
        return []
    return list(_visible(demand, person=True))


def attachment_get(*, user: User | None, pk: int) -> Attachment:
    """One attachment `user` may download, or the same 404 for missing and not allowed."""
    demand_id = Attachment.objects.filter(pk=pk).values_list("demand_id", flat=True).first()
    if demand_id is None:
        raise AttachmentNotFound()
    try:
        d = access_demand(user, demand_id)
    except NotFound:
        raise AttachmentNotFound() from None
    found = _visible(d, person=person_view(user, d)).filter(pk=pk).first()
    if found is None:
        raise AttachmentNotFound()
    return found


def attachment_get_by_token(*, pk: int, token: str | None) -> Attachment:
    """One attachment through the secret link, or 404 (also for a wrong token)."""
    att = Attachment.objects.select_related("demand").filter(pk=pk).first()
    if att is None or not token_matches(att.demand, token):
        raise AttachmentNotFound()
    found = _visible(att.demand, person=True).filter(pk=pk).first()
    if found is None:
        raise AttachmentNotFound()
    return found
