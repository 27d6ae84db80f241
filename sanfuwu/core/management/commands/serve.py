"""Run the platform: the web server, the background task worker and the periodic sweeps.

Five child processes side by side:

* ``gunicorn sanfuwu.wsgi:application`` (static files through WhiteNoise),
* ``manage.py db_worker`` (django-tasks-db: notifications and other background tasks),
* ``manage.py sweep_deadlines --loop`` (marks overdue demands and 督办),
* ``manage.py process_points --loop`` (积分 from demand events, visits and 督办),
* ``manage.py poll_open311_remotes --loop`` (demands forwarded to other GeoReport servers).

SIGINT (Ctrl-C) and SIGTERM are forwarded to all of them; when any one of them exits, the
others are stopped and ``serve`` exits non-zero. A second signal, or a child that does not
stop within the grace period, gets SIGKILL. Each child runs in its own process group, so a
Ctrl-C in the terminal reaches them once (through ``serve``), and on Linux each child gets
SIGTERM should ``serve`` itself be killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand

GRACE_SECONDS = 15


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send SIGTERM to the child when serve dies (even SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def _kill_group(pgid: int) -> None:
    """SIGKILL a child's process group (the child and anything it forked), if any is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Command(BaseCommand):
    help = (
        "Serve sanfuwu: gunicorn, the django-tasks db_worker and the periodic sweeps together; "
        "Ctrl-C stops them all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host",
            default=os.environ.get("SANFUWU_HOST", "127.0.0.1"),
            help="address to bind (env SANFUWU_HOST, default 127.0.0.1)",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("SANFUWU_PORT", "8000")),
            help="port to bind (env SANFUWU_PORT, default 8000)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("SANFUWU_WORKERS", "2")),
            help="gunicorn worker processes (default 2)",
        )
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")

    def handle(self, *args, host: str, port: int, workers: int, threads: int, **options):
        manage = sys.argv[0] if os.path.basename(sys.argv[0]) == "manage.py" else None
        django = (
            [sys.executable, os.path.abspath(manage)]
            if manage
            else [sys.executable, "-m", "django"]
        )
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "sanfuwu.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--graceful-timeout",
                str(GRACE_SECONDS - 5),
                "--access-logfile",
                "-",
                "--no-control-socket",  # no ~/.gunicorn socket shared by every instance
            ],
            "worker": [*django, "db_worker", "--no-reload"],
            "sweeper": [*django, "sweep_deadlines", "--loop"],
            # points (积分) from demand events, visits and 督办 (docs/adr: points catch-up sweep)
            "points": [*django, "process_points", "--loop"],
            # the status of demands forwarded to other GeoReport v2 servers (docs/adr/0014)
            "open311-poll": [*django, "poll_open311_remotes", "--loop"],
        }
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.setdefault("DJANGO_SETTINGS_MODULE", "sanfuwu.settings")

        received: list[int] = []

        def on_signal(signum, frame):
            received.append(signum)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        children: dict[str, subprocess.Popen] = {}
        exit_code = 0
        try:
            for name, cmd in commands.items():
                children[name] = subprocess.Popen(
                    cmd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    process_group=0,
                    preexec_fn=_die_with_parent(),
                )
            self.say(
                f"serving http://{bind}/ (pids: "
                + ", ".join(f"{name} {child.pid}" for name, child in children.items())
                + "); Ctrl-C stops"
            )
            while not received:
                dead = [(n, c.returncode) for n, c in children.items() if c.poll() is not None]
                if dead:
                    name, code = dead[0]
                    self.say(f"{name} exited with status {code}; stopping the others", err=True)
                    exit_code = code if code and code > 0 else 1
                    break
                time.sleep(0.2)
        finally:
            sig = received[0] if received else signal.SIGTERM
            if received:
                self.say(f"received {signal.Signals(sig).name}; stopping")
            self.stop(children, sig, received)
        if exit_code:
            sys.exit(exit_code)

    def say(self, message: str, err: bool = False) -> None:
        out = self.stderr if err else self.stdout
        out.write(f"[serve] {message}")
        out.flush()

    def stop(self, children: dict[str, subprocess.Popen], sig: int, received: list[int]) -> None:
        """Send sig to every live child; SIGKILL what is left after the grace period or a
        second signal; finally sweep each child's process group (gunicorn's workers)."""
        seen = len(received)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(sig)
        deadline = time.monotonic() + GRACE_SECONDS
        killed = False
        while any(c.poll() is None for c in children.values()):
            if not killed and (time.monotonic() > deadline or len(received) > seen):
                killed = True
                for name, child in children.items():
                    if child.poll() is None:
                        self.say(f"{name} did not stop; killing it", err=True)
                        _kill_group(child.pid)
            time.sleep(0.1)
        for child in children.values():
            _kill_group(child.pid)
