"""Run the platform: web server, background worker and deadline sweeper, side by side.

Stops all three when any one of them exits or on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve sanfuwu with its db_worker and its deadline sweeper (the embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SANFUWU_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SANFUWU_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, host: str, port: int, workers: int, **options):
        manage = [sys.executable, "manage.py"]
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "sanfuwu.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
            "worker": [*manage, "db_worker"],
            "sweeper": [*manage, "sweep_deadlines", "--loop"],
        }
        children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(f"sanfuwu: http://{host}:{port}/  (worker and sweeper running)")
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, child in children.items():
                    code = child.poll()
                    if code is not None:
                        self.stderr.write(f"{name} exited with {code}; stopping the others")
                        exit_code = code or 1
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.time() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    child.kill()
        if exit_code:
            sys.exit(exit_code)
