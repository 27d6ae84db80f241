"""The roles a user can hold in a unit (see docs/adr/0003-data-scoping.md)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SERVICE_OBJECT = "service_object", _("服务对象")
    GRID_WORKER = "grid_worker", _("网格员")
    VISITOR = "visitor", _("走访干部")
    DISPATCHER = "dispatcher", _("派单员")
    HANDLER = "handler", _("承办人")
    UNIT_HEAD = "unit_head", _("部门负责人")
    LEADER = "leader", _("领导")
    SUPERVISOR = "supervisor", _("督查")
    ADMIN = "admin", _("管理员")


# Roles that see every demand of their unit's subtree, not only their own unit's.
SUBTREE_ROLES = frozenset({Role.DISPATCHER, Role.LEADER, Role.SUPERVISOR})
# Roles that may record a demand on behalf of someone (hotline, grid, visit).
INTAKE_ROLES = frozenset(
    {Role.DISPATCHER, Role.GRID_WORKER, Role.VISITOR, Role.HANDLER, Role.UNIT_HEAD, Role.ADMIN}
)
