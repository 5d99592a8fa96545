"""Forms for posting challenges, acting on them and filtering the list."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.challenges.queries import SOON_DAYS, SORTS, ListQuery
from marketplace.challenges.services import (
    BIDDER_KIND_CHOICES,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    ChallengeData,
    split_keywords,
)
from marketplace.clock import local_today
from marketplace.extensions import db
from marketplace.forms_common import (
    BaseForm,
    SafeText,
    WanField,
    choices,
    phone_field,
    strip_filter,
)
from marketplace.listings.states import STATUS_LABELS, deadline_too_far
from marketplace.models import (
    ORG_KIND_LABELS,
    ChallengeReveal,
    ChallengeStatus,
    TechField,
)
from marketplace.permissions import PUBLIC_CHALLENGE_STATES
from marketplace.reference import region_options


def field_options() -> list[tuple[str, str]]:
    """(code, name) pairs of the technology fields in display order."""
    rows = db.session.scalars(select(TechField).order_by(TechField.sort_order))
    return [(f.code, f.name) for f in rows]


class KeywordsField(StringField):
    """Keywords typed as one line, held as a list in `.data`."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "、".join(self.data or [])

    def process_formdata(self, valuelist) -> None:
        """Split the typed text on 、，,;； and white space."""
        self.data = split_keywords(valuelist[0] if valuelist else "")


class CheckboxesField(SelectMultipleField):
    """Several choices as check boxes, refusing unknown values in Chinese."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Form) -> None:
        """Every ticked value must be one of the choices."""
        allowed = {str(c[0]) for c in self.iter_choices()}
        if any(str(value) not in allowed for value in self.data or []):
            raise ValidationError("所选项目无效。")


def _check_keywords(form: Form, field: KeywordsField) -> None:
    words = field.data or []
    if any(unicodedata.category(c) in {"Cc", "Cs"} for w in words for c in w):
        raise ValidationError("内容含有不允许的控制字符。")
    if len(words) > MAX_KEYWORDS:
        raise ValidationError(f"关键词最多 {MAX_KEYWORDS} 个。")
    too_long = [w for w in words if len(w) > MAX_KEYWORD_LENGTH]
    if too_long:
        raise ValidationError(
            f"每个关键词不能超过 {MAX_KEYWORD_LENGTH} 个字：{too_long[0][:30]}"
        )


def _not_in_past(form: Form, field: DateField) -> None:
    if field.data is not None and field.data < local_today():
        raise ValidationError("揭榜截止日期不能早于今天。")
    if problem := deadline_too_far(field.data):
        raise ValidationError(problem)


class ChallengeForm(BaseForm):
    """A challenge's content, as its poster edits it."""

    title = StringField(
        "需求名称",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写需求名称。"),
            Length(max=200),
            SafeText(),
        ],
    )
    description = TextAreaField(
        "问题描述",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写问题描述。"),
            Length(max=10000),
            SafeText(multiline=True),
        ],
        description="公开内容：企业面临的技术难题、现状与需求背景。",
    )
    technical_targets = TextAreaField(
        "技术指标",
        filters=[strip_filter],
        validators=[Length(max=5000), SafeText(multiline=True)],
        description="公开内容：希望达到的性能、参数或验收指标。",
    )
    public_summary = TextAreaField(
        "公开摘要",
        filters=[strip_filter],
        validators=[Length(max=1000), SafeText(multiline=True)],
        description="显示在榜单列表中的简短介绍。",
    )
    confidential_detail = TextAreaField(
        "保密内容",
        filters=[strip_filter],
        validators=[Length(max=10000), SafeText(multiline=True)],
        description=(
            "仅向接受保密承诺的已认证机构成员显示，每次接受和查看都会记录并向您公开。"
        ),
    )
    field = SelectField(
        "技术领域", validators=[DataRequired(message="请选择技术领域。")]
    )
    region = SelectField(
        "所属县区", validators=[DataRequired(message="请选择所属县区。")]
    )
    keywords = KeywordsField(
        "关键词",
        validators=[_check_keywords],
        description=(
            f"最多 {MAX_KEYWORDS} 个，每个不超过 {MAX_KEYWORD_LENGTH} 个字，"
            "用顿号、逗号、分号或空格分隔。"
        ),
    )
    bounty = WanField(
        "榜额（万元）",
        negotiable=True,
        description="单位：万元，例如 50 或 12.5；留空表示面议。",
    )
    deadline = DateField(
        "揭榜截止日期",
        # InputRequired, not DataRequired: the latter would hide the message
        # of a date that does not parse behind "please choose a date".
        validators=[InputRequired(message="请选择揭榜截止日期。"), _not_in_past],
    )
    allowed_bidder_kinds = CheckboxesField(
        "可揭榜机构类型",
        choices=choices((k, ORG_KIND_LABELS[k]) for k in BIDDER_KIND_CHOICES),
        validators=[DataRequired(message="请至少选择一类可揭榜的机构。")],
    )
    consortium_allowed = BooleanField("允许联合体揭榜", default=True)
    anonymous = BooleanField(
        "匿名发布",
        default=False,
        description=(
            "勾选后，公开页面、搜索、接口和导出只显示“某企业（所在县区、行业）”，"
            "科技局始终可见；联系方式随企业名称一同隐藏。请勿在公开内容中写明企业名称。"
        ),
    )
    reveal_to = SelectField(
        "向揭榜方公开企业名称",
        choices=choices((r.value, r.label) for r in ChallengeReveal),
        default=ChallengeReveal.AFTER_TERMS.value,
        description="仅在匿名发布时适用：揭榜方在此时机之后可以看到企业名称和联系方式。",
    )
    contact_name = StringField(
        "联系人",
        filters=[strip_filter],
        validators=[Length(max=60), SafeText()],
    )
    contact_phone = phone_field()
    contact_email = EmailField(
        "联系邮箱",
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=254),
            Email(message="请输入有效的邮箱地址。", check_deliverability=False),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field.choices = choices([("", "请选择"), *field_options()])
        self.region.choices = choices([("", "请选择"), *region_options()])

    @classmethod
    def data_of(cls, challenge) -> dict:
        """Initial form values from a stored challenge."""
        return {
            "title": challenge.title,
            "description": challenge.description,
            "technical_targets": challenge.technical_targets,
            "public_summary": challenge.public_summary,
            "confidential_detail": challenge.confidential_detail,
            "field": challenge.field.code if challenge.field else "",
            "region": challenge.region_code or "",
            "keywords": list(challenge.keywords or []),
            "bounty": challenge.bounty_fen,
            "deadline": challenge.deadline,
            "allowed_bidder_kinds": list(challenge.allowed_bidder_kinds or []),
            "consortium_allowed": challenge.consortium_allowed,
            "contact_name": challenge.contact_name,
            "contact_phone": challenge.contact_phone,
            "contact_email": challenge.contact_email,
            "anonymous": challenge.anonymous,
            "reveal_to": challenge.reveal_to.value,
        }

    def to_data(self) -> ChallengeData:
        """The validated values for the service verbs."""
        return ChallengeData(
            title=self.title.data or "",
            description=self.description.data or "",
            technical_targets=self.technical_targets.data or "",
            public_summary=self.public_summary.data or "",
            confidential_detail=self.confidential_detail.data or "",
            field_code=self.field.data or None,
            region_code=self.region.data or None,
            keywords=list(self.keywords.data or []),
            bounty_fen=self.bounty.data,
            deadline=self.deadline.data,
            allowed_bidder_kinds=list(self.allowed_bidder_kinds.data or []),
            consortium_allowed=bool(self.consortium_allowed.data),
            contact_name=self.contact_name.data or "",
            contact_phone=self.contact_phone.data or "",
            contact_email=self.contact_email.data or "",
            anonymous=bool(self.anonymous.data),
            reveal_to=self.reveal_to.data or ChallengeReveal.AFTER_TERMS.value,
        )


