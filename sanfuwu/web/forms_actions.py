"""The small forms of the demand page, one per action.

They only parse what the browser sends (text, numbers, a date) and keep it for a re-render;
every rule — required reasons, allowed units, allowed values — is checked by the service the
action calls, whose InvalidInput names the field the message belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sanfuwu.demands.models import (
    BODY_MAX,
    REASON_MAX,
    Category,
    Demand,
    Kind,
    Level,
    RatingValue,
    ReturnReason,
)
from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.selectors import members_with_role, unit_list

BLANK = ("", "—")


def _text(label, *, required=False, rows=3, max_length=REASON_MAX, help_text=""):
    """A textarea; `required` only sets the browser hint, the service checks it."""
    attrs = {"rows": rows, "maxlength": max_length}
    if required:
        attrs["required"] = True
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs=attrs),
        help_text=help_text,
    )


def _choice(label, choices, *, required=False, help_text=""):
    """A select whose value the service validates (so its message is the one shown)."""
    attrs = {"required": True} if required else {}
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Select(choices=choices, attrs=attrs),
        help_text=help_text,
    )


def category_choices() -> list[Any]:
    """Active categories grouped by their first level, labelled with their full path."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for pk, path in Category.objects.filter(is_active=True).values_list("pk", "path"):
        groups.setdefault(path.split("/")[0], []).append((str(pk), path))
    return [BLANK, *((top, opts) for top, opts in groups.items())]


def unit_path_labels(units: Iterable[Unit]) -> dict[int, str]:
    """ "区 / 部门 / 科室" for each unit, with one query for all the ancestors' names."""
    units = list(units)
    step = Unit.steplen
    ancestor_paths = {u.path[:i] for u in units for i in range(step, len(u.path), step)}
    names = dict(Unit.objects.filter(path__in=ancestor_paths).values_list("path", "name"))
    labels = {}
    for u in units:
        parts = [names.get(u.path[:i], "") for i in range(step, len(u.path), step)]
        labels[u.pk] = " / ".join([p for p in parts if p] + [u.name])
    return labels


def unit_choices(under: Unit | None) -> list[tuple[str, str]]:
    """The units a dispatching unit may send to: itself and everything below it."""
    units = list(unit_list(under=under))
    labels = unit_path_labels(units)
    return [(str(u.pk), labels[u.pk]) for u in units]


class UncheckedMultipleChoiceField(forms.MultipleChoiceField):
    """Several values from a select; which ones are allowed is the service's decision."""

    def validate(self, value):
        pass


class UncheckedChoiceField(forms.ChoiceField):
    """Radio buttons whose value the service validates (with its own message)."""

    def validate(self, value):
        pass


class ActionForm(forms.Form):
    """Base: the form knows the demand it acts on (for its pickers) and its action name."""

    # field name -> whether several units may be picked (rendered as the tree search picker)
    unit_fields: dict[str, bool] = {}
    # (value, label) pairs: the form is submitted by one of these buttons, named "decision"
    decisions: list[tuple[str, Any]] = []
    # the attachments' purpose when the form also takes files ("" = no files)
    files_purpose = ""

    def __init__(self, *args, demand: Demand, user: User, action: str, **kwargs):
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)
        self.demand = demand
        self.user = user
        self.action = action

    def decision(self) -> str:
        return self.data.get("decision", "") if self.is_bound else ""

    def add_file_error(self, message: str) -> None:
        """A refused attachment: shown next to the file input (not a form field)."""
        self.file_errors = [*getattr(self, "file_errors", []), message]


class EmptyForm(ActionForm):
    pass


class ClassifyForm(ActionForm):
    category = _choice(_("分类"), [])
    kind = _choice(_("类型"), [BLANK, *Kind.choices])
    level = _choice(_("层级"), [BLANK, *Level.choices])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.choices = category_choices()
        d = self.demand
        self.initial.setdefault("category", str(d.category_id or ""))
        self.initial.setdefault("kind", d.kind)
        self.initial.setdefault("level", d.level)


