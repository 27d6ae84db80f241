"""The demo directory builder: enterprises enriched, residents grouped into households,
projects filed, and a second run changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from sanfuwu.directory.demo import build_directory
from sanfuwu.directory.models import DirectoryImport, Enterprise, Household, Project, Resident
from sanfuwu.directory.validators import make_id_number, make_uscc
from sanfuwu.orgs.models import Grid, UnitKind, User
from sanfuwu.orgs.services import unit_create

pytestmark = pytest.mark.django_db


def test_build_directory_enriches_groups_and_is_idempotent(tiny):
    User.objects.create_superuser("admin", password="x")
    unit_create(parent=tiny.root, code="Q-B9", name="发展和改革局", kind=UnitKind.DEPARTMENT)
    grid = Grid.objects.create(code="G1", name="一网格", community=tiny.community)
    for i in range(20):
        Enterprise.objects.create(
            name=f"企业{i}",
            uscc=make_uscc(i + 1),
            industry="制造业",
            grid=grid,
            is_above_scale=i % 2 == 0,
        )
    for i in range(40):
        Resident.objects.create(
            name=f"居民{i}",
            phone="13800000000",
            id_number=make_id_number(birth=date(1940 + i, 1, 1), seq=i),
            grid=grid,
            address=f"{i}号",
        )
    build_directory(log=lambda _m: None)
    assert not Enterprise.objects.filter(industry_section="").exists()
    assert set(Enterprise.objects.values_list("community", flat=True)) == {tiny.community.pk}
    assert (
        Enterprise.objects.filter(is_above_scale=True).exclude(size__in=["large", "medium"]).count()
        == 0
    )
    households = Household.objects.count()
    assert 10 <= households <= 40
    assert not Resident.objects.filter(household__isnull=True).exists()
    assert Household.objects.exclude(need_flags=0).exists()
    assert Project.objects.count() == 30
    assert Project.objects.filter(owner_unit__name="发展和改革局").exists()

    imports = DirectoryImport.objects.count()
    build_directory(log=lambda _m: None)
    assert (Household.objects.count(), Project.objects.count()) == (households, 30)
    assert DirectoryImport.objects.count() == imports  # nothing was even re-imported
