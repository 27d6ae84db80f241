"""The search document of a demand: its tokens, kept in step with the demand by the services.

The text index over it is vendor specific and lives in the migration: a stored tsvector
column with a GIN index on PostgreSQL, an FTS5 table fed by triggers on SQLite.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SearchDocument(models.Model):
    demand = models.OneToOneField(
        "demands.Demand",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="search_document",
    )
    # space-joined tokens of title, body, replies and address (see tokens.py)
    tokens = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "检索文档"
        verbose_name_plural = "检索文档"
