"""Reference data: who am I, units, categories."""

from __future__ import annotations

from django.db.models import Q
from ninja import Router

from sanfuwu.demands.models import Category
from sanfuwu.orgs.models import Unit, UnitKind
from sanfuwu.orgs.selectors import unit_list

from .schemas import CategoryOut, ErrorOut, MeOut, UnitOut

router = Router(tags=["reference"])


@router.get("/me", response={200: MeOut, 401: ErrorOut})
def me(request):
    user = request.auth
    roles = [
        {
            "unit_id": m.unit_id,
            "unit": m.unit.name,
            "role": m.role,
            "role_label": m.get_role_display(),
        }
        for m in user.memberships.select_related("unit").order_by("unit__path", "role")
    ]
    return {"id": user.pk, "username": user.username, "display_name": str(user), "roles": roles}


@router.get("/units", response=list[UnitOut])
def units(request, search: str = "", kind: str = "", under: int | None = None, limit: int = 500):
    base = Unit.objects.filter(pk=under).first() if under else None
    rows = list(unit_list(search=search[:50], kind=kind, under=base)[: max(1, min(limit, 2000))])
    paths = {u.path[: -Unit.steplen] for u in rows if u.depth > 1}
    parents = dict(Unit.objects.filter(path__in=paths).values_list("path", "id"))
    out = []
    for u in rows:
        parent_path = u.path[: -Unit.steplen] if u.depth > 1 else None
        out.append(
            {
                "id": u.pk,
                "code": u.code,
                "name": u.name,
                "kind": u.kind,
                "kind_label": str(UnitKind(u.kind).label),
                "parent_id": parents.get(parent_path) if parent_path else None,
                "depth": u.depth,
            }
        )
    return out


@router.get("/categories", response=list[CategoryOut])
def categories(request, level: int | None = None, parent: int | None = None, search: str = ""):
    qs = Category.objects.filter(is_active=True)
    if level:
        qs = qs.filter(level=level)
    if parent:
        qs = qs.filter(parent_id=parent)
    if search:
        qs = qs.filter(Q(name__icontains=search[:50]) | Q(path__icontains=search[:50]))
    return list(qs.order_by("path"))
