"""Register (or change) a remote GeoReport v2 system that demands may be forwarded to.

    manage.py add_open311_remote 邻区平台 https://other.example/open311/v2/ KEY \
        --jurisdiction other.example --map 12=5 --map '*=1'
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.core.errors import DomainError
from sanfuwu.open311.outbound import remote_endpoint_save
from sanfuwu.orgs.models import User
from sanfuwu.orgs.roles import Role


class Command(BaseCommand):
    help = "Register a remote GeoReport v2 server for forwarding demands (outbound Open311)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("base_url", help="the remote endpoint, e.g. https://host/open311/v2/")
        parser.add_argument("api_key", help="the api_key the remote issued to us")
        parser.add_argument("--jurisdiction", default="")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="CATEGORY=SERVICE_CODE",
            help="our category id = the remote service_code ('*' for every other category)",
        )
        parser.add_argument("--share-contact", action="store_true")
        parser.add_argument("--inactive", action="store_true")
        parser.add_argument(
            "--by", default="", help="the administrator recorded (default: a superuser)"
        )

    def handle(self, *args, **o):
        if o["by"]:
            admin = User.objects.filter(username=o["by"]).first()
        else:
            admin = (
                User.objects.filter(is_superuser=True).order_by("pk").first()
                or User.objects.filter(memberships__role=Role.ADMIN).order_by("pk").first()
            )
        if admin is None:
            raise CommandError("没有可记录的管理员：用 --by 指定")
        codes = {}
        for item in o["map"]:
            ours, sep, theirs = item.partition("=")
            if not sep:
                raise CommandError(f"--map 须为 分类=service_code：{item}")
            codes[ours.strip()] = theirs.strip()
        try:
            ep = remote_endpoint_save(
                by=admin,
                name=o["name"],
                base_url=o["base_url"],
                api_key=o["api_key"],
                jurisdiction_id=o["jurisdiction"],
                service_codes=codes,
                share_contact=o["share_contact"],
                active=not o["inactive"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(str(ep.pk))
