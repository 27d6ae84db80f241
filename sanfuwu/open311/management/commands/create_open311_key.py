"""Issue a GeoReport v2 api_key for a client system; the key is printed once."""

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.open311.models import Client


class Command(BaseCommand):
    help = "Issue an Open311 api_key for a client system."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the client system's name (the source of its demands)")

    def handle(self, *args, name: str, **options):
        if Client.objects.filter(name=name).exists():
            raise CommandError(f"客户端已存在：{name}")
        _, raw = Client.issue(name)
        self.stdout.write(raw)