class DispatchForm(ClassifyForm):
    unit_fields = {"lead_unit": False, "co_units": True}

    lead_unit = _choice(_("主办单位"), [], required=True)
    co_units = UncheckedMultipleChoiceField(
        label=_("协办单位"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("可多选；按住 Ctrl 或 ⌘ 选择多个"),
    )
    due_at = forms.DateTimeField(
        label=_("办理期限"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("留空则按诉求类型的工作日自动计算"),
    )
    note = _text(_("派单说明"), rows=2)

    field_order = ["lead_unit", "co_units", "category", "kind", "level", "due_at", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        units = [BLANK, *unit_choices(self.demand.dispatch_unit)]
        self.fields["lead_unit"].widget.choices = units
        co_units = self.fields["co_units"]
        assert isinstance(co_units, forms.ChoiceField)
        co_units.choices = units[1:]
        suggested = self.demand.category.default_unit_id if self.demand.category else None
        if suggested:
            self.initial.setdefault("lead_unit", str(suggested))

    def clean_lead_unit(self) -> str:
        value = self.cleaned_data.get("lead_unit", "")
        if not value:
            raise forms.ValidationError(_("请选择主办单位"))
        return value

    def clean_co_units(self) -> list[str]:
        return [v for v in self.cleaned_data.get("co_units", []) if v]


class RedispatchForm(DispatchForm):
    field_order = ["lead_unit", "co_units", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("category", "kind", "level", "due_at"):
            del self.fields[name]
        self.fields["note"].label = _("改派说明")


class AnswerForm(ActionForm):
    text = _text(_("答复内容"), required=True, rows=4, max_length=BODY_MAX)


class ReasonForm(ActionForm):
    reason = _text(_("理由"), required=True)


class OptionalReasonForm(ActionForm):
    reason = _text(_("理由（可不填）"), rows=2)


class MergeForm(ActionForm):
    into = forms.IntegerField(
        label=_("并入诉求编号"),
        required=True,
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"required": _("请输入要并入的诉求编号"), "invalid": _("编号须为数字")},
    )


class ReturnForm(ActionForm):
    files_purpose = "return"  # the form takes attachments, stored with this purpose
    reason_code = _choice(_("退单原因"), [BLANK, *ReturnReason.choices], required=True)
    reason = _text(_("具体说明"), required=True)


class AssignForm(ActionForm):
    handler = _choice(_("承办人"), [], required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lead = self.demand.lead_unit
        people = members_with_role(lead, Role.HANDLER).order_by("username") if lead else []
        self.fields["handler"].widget.choices = [BLANK, *((str(u.pk), str(u)) for u in people)]
        self.initial.setdefault("handler", str(self.demand.handler_id or ""))

    def clean_handler(self) -> int:
        value = self.cleaned_data.get("handler", "")
        if not value.isdigit():
            raise forms.ValidationError(_("请选择承办人"))
        return int(value)


class NoteForm(ActionForm):
    text = _text(_("进展内容"), required=True, max_length=BODY_MAX)
    public = forms.BooleanField(
        label=_("对诉求人公开"),
        required=False,
        help_text=_("不勾选则为内部记录，仅工作人员可见"),
    )


class TextForm(ActionForm):
    text = _text(_("内容"), required=True, rows=4, max_length=BODY_MAX)


class ReplyForm(ActionForm):
    files_purpose = "reply"
    text = _text(_("答复内容"), required=True, rows=5, max_length=BODY_MAX)


class ExtensionForm(ActionForm):
    working_days = forms.IntegerField(
        label=_("延期工作日"),
        required=False,
        # the range is the service's rule (and message); the attributes only help the browser
        widget=forms.NumberInput(attrs={"required": True, "min": 1, "max": 60}),
        error_messages={"invalid": _("延期工作日须为整数")},
    )
    reason = _text(_("延期理由"), required=True)


class ExtensionDecisionForm(ActionForm):
    decisions = [("approve", _("批准延期")), ("refuse", _("驳回"))]
    note = _text(_("审批意见"), rows=2, help_text=_("驳回时必填"))


class EscalationDecisionForm(ActionForm):
    decisions = [("approve", _("同意上报")), ("refuse", _("驳回上报"))]
    note = _text(_("审批意见"), rows=2, help_text=_("驳回时必填"))
    upper_reference = forms.CharField(
        label=_("上级受理编号"),
        required=False,
        max_length=100,
        help_text=_("移交市级时填写"),
    )


class ReplyDecisionForm(ActionForm):
    decisions = [("approve", _("审核通过")), ("reject", _("退回修改"))]
    reason = _text(_("退回理由"), rows=2, help_text=_("退回修改时必填"))


RATING_CHOICES = [("", _("未评价")), *RatingValue.choices]


class RevisitForm(ActionForm):
    reached = forms.ChoiceField(
        label=_("是否联系上"),
        choices=[("yes", _("已联系上")), ("no", _("未联系上"))],
        initial="yes",
        widget=forms.RadioSelect,
    )
    method = UncheckedChoiceField(
        label=_("回访方式"),
        choices=[("phone", _("电话")), ("visit", _("上门"))],
        initial="phone",
        widget=forms.RadioSelect,
    )
    note = _text(_("回访记录"), rows=2)
    rating = _choice(_("回访时的评价"), RATING_CHOICES)
    comment = _text(_("评价意见"), rows=2)


class RateForm(ActionForm):
    value = _choice(_("评价"), [BLANK, *RatingValue.choices], required=True)
    comment = _text(_("评价意见"), rows=2)


class ReviewForm(ActionForm):
    decisions = [("reopen", _("督查重办")), ("close", _("督查办结"))]
    explanation = _text(_("复核说明"), required=True)


class ReconcileForm(ActionForm):
    note = _text(_("对账说明（可不填）"), rows=2)
