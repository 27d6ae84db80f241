"""The demo district's directory: 门类, size, tags and parks for its 500 enterprises, its 3,000
residents grouped into households with need flags, and 30 key projects.

Everything goes through the real import (``importing.directory_import_rows``), as an
administrator would load it from Excel, so the demo also exercises validation and matching.
Idempotent: each part is skipped once present, and the rows are the same on every run (a fixed
seed), so even a repeated import would change nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sanfuwu.orgs.models import Grid, Unit, UnitKind, User

from .flags import EnterpriseTag, NeedFlag
from .importing import directory_import_rows
from .models import Enterprise, Household, ImportKind, IndustrySection, Project, Resident

SEED = 5
HOUSEHOLD_PREFIX = "SFQ-H"
PROJECT_PREFIX = "SFQ-XM-"
PARKS = [
    ("示范科技城", ["创新大厦", "智汇中心", "孵化楼A座"]),
    ("江滨经济开发区", ["标准厂房1号", "标准厂房2号", "综合楼"]),
    ("湖畔数字产业园", ["数字大厦", "云谷中心"]),
    ("青山工业园", ["一期厂区", "二期厂区"]),
]
DETAIL = {
    "C": ["通用设备制造", "电子元件制造", "食品制造", "纺织服装", "新材料制造"],
    "F": ["日用品批发", "五金零售", "医药批发"],
    "I": ["软件开发", "信息系统集成服务", "互联网数据服务"],
    "E": ["房屋建筑", "建筑安装", "装饰装修"],
    "H": ["正餐服务", "快餐服务", "酒店"],
    "M": ["工程技术研究", "检验检测服务"],
    "G": ["道路货物运输", "仓储服务"],
    "L": ["企业管理服务", "人力资源服务"],
}
PROJECTS = [
    "智能制造产业园",
    "城东老旧小区综合改造",
    "江滨公园提升工程",
    "湖畔数字经济中心",
    "青山污水处理厂扩建",
    "白沙镇未来乡村示范带",
    "示范区人民医院新院区",
    "城西综合交通枢纽",
    "新材料产业基地",
    "城北安置房二期",
    "滨江快速路",
    "科创孵化中心",
    "冷链物流园",
    "中小学新建工程",
    "养老服务综合体",
]
STAGE_WEIGHTS = [("谋划", 3), ("前期", 5), ("在建", 12), ("竣工", 4), ("投产", 6)]
RELATIONS = ["配偶", "子女", "子女", "父母", "孙子女"]


def build_directory(*, log: Callable[[str], None] = print) -> None:
    """Enrich the demo enterprises, file households and projects (see the module docstring)."""
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        return  # the organisation is built first
    rng = random.Random(SEED)
    _enterprises(admin, random.Random(rng.random()), log)
    _households(admin, random.Random(rng.random()), log)
    _projects(admin, random.Random(rng.random()), log)


def _report(what: str, report: Any, log: Callable[[str], None]) -> None:
    if report.errors:  # the demo data is generated: an error here is a bug
        raise RuntimeError(f"示范{what}导入失败：" + "；".join(str(e) for e in report.errors[:5]))
    log(f"名录：{what} {report.rows} 行，新增 {report.created}，更新 {report.updated}")


def _enterprises(admin: User, rng: random.Random, log: Callable[[str], None]) -> None:
    if Enterprise.objects.exclude(industry_section="").exists():
        return
    names = {str(label): code for code, label in IndustrySection.choices}
    grids = dict(Grid.objects.values_list("pk", "code"))
    tag_labels = list(EnterpriseTag.by_label())
    rows = []
    for i, e in enumerate(Enterprise.objects.order_by("pk")):
        section = names.get(e.industry, "C")
        above = e.is_above_scale
        size = rng.choice(["大型", "中型"] if above else ["小型", "微型", "小型"])
        tags = []
        if rng.random() < (0.5 if above else 0.15):
            tags = rng.sample(tag_labels[:5], k=rng.choice((1, 1, 2)))
        park, buildings = PARKS[i % len(PARKS)]
        in_park = i % 5 != 0  # one in five sits outside the parks
        rows.append(
            {
                "统一社会信用代码": e.uscc or "",
                "企业名称": e.name,
                "行业门类": section,
                "行业细类": rng.choice(DETAIL.get(section, ["其他"])),
                "企业规模": size,
                "规上企业": "是" if above else "否",
                "企业标签": "、".join(tags) or "无",
                "园区": park if in_park else "",
                "楼宇": rng.choice(buildings) if in_park else "",
                "网格": grids.get(e.grid_id, "") if e.grid_id else "",
            }
        )
    report = directory_import_rows(
        by=admin, kind=ImportKind.ENTERPRISES, rows=rows, file_name="示范数据（企业）"
    )
    _report("企业", report, log)


def _birth_year(id_number: str | None) -> int:
    return int(id_number[6:10]) if id_number and len(id_number) == 18 else 1980


def _households(admin: User, rng: random.Random, log: Callable[[str], None]) -> None:
    if Household.objects.filter(key__startswith=HOUSEHOLD_PREFIX).exists():
        return
    grids = dict(Grid.objects.values_list("pk", "code"))
    residents = list(
        Resident.objects.filter(household__isnull=True, id_number__isnull=False).order_by("pk")
    )
    rows = []
    n = i = 0
    while i < len(residents):
        size = rng.choice((1, 2, 2, 3, 3, 3, 4))
        members = residents[i : i + size]
        i += size
        n += 1
        head = members[0]
        flags: set[str] = set()
        if min(_birth_year(m.id_number) for m in members) <= 1960:
            flags.add(NeedFlag.label(NeedFlag.ELDERLY))
            if len(members) == 1:
                flags.add(NeedFlag.label(NeedFlag.ALONE))
        roll = rng.random()
        if roll < 0.08:
            flags |= {NeedFlag.label(NeedFlag.HARDSHIP), NeedFlag.label(NeedFlag.DIBAO)}
        elif roll < 0.14:
            flags.add(NeedFlag.label(NeedFlag.HOUSING))
        elif roll < 0.20:
            flags.add(NeedFlag.label(NeedFlag.DISABLED))
        for j, m in enumerate(members):
            rows.append(
                {
                    "户编号": f"{HOUSEHOLD_PREFIX}{n:05d}",
                    "住址": head.address,
                    "网格": grids.get(head.grid_id, "") if head.grid_id else "",
                    "户联系电话": head.phone,
                    "需求标识": "、".join(sorted(flags)) if j == 0 else "",
                    "姓名": m.name,
                    "身份证号": m.id_number or "",
                    "与户主关系": "户主" if j == 0 else rng.choice(RELATIONS),
                }
            )
    if rows:
        report = directory_import_rows(
            by=admin, kind=ImportKind.HOUSEHOLDS, rows=rows, file_name="示范数据（户籍）"
        )
        _report("户", report, log)


def _projects(admin: User, rng: random.Random, log: Callable[[str], None]) -> None:
    if Project.objects.filter(code__startswith=PROJECT_PREFIX).exists():
        return
    owners = list(
        Unit.objects.filter(
            kind=UnitKind.DEPARTMENT,
            name__in=["发展和改革局", "住房和城乡建设局", "经济和信息化局", "交通运输局", "水利局"],
        ).values_list("code", flat=True)
    )
    streets = list(
        Unit.objects.filter(kind=UnitKind.STREET).order_by("path").values_list("code", flat=True)
    )
    communities = {
        s: list(
            Unit.objects.filter(
                path__startswith=path, kind__in=[UnitKind.VILLAGE, UnitKind.COMMUNITY]
            )
            .order_by("path")
            .values_list("code", flat=True)
        )
        for s, path in Unit.objects.filter(kind=UnitKind.STREET).values_list("code", "path")
    }
    secretaries = set(
        User.objects.filter(username__endswith="_lingdao").values_list("username", flat=True)
    )
    if not owners or not streets:
        return
    stages = [s for s, w in STAGE_WEIGHTS for _ in range(w)]
    rows = []
    for k in range(30):
        si = k % len(streets)
        street = streets[si]
        secretary = f"jd{si + 1}_lingdao"
        rows.append(
            {
                "项目编号": f"{PROJECT_PREFIX}{k + 1:03d}",
                "项目名称": PROJECTS[k % len(PROJECTS)] + ("" if k < len(PROJECTS) else "（二期）"),
                "阶段": rng.choice(stages),
                "责任单位": rng.choice(owners) if k % 3 else street,
                "工地书记": secretary if secretary in secretaries else "",
                "村社": rng.choice(communities.get(street) or [""]),
                "地址": f"示范区{k % 8 + 1}号地块",
                "总投资（万元）": str(rng.randrange(2_000, 300_000, 500)),
            }
        )
    report = directory_import_rows(
        by=admin, kind=ImportKind.PROJECTS, rows=rows, file_name="示范数据（重大项目）"
    )
    _report("重大项目", report, log)
