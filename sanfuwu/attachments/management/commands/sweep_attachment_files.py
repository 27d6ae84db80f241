from datetime import timedelta

from django.core.management.base import BaseCommand

from sanfuwu.attachments.services import attachment_files_orphaned, attachment_files_sweep


class Command(BaseCommand):
    help = "Delete attachment files no row refers to (left by a crash mid-upload)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-hours", type=float, default=24)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, older_than_hours: float, dry_run: bool, **options):
        age = timedelta(hours=older_than_hours)
        names = (
            attachment_files_orphaned(older_than=age)
            if dry_run
            else attachment_files_sweep(older_than=age)
        )
        for name in names:
            self.stdout.write(name)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {len(names)} orphaned file(s)")
