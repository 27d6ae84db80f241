"""Placeholder: filled by the workbench work (issue 4)."""

urlpatterns: list = []
