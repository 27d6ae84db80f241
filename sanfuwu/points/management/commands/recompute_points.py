"""重新核算: apply today's rules to the points ledger from a date on (audited)."""

from __future__ import annotations

from datetime import date, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sanfuwu.core.errors import DomainError
from sanfuwu.orgs.models import User
from sanfuwu.points.services import points_recompute


class Command(BaseCommand):
    help = "Recompute points from DATE with the current rules; recorded with who, why and counts."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="since", required=True, help="YYYY-MM-DD (local date)")
        parser.add_argument("--user", required=True, help="the administrator who asks")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, since: str, user: str, reason: str, **options):
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise CommandError("--from 须为 YYYY-MM-DD") from None
        by = User.objects.filter(username=user).first()
        if by is None:
            raise CommandError(f"没有用户 {user}")
        moment = timezone.make_aware(datetime.combine(day, datetime.min.time()))
        try:
            record = points_recompute(by=by, since=moment, reason=reason)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"改分 {record.changed}，删除 {record.removed}，新增 {record.added}；"
            f"合计 {record.points_before} → {record.points_after}"
        )
