"""Background work of the Open311 app (django-tasks): one poll of the remote systems.

django-tasks has no scheduler (ADR 0002): enqueue this from a timer, or run the command
``poll_open311_remotes --loop`` beside the deadline sweeper.
"""

from __future__ import annotations

from django_tasks import task


@task()
def poll_open311_remotes() -> dict[str, int]:
    from .outbound import poll_forwarded

    result = poll_forwarded()
    return {"checked": result.checked, "updated": result.updated, "failed": result.failed}
