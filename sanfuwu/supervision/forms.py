"""Forms parse and render; the rules are in services.py (errors come back by field)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sanfuwu.orgs.models import Unit, User
from sanfuwu.orgs.selectors import subtree_q, user_scope

from .models import ItemStatus, OrderKind
from .services import ISSUER_ROLES


def issuer_units(user: User):
    scope = user_scope(user)
    qs = Unit.objects.filter(is_active=True)
    if not scope.is_admin:
        qs = qs.filter(subtree_q(scope.paths(ISSUER_ROLES)))
    return qs.order_by("path")


class DomainErrorsMixin:
    """Put a service's error next to its field (or on top when the form has no such field)."""

    def add_domain_error(self, exc) -> None:
        field = exc.field if exc.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, exc.message)  # type: ignore[attr-defined]


class OrderForm(DomainErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=OrderKind.choices, initial=OrderKind.DUBAN)
    demand = forms.IntegerField(
        label=_("诉求编号"), required=False, min_value=1, help_text=_("督办一件诉求时填写")
    )
    unit = forms.ModelChoiceField(
        label=_("被督办单位"),
        queryset=Unit.objects.none(),
        required=False,
        help_text=_("督办一个单位时选择（与诉求编号二选一）"),
    )
    title = forms.CharField(
        label=_("事由"), required=False, max_length=200, help_text=_("督办诉求时可留空，用诉求标题")
    )
    requirement = forms.CharField(label=_("督办要求"), widget=forms.Textarea(attrs={"rows": 4}))
    working_days = forms.IntegerField(
        label=_("答复期限（工作日）"), min_value=1, max_value=30, initial=3
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = issuer_units(user)  # type: ignore[attr-defined]


class DemandOrderForm(forms.Form):
    """The 督办 / 催办 form on the demand page: posts to the issue page (OrderForm), the
    demand travels in a hidden field and the kind with the button pressed."""

    requirement = OrderForm.base_fields["requirement"]
    working_days = OrderForm.base_fields["working_days"]

    def __init__(self, *args, **kwargs):
        # ids of their own: the demand page has other forms with a working_days field
        kwargs.setdefault("auto_id", "sv_%s")
        super().__init__(*args, **kwargs)


class AnswerForm(DomainErrorsMixin, forms.Form):
    text = forms.CharField(label=_("书面答复"), widget=forms.Textarea(attrs={"rows": 5}))


class CloseForm(DomainErrorsMixin, forms.Form):
    note = forms.CharField(
        label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReturnForm(DomainErrorsMixin, forms.Form):
    reason = forms.CharField(label=_("退回理由"), widget=forms.Textarea(attrs={"rows": 2}))


class ItemForm(DomainErrorsMixin, forms.Form):
    title = forms.CharField(label=_("项目名称"), max_length=200)
    target = forms.CharField(label=_("目标任务"), widget=forms.Textarea(attrs={"rows": 4}))
    owner_unit = forms.ModelChoiceField(label=_("责任单位"), queryset=Unit.objects.none())
    period = forms.CharField(label=_("周期"), max_length=50, initial="2026年")

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = issuer_units(user)  # type: ignore[attr-defined]


class StatusForm(DomainErrorsMixin, forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=ItemStatus.choices)
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class MilestoneForm(DomainErrorsMixin, forms.Form):
    due_date = forms.DateField(label=_("计划日期"), widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(label=_("节点内容"), max_length=200)


class ReportForm(DomainErrorsMixin, forms.Form):
    report_date = forms.DateField(
        label=_("报告日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("进展报告"), widget=forms.Textarea(attrs={"rows": 4}))


class LinkDemandForm(DomainErrorsMixin, forms.Form):
    demand = forms.IntegerField(label=_("诉求编号"), min_value=1)


class ReviewForm(DomainErrorsMixin, forms.Form):
    note = forms.CharField(label=_("复核意见"), required=False, max_length=2000)
