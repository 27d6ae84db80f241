"""Evaluate the shipped routing model on any labelled CSV, without retraining."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.insights import routing


class Command(BaseCommand):
    help = (
        "Predict with the shipped model on FILE.csv (columns of messages_train.csv) and score it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--model", default=str(routing.MODEL_PATH))

    def handle(self, *args, file: str, model: str, **options):
        try:
            rows = routing.read_labelled(Path(file))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if not rows.labels:
            raise CommandError("no rows to evaluate")
        router = routing.load_router(Path(model))
        metrics, table = routing.evaluate(router, rows)
        self.stdout.write(table)
        for form, m in metrics["forms"].items():
            self.stdout.write(
                f"  {form:<10} n={m['n']:<5} accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f}"
            )
        self.stdout.write(
            f"RESULT macro_f1={metrics['macro_f1']:.4f} accuracy={metrics['accuracy']:.4f} n={metrics['n']}"
        )
