"""Background work of the reports app, run by the django-tasks database worker."""

from __future__ import annotations

from django_tasks import task


@task()
def run_export(job_id: int) -> str:
    """Write the ledger file of an export job; returns its final status."""
    from .services import export_run

    job = export_run(job_id=job_id)
    return job.status if job is not None else "skipped"
