"""Where the bytes live: the "attachments" entry of settings.STORAGES.

By default a FileSystemStorage under SANFUWU_ATTACHMENT_ROOT (outside STATIC_ROOT, never
served by whitenoise, without a URL); a deployment may point the alias at object storage.
Files are written inside the database transaction that records them, and removed again
when that transaction does not commit (see :class:`RollbackCleanup`).
"""

from __future__ import annotations

import logging
import secrets
import weakref
from collections.abc import Iterable

from django.core.files.storage import Storage, storages
from django.utils import timezone

log = logging.getLogger(__name__)

ALIAS = "attachments"


def attachment_storage() -> Storage:
    return storages[ALIAS]


def new_stored_name() -> str:
    """A random name, sharded by date: nothing about the file or the demand in it."""
    day = timezone.localdate()
    return f"{day:%Y/%m/%d}/{secrets.token_hex(16)}"


def _delete(storage: Storage, names: list[str], state: dict[str, bool]) -> None:
    if state["committed"]:
        return
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # a leftover file is harmless; never mask the original error
            log.exception("could not delete attachment file %s", name)


class RollbackCleanup:
    """Deletes the written files unless the surrounding transaction commits.

    Registered with ``transaction.on_commit``: on commit Django calls it and the files stay.
    Django has no rollback hook, but on a rollback (of the outer transaction or of a
    savepoint) it drops its pending commit callbacks; this object then goes away and its
    finalizer deletes the files. ``discard()`` deletes them at once.
    """

    def __init__(self, storage: Storage, names: Iterable[str]):
        self._state = {"committed": False}
        self._finalizer = weakref.finalize(self, _delete, storage, list(names), self._state)

    def __call__(self) -> None:
        self._state["committed"] = True
        self._finalizer.detach()

    def discard(self) -> None:
        self._finalizer()
