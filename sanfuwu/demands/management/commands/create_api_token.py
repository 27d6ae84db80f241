"""Issue an API token for a user; the raw key is printed once and only its hash is kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.orgs.models import ApiToken, User, hash_token

NAME_MAX = ApiToken._meta.get_field("name").max_length or 100


class Command(BaseCommand):
    help = "Issue a bearer token for the JSON API; the key is printed once, only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for (client system)")

    def handle(self, *args, username: str, name: str, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"用户不存在或已停用：{username}")
        name = name.strip()
        if not name or len(name) > NAME_MAX:
            raise CommandError(f"--name 须为 1–{NAME_MAX} 个字符")
        raw = ApiToken.new_raw_key()
        ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:8])
        self.stderr.write("请立即保存下面的密钥，它只显示这一次：")
        self.stdout.write(raw)
