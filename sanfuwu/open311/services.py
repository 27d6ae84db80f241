"""Writes of the Open311 app: issuing and revoking the api_keys of client systems.

Only administrators manage keys. A key is shown once, when it is issued; only its hash is
kept. Each change is written to the audit log (Django's LogEntry, the admin's history).
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction

from sanfuwu.core import clock
from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sanfuwu.demands.services import check_text
from sanfuwu.orgs.models import User, hash_token
from sanfuwu.orgs.selectors import user_scope

from .models import Client


def _require_admin(by: User) -> None:
    if not user_scope(by).is_admin:
        raise Forbidden("只有管理员可以管理接口密钥")


def _audit(by: User, client: Client, flag: int, message: str) -> None:
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[client],
        action_flag=flag,
        change_message=message,
        single_object=True,
    )


@transaction.atomic
def client_issue(*, by: User, name: str, contact: str = "") -> tuple[Client, str]:
    """签发 — a new client system and its api_key (returned once, never stored in clear)."""
    _require_admin(by)
    name = check_text(name, field="name", max_length=100)
    contact = check_text(contact, field="contact", max_length=200, required=False)
    if Client.objects.filter(name=name).exists():
        raise InvalidInput(f"客户端“{name}”已存在；名称是其诉求的来源，须唯一", field="name")
    raw = Client.new_raw_key()
    try:
        with transaction.atomic():
            client = Client.objects.create(
                name=name,
                contact=contact,
                key_hash=hash_token(raw),
                prefix=raw[:8],
                created_by=by,
                created_at=clock.now(),
            )
    except IntegrityError as exc:  # a concurrent issue with the same name
        raise InvalidInput(f"客户端“{name}”已存在", field="name") from exc
    _audit(by, client, ADDITION, f"签发 Open311 api_key（{client.prefix}…）")
    return client, raw


@transaction.atomic
def client_revoke(*, by: User, client: Client | int) -> Client:
    """吊销 — the key stops working at once; the client's demands stay as they are."""
    _require_admin(by)
    pk = client.pk if isinstance(client, Client) else client
    found = Client.objects.select_for_update().filter(pk=pk).first()
    if found is None:
        raise NotFound("客户端不存在")
    if found.revoked_at is not None:
        raise Conflict(f"客户端“{found.name}”的密钥已吊销", code="already_revoked")
    found.revoked_at = clock.now()
    found.revoked_by = by
    found.save(update_fields=["revoked_at", "revoked_by"])
    _audit(by, found, CHANGE, f"吊销 Open311 api_key（{found.prefix}…）")
    return found


def client_history(client: Client) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Client), object_id=str(client.pk)
        ).order_by("action_time")
    )
