"""Train the routing model, print its held-out scores, and save it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sanfuwu.data import TIPDM_DIR
from sanfuwu.insights import routing


class Command(BaseCommand):
    help = "Train the category router on labelled messages; prints accuracy, macro-F1 and the per-class table."

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(TIPDM_DIR / "messages_train.csv"))
        parser.add_argument("--output", default=str(routing.MODEL_PATH))
        parser.add_argument("--seed", type=int, default=20261124)
        parser.add_argument(
            "--with-triage",
            action="store_true",
            help="add the dispatchers' categories of this deployment's demands (分拣标注)",
        )

    def handle(self, *args, data: str, output: str, seed: int, with_triage: bool, **options):
        try:
            rows = routing.read_labelled(Path(data))
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        if with_triage:
            from sanfuwu.insights.models import TriageLabel

            n = 0
            for title, body, label in TriageLabel.objects.values_list(
                "title", "body", "chosen_label"
            ).iterator():
                rows.texts.append(routing.normalise(title, body))
                rows.labels.append(label)
                rows.forms.append("triage")
                n += 1
            self.stdout.write(f"added {n} triage labels")
        router, metrics, table = routing.train(rows, seed=seed)
        self.stdout.write(f"held-out split: n={metrics['n']}")
        self.stdout.write(table)
        self.stdout.write(
            f"  {'all':<10} n={metrics['n']:<5} accuracy={metrics['accuracy']:.4f} macro_f1={metrics['macro_f1']:.4f}"
        )
        for form, m in metrics["forms"].items():
            self.stdout.write(
                f"  {form:<10} n={m['n']:<5} accuracy={m['accuracy']:.4f} macro_f1={m['macro_f1']:.4f}"
            )
        routing.save(router, Path(output))
        routing.load_router.cache_clear()
        self.stdout.write(
            f"saved {output} (trained on {metrics['trained_on']} rows, T={metrics['temperature']:.2f})"
        )
        self.stdout.write(
            f"RESULT macro_f1={metrics['macro_f1']:.4f} accuracy={metrics['accuracy']:.4f} n={metrics['n']}"
        )
