"""What the API reads and writes. Masking of personal data happens in ``serialize``."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    kind_label: str
    parent_id: int | None
    depth: int


class CategoryOut(Schema):
    id: int
    name: str
    path: str
    level: int
    parent_id: int | None
    default_unit_id: int | None


class PartyOut(Schema):
    unit_id: int
    unit_name: str
    role: str
    active: bool
    contributed_at: datetime | None = None
    contribution: str = ""


class EventOut(Schema):
    id: int
    action: str
    actor: str
    from_state: str
    to_state: str
    note: str
    data: dict
    created_at: datetime


class DemandOut(Schema):
    id: int
    title: str
    body: str
    kind: str
    channel: str
    source: str
    level: str
    state: str
    state_label: str
    category_id: int | None
    category: str | None
    dispatch_unit_id: int
    dispatch_unit: str
    lead_unit_id: int | None
    lead_unit: str | None
    handler_id: int | None
    contact_name: str
    contact_phone: str
    contact_id_number: str
    confidential: bool
    address: str
    created_at: datetime
    dispatched_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    sign_due_at: datetime | None
    light: str | None
    reopen_count: int


class DemandDetailOut(DemandOut):
    parties: list[PartyOut]
    events: list[EventOut]
    allowed_actions: list[str]
    replies: list[dict]


class DemandPageOut(Schema):
    items: list[DemandOut]
    next_cursor: str | None


class SubmitIn(Schema):
    title: str = Field(..., max_length=10000)
    body: str = Field(..., max_length=100000)
    kind: str
    channel: str = "hotline"
    source: str = ""
    category: int | str | None = None
    contact_name: str = ""
    contact_phone: str = ""
    contact_id_number: str = ""
    enterprise_id: int | None = None
    resident_id: int | None = None
    community: int | str | None = None
    dispatch_unit: int | str | None = None
    confidential: bool = False
    publish_consent: bool = False
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    client_key: str | None = None


class ClassifyIn(Schema):
    category: int | str | None = None
    kind: str | None = None
    level: str | None = None


class DispatchIn(ClassifyIn):
    lead_unit: int | str
    co_units: list[int | str] = []
    due_at: datetime | None = None
    note: str = ""


class RedispatchIn(Schema):
    lead_unit: int | str
    co_units: list[int | str] = []
    note: str = ""


class TextIn(Schema):
    text: str


class NoteIn(Schema):
    text: str
    public: bool = False


class ReasonIn(Schema):
    reason: str


class OptionalReasonIn(Schema):
    reason: str = ""


class ReturnIn(Schema):
    reason_code: str
    reason: str


class AnswerIn(Schema):
    text: str
    category: int | str | None = None
    kind: str | None = None


class MergeIn(Schema):
    into: int


class AssignIn(Schema):
    handler_id: int


class ExtensionIn(Schema):
    reason: str
    working_days: int | None = None
    new_due_at: datetime | None = None


class DecisionIn(Schema):
    approve: bool
    note: str = ""


class EscalationDecisionIn(DecisionIn):
    upper_reference: str = ""


class RevisitIn(Schema):
    reached: bool
    method: str = "phone"
    note: str = ""
    rating: str | None = None
    comment: str = ""


class RatingIn(Schema):
    value: str
    comment: str = ""


class SupervisorIn(Schema):
    reopen: bool
    explanation: str


class NoteOptionalIn(Schema):
    note: str = ""


class RevealIn(Schema):
    field: str


class RevealOut(Schema):
    field: str
    value: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[dict]


class ListQuery(Schema):
    state: list[str] = []
    unit: int | None = None
    category: int | None = None
    kind: str = ""
    channel: str = ""
    light: str = ""
    created_from: date | None = None
    created_to: date | None = None
    text: str = ""
    cursor: str | None = None
    limit: int = 20
