"""The shipped router: evaluation command, suggestions on odd input, a small training run."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.management import call_command

from sanfuwu.data import TIPDM_DIR
from sanfuwu.insights import routing

ORIGINAL_SAMPLE = 120


def sample_csv(tmp_path, n: int = ORIGINAL_SAMPLE, form: str = "original"):
    with (TIPDM_DIR / "messages_train.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["text_form"] == form]
    rows = rows[:: max(1, len(rows) // n)][:n]  # spread over the file, which is sorted by label
    path = tmp_path / "sample.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "user", "title", "time", "body", "label"])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r[k] for k in ("id", "user", "title", "time", "body", "label")})
    return path


def test_route_eval_prints_the_result_line_last(tmp_path):
    out = io.StringIO()
    call_command("route_eval", str(sample_csv(tmp_path)), stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    m = re.fullmatch(
        r"RESULT macro_f1=(0\.\d{4}|1\.0000) accuracy=(0\.\d{4}|1\.0000) n=(\d+)", last
    )
    assert m, last
    assert int(m.group(3)) == ORIGINAL_SAMPLE
    # these rows were in the training data: the shipped model must know them
    assert float(m.group(2)) > 0.9


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("", ""),
        ("路", ""),
        ("！！！？？？", "。。。，，，"),
        ("🙂🙂🙂", "🚧🚧"),
        ("小区停车难", "x" * 100_000),
        ("Noise at night 夜间施工噪音扰民", "construction site 工地 every night"),
        ("學校周邊交通擁堵", "家長接送孩子時道路堵塞嚴重"),
    ],
)
def test_odd_input_gets_an_answer_never_an_exception(title, body):
    s = routing.load_router().suggest(title, body)
    assert s.reason in {"ok", "low_confidence", "too_short"}
    if s.reason == "too_short":
        assert s.label is None and s.ranking == []
    else:
        assert 0 <= s.confidence <= 1 and len(s.ranking) == 3


def test_a_clear_message_is_routed_with_confidence():
    s = routing.load_router().suggest(
        "小区物业乱收停车费", "物业公司未经业主同意收取停车费，要求住建部门查处。"
    )
    assert s.label == "城乡建设" and s.reason == "ok" and s.confidence >= routing.THRESHOLD
    s = routing.load_router().suggest(
        "社保断缴怎么补", "公司没有给我交社保，养老保险断了两年，怎么补缴？"
    )
    assert s.label == "劳动和社会保障"


def test_a_title_gets_its_own_block_ahead_of_title_and_body():
    text = routing.normalise("小区停车难", "物业乱收停车费")
    assert routing.has_title(text)
    assert routing._title_chars(text) == "小区停车难"
    assert "小区停车难" in routing._chars(text) and "物业" in routing._chars(text)
    assert not routing.has_title(routing.normalise("", "物业乱收停车费"))
    blocks = dict(routing.load_router().pipeline.named_steps["features"].transformer_list)
    assert set(blocks) == {"chars", "words", "title"}


def test_training_on_a_small_sample_saves_a_model_that_loads(tmp_path):
    data = sample_csv(tmp_path, n=400, form="segmented")
    model = tmp_path / "router.joblib"
    out = io.StringIO()
    call_command("train_router", "--data", str(data), "--output", str(model), stdout=out)
    assert out.getvalue().strip().splitlines()[-1].startswith("RESULT macro_f1=")
    router = routing.load_router(model)
    assert set(router.classes) <= {
        "城乡建设",
        "劳动和社会保障",
        "教育文体",
        "商贸旅游",
        "环境保护",
        "卫生计生",
        "交通运输",
    }
    assert router.suggest("学校食堂卫生差", "孩子在学校食堂吃饭后腹泻").ranking


@pytest.mark.django_db
def test_the_suggestion_api_names_the_category_and_its_unit(tiny, api):
    from sanfuwu.demands.models import Category

    Category.objects.filter(path="城乡建设").update(default_unit=tiny.dept)
    r = api("dispatcher").post(
        "/suggestions/route",
        {"title": "小区物业乱收停车费", "body": "物业公司未经业主同意收取停车费。"},
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["label"], body["unit"], body["reason"]) == ("城乡建设", "住建局", "ok")
    r = api("dispatcher").post("/suggestions/route", {"title": "好"})
    assert r.json()["reason"] == "too_short" and r.json()["label"] is None
    assert api("resident").post("/suggestions/route", {"title": "x"}).status_code == 403
    assert api("anonymous").post("/suggestions/route", {"title": "x"}).status_code == 401


@pytest.mark.django_db
def test_a_dispatchers_category_is_kept_as_a_label_with_the_suggestion(tiny, api, tmp_path):
    from sanfuwu.insights.models import TriageLabel

    r = api("dispatcher").post(
        "/demands",
        {
            "title": "公司拖欠工资三个月",
            "body": "老板一直不发工资，社保也没交。",
            "kind": "help",
            "channel": "hotline",
        },
    )
    pk = r.json()["id"]
    # the dispatcher files it under 城乡建设 although the router says 劳动和社会保障
    api("dispatcher").post(
        f"/demands/{pk}/dispatch", {"lead_unit": tiny.dept.pk, "category": tiny.category.pk}
    )
    label = TriageLabel.objects.get(demand_id=pk)
    assert (label.chosen_label, label.suggested_label) == ("城乡建设", "劳动和社会保障")
    assert label.is_correction and label.chosen_by == tiny.users["dispatcher"]
    out = io.StringIO()
    model = tmp_path / "router.joblib"
    call_command(
        "train_router",
        "--data",
        str(sample_csv(tmp_path, n=300, form="segmented")),
        "--output",
        str(model),
        "--with-triage",
        stdout=out,
    )
    assert "added 1 triage labels" in out.getvalue()
