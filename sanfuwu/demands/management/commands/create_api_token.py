"""Issue an API token for a user; the raw key is printed once and only its hash is kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.orgs.models import ApiToken, User, hash_token


class Command(BaseCommand):
    help = "Issue a bearer token for the JSON API."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for (client system)")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{username}")
        raw = ApiToken.new_raw_key()
        ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:8])
        self.stdout.write(raw)