class ActionForm(BaseForm):
    """A button that only needs the CSRF token (submit, close bidding)."""


class AcceptTermsForm(BaseForm):
    """Accepting a challenge's confidentiality terms (保密承诺)."""

    agree = BooleanField(
        "我已阅读并同意上述保密承诺",
        validators=[DataRequired(message="请先勾选同意保密承诺。")],
    )


class WithdrawForm(BaseForm):
    """Withdrawing a challenge, which cannot be undone."""

    note = TextAreaField(
        "撤回说明（可选）",
        filters=[strip_filter],
        validators=[Length(max=500), SafeText(multiline=True)],
    )
    confirm = BooleanField(
        "我确认撤回该需求（撤回后不可恢复）",
        validators=[DataRequired(message="请勾选确认撤回。")],
    )


class FilterForm(Form):
    """The list's filters, read from the query string; bad values are ignored."""

    class Meta:
        locales = ("zh",)

    field = SelectField("技术领域")
    region = SelectField("县区")
    status = SelectField("状态")
    min_wan = WanField("最低榜额（万元）")
    max_wan = WanField("最高榜额（万元）")
    soon = BooleanField(f"{SOON_DAYS} 天内截止")
    sort = SelectField("排序", choices=choices(SORTS.items()), default="newest")

    def __init__(self, formdata, mine: bool = False):
        super().__init__(formdata)
        self.mine = mine
        self.field.choices = choices([("", "全部领域"), *field_options()])
        self.region.choices = choices([("", "全部县区"), *region_options()])
        states = _ALL_STATES if mine else _PUBLIC_STATES
        self.status.choices = choices(
            [("", "全部状态"), *((s, STATUS_LABELS[s]) for s in states)]
        )

    def to_query(self) -> ListQuery:
        """Validate and keep only the values that passed."""
        self.validate()
        if (
            not self.min_wan.errors
            and not self.max_wan.errors
            and self.min_wan.data is not None
            and self.max_wan.data is not None
            and self.min_wan.data > self.max_wan.data
        ):
            self.max_wan.errors = ["最高榜额不能低于最低榜额。"]

        def ok(field):
            return field.data if not field.errors else None

        return ListQuery(
            mine=self.mine,
            field_code=ok(self.field) or "",
            region_code=ok(self.region) or "",
            status=ok(self.status) or "",
            min_fen=ok(self.min_wan),
            max_fen=ok(self.max_wan),
            soon=bool(ok(self.soon)),
            sort=ok(self.sort) or "newest",
        )

    @property
    def bad_values(self) -> list[str]:
        """Error messages of the filters the list had to ignore."""
        return [
            f"{f.label.text}：{f.errors[0]}"
            for f in (self.min_wan, self.max_wan)
            if f.errors
        ]


# Display order of the status filter.
_ALL_STATES = [s.value for s in ChallengeStatus]
_PUBLIC_STATES = [s for s in _ALL_STATES if s in PUBLIC_CHALLENGE_STATES]
