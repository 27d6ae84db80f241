"""A second sanfuwu server (gunicorn) in its own process and its own SQLite database: the remote
GeoReport v2 system that the outbound tests forward demands to.

Migrating a fresh database takes a minute on a busy machine, so the remote starts from a copy
of the test database as it stands (SQLite's backup API): the same units, users, categories and
the api_key issued before the copy. From then on the two databases are apart.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from sanfuwu.orgs.models import ApiToken, User, hash_token

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_token(user: User) -> str:
    raw = ApiToken.new_raw_key()
    ApiToken.objects.create(user=user, name="remote", key_hash=hash_token(raw), prefix=raw[:8])
    return raw


@dataclass
class RemoteInstance:
    url: str
    db_path: Path
    process: subprocess.Popen
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, who: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Drive the remote's own JSON API as one of its users (moves its demands along)."""
        request = urllib.request.Request(
            f"{self.url}/api{path}",
            data=json.dumps(body or {}).encode(),
            headers={
                "Authorization": f"Bearer {self.tokens[who]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"remote API {path}: {exc.code} {exc.read()[:300]!r}") from exc

    def georeport(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}/open311/v2/{path}", timeout=20) as r:
            return json.loads(r.read())

    def query(self, sql: str, *params: Any) -> list[tuple]:
        """Read the remote's database directly (what did it store?)."""
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, params).fetchall()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start_remote(tmp: Path, *, tokens: dict[str, User], env: dict[str, str] | None = None):
    """Copy the test database, start gunicorn on it, wait until it answers."""
    raws = {name: api_token(user) for name, user in tokens.items()}
    db_path = tmp / "remote.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(db_path)
    connection.connection.backup(target)
    target.close()
    port = free_port()
    log_path = tmp / "remote.log"
    child_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path.resolve()}",
        "DJANGO_SETTINGS_MODULE": "sanfuwu.settings",
        "DEBUG": "0",
        **(env or {}),
    }
    child_env.pop("TEST_SQLITE_NAME", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            # gunicorn, as `manage.py serve` runs the platform (and no migration check)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sanfuwu.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
            cwd=settings.BASE_DIR,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends it and its children
        )
    remote = RemoteInstance(f"http://127.0.0.1:{port}", db_path, process, log_path, raws)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            remote.georeport("discovery.json")
            return remote
        except (urllib.error.URLError, ConnectionError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                remote.stop()
                raise RuntimeError(
                    "the remote instance did not start:\n" + log_path.read_text()[-2000:]
                ) from None
            time.sleep(0.2)
