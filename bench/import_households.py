"""Benchmark: import 300,000 households (about 600,000 member rows) from one .xlsx file.

    nice -n 19 .venv/bin/python bench/import_households.py               # SQLite and PostgreSQL
    nice -n 19 .venv/bin/python bench/import_households.py --db sqlite --households 20000

The file is generated once, streaming, as Excel writes it (shared strings), and cached in
``bench/.cache/households-<n>.xlsx``. Each database starts empty (SQLite in
``bench/.cache/import-sqlite/``, PostgreSQL in the database ``sanfuwu_bench_import``, both
recreated), gets 1 区 → 1 街道 → 10 村社 with 100 grids, then the whole file is imported through
``importing.directory_import`` in process (read, validate every row, write in one
transaction), and imported a second time (every row matched, nothing changed). Prints
``RESULT import_households_<n/1000>k_<db>=<seconds> s`` and ``RESULT
reimport_households_<n/1000>k_<db>=<seconds> s``.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
PG_NAME = "sanfuwu_bench_import"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GRIDS = 100
HEADER = [
    "户编号",
    "住址",
    "网格",
    "户联系电话",
    "需求标识",
    "姓名",
    "身份证号",
    "与户主关系",
    "成员电话",
]
FLAGS = ["", "", "", "老年", "老年、独居", "困难家庭、低保", "残疾", "住房困难"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def data_file(households: int) -> Path:
    return CACHE / f"households-{households}.xlsx"


def rows(households: int) -> Iterator[list[str]]:
    """1–3 members per household (2 on average), valid and unique 身份证号 throughout."""
    sys.path.insert(0, str(ROOT))
    from sanfuwu.directory.validators import make_id_number

    person = 0
    base = date(1930, 1, 1)
    for h in range(households):
        key = f"H{h + 1:07d}"
        grid = f"BG-{h % GRIDS + 1:03d}"
        address = f"示范区幸福里{h // 100 + 1}幢{h % 100 + 1:02d}室"
        phone = f"13{h % 10}{h:08d}"[:11]
        for m in range(h % 3 + 1):
            # (birth date, 顺序码) pairs never repeat
            number = make_id_number(
                birth=base + timedelta(days=person % 27_000), seq=person // 27_000
            )
            name = SURNAMES[person % 20] + GIVEN[(person // 20) % 20]
            first = m == 0
            yield [
                key,
                address if first else "",
                grid if first else "",
                phone if first else "",
                FLAGS[h % len(FLAGS)] if first else "",
                name,
                number,
                "户主" if first else ("配偶" if m == 1 else "子女"),
                "",
            ]
            person += 1


def _col(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def generate(households: int) -> Path:
    """Write the file as Excel itself does (shared strings, a <dimension>), streaming.

    openpyxl's write-only mode writes inline strings and no dimension, which its own
    read-only reader then parses several times slower than a file saved by Excel or WPS.
    """
    path = data_file(households)
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    strings: dict[str, int] = {}
    tmp = path.with_suffix(".tmp")
    count = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            n_rows = 1 + households * 2  # exact: 1, 2, 3 members in turn
            n_rows -= {0: 0, 1: 1, 2: 1}[households % 3]
            out.write(
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{NS}"><dimension ref="A1:{_col(len(HEADER) - 1)}{n_rows}"/>'
                "<sheetData>"
            )
            for r, row in enumerate(itertools.chain([HEADER], rows(households)), start=1):
                cells = []
                for c, value in enumerate(row):
                    if value:
                        idx = strings.setdefault(value, len(strings))
                        cells.append(f'<c r="{_col(c)}{r}" t="s"><v>{idx}</v></c>')
                out.write(f'<row r="{r}">{"".join(cells)}</row>')
                count = r
            out.write("</sheetData></worksheet>")
            out.flush()
            out.detach()
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            out.write(
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<sst xmlns="{NS}" uniqueCount="{len(strings)}">'
            )
            for text in strings:
                out.write(f"<si><t>{escape(text)}</t></si>")
            out.write("</sst>")
            out.flush()
            out.detach()
        for name, text in PACKAGE.items():
            zf.writestr(name, text)
    tmp.replace(path)
    print(
        f"generated {path.name}: {households} households, {count - 1} rows "
        f"in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return path


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
PACKAGE = {
    "[Content_Types].xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{_REL}">'
        '<sheets><sheet name="户籍" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def env_for(db: str) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="sanfuwu.settings", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    data = CACHE / f"import-{db}"
    if db == "sqlite":
        shutil.rmtree(data, ignore_errors=True)  # a fresh, empty database every run
    data.mkdir(parents=True, exist_ok=True)
    env["SANFUWU_DATA_DIR"] = str(data)
    if db == "postgres":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
    return env


def recreate_pg() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}"')
        conn.execute(f'CREATE DATABASE "{PG_NAME}"')


def worker(db: str, households: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from sanfuwu.directory.importing import directory_import
    from sanfuwu.directory.models import Household, Resident
    from sanfuwu.orgs.models import Grid, UnitKind, User
    from sanfuwu.orgs.services import unit_create

    call_command("migrate", verbosity=0)
    root = unit_create(parent=None, code="BQ", name="基准区", kind=UnitKind.DISTRICT)
    street = unit_create(parent=root, code="BQ-J1", name="基准街道", kind=UnitKind.STREET)
    communities = [
        unit_create(
            parent=street, code=f"BQ-C{i:02d}", name=f"基准{i}社区", kind=UnitKind.COMMUNITY
        )
        for i in range(1, 11)
    ]
    Grid.objects.bulk_create(
        Grid(code=f"BG-{g:03d}", name=f"基准网格{g}", community=communities[g % 10])
        for g in range(1, GRIDS + 1)
    )
    admin = User.objects.create_superuser("bench_admin", password="x")
    path = data_file(households)
    data = path.read_bytes()
    label = f"{households // 1000}k_{db}"

    started, cpu = time.monotonic(), time.process_time()
    report = directory_import(by=admin, kind="households", data=data, file_name=path.name)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    if report.errors:
        raise SystemExit(f"import failed: {report.errors[:3]}")
    assert Household.objects.count() == households, Household.objects.count()
    print(f"  {report.rows} rows, {report.created} households, {report.members_created} members")
    # on a shared machine wall time includes waiting for the CPU: say how much was ours
    print(f"  this process used {cpu:.1f} s of CPU", flush=True)
    print(f"RESULT import_households_{label}={seconds:.1f} s", flush=True)

    started, cpu = time.monotonic(), time.process_time()
    again = directory_import(by=admin, kind="households", data=data, file_name=path.name)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    assert (again.created, again.members_created) == (0, 0) and not again.errors
    assert Resident.objects.count() == report.members_created
    print(f"  this process used {cpu:.1f} s of CPU", flush=True)
    print(f"RESULT reimport_households_{label}={seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--worker", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.households)
        return
    generate(args.households)
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        if db == "postgres":
            recreate_pg()
        print(f"{db}:", flush=True)
        subprocess.run(
            [sys.executable, __file__, "--worker", db, "--households", str(args.households)],
            env=env_for(db),
            check=True,
        )


if __name__ == "__main__":
    main()
