"""Issue a GeoReport v2 api_key for a client system; the key is printed once.

The workbench page 接口密钥 (/keys/open311/) does the same for administrators in the browser.
"""

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import DomainError
from sanfuwu.open311.services import client_issue
from sanfuwu.orgs.models import User
from sanfuwu.orgs.roles import Role


class Command(BaseCommand):
    help = "Issue an Open311 api_key for a client system."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client system's name (the source of its demands)")
        parser.add_argument("--contact", default="", help="who runs the client, what it is for")
        parser.add_argument(
            "--by", default="", help="the administrator recorded as issuer (default: a superuser)"
        )

    def handle(self, *args, name: str, contact: str, by: str, **options):
        if by:
            admin = User.objects.filter(username=by).first()
        else:
            admin = (
                User.objects.filter(is_superuser=True).order_by("pk").first()
                or User.objects.filter(memberships__role=Role.ADMIN).order_by("pk").first()
            )
        if admin is None:
            raise CommandError("没有可记录为签发人的管理员：用 --by 指定，或先创建超级用户")
        try:
            _, raw = client_issue(by=admin, name=name, contact=contact)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
