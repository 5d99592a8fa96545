"""Forms for forming a panel, the scoring sheet and an expert's opinion."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import IntegerField, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from marketplace.forms_common import BaseForm, SafeText, strip_filter
from marketplace.models import Proposal
from marketplace.panels.rules import (
    CRITERIA,
    CRITERION_LABELS,
    DEFAULT_WEIGHTS,
    MAX_COMMENT,
    MAX_OVERALL_COMMENT,
)


def _weight(key: str) -> IntegerField:
    return IntegerField(
        f"{CRITERION_LABELS[key]}权重（%）",
        default=DEFAULT_WEIGHTS[key],
        validators=[
            InputRequired(message="请填写权重。"),
            NumberRange(min=0, max=100, message="权重须为 0 到 100 的整数。"),
        ],
    )


class PanelForm(BaseForm):
    """The experts chosen for a panel."""

    # Choices are not checked here: an expert outside the proposed list must
    # reach the service, which says why they may not sit (a conflict, say).
    expert_ids = SelectMultipleField(
        "评审专家", coerce=int, choices=[], validate_choice=False
    )


class ScoredPanelForm(PanelForm):
    """A proposals panel also sets the scoring sheet's weights."""

    weight_merit = _weight("merit")
    weight_feasibility = _weight("feasibility")
    weight_team = _weight("team")
    weight_price = _weight("price")

    def weights(self) -> dict[str, int]:
        """The weights as the service takes them."""
        return {key: getattr(self, f"weight_{key}").data for key, _ in CRITERIA}


def score_field(proposal_id: int, key: str) -> str:
    """The sheet's field name for one criterion of one bid."""
    return f"s{proposal_id}_{key}"


def comment_field(proposal_id: int) -> str:
    """The sheet's field name for the comment on one bid."""
    return f"c{proposal_id}"


def score_sheet(proposals: Iterable[Proposal], max_score: int) -> type[BaseForm]:
    """A form class with a score per criterion and a comment for each bid."""

    class ScoreSheet(BaseForm):
        overall = TextAreaField(
            "总体评审意见",
            filters=[strip_filter],
            validators=[
                DataRequired(message="请填写评审意见。"),
                Length(max=MAX_OVERALL_COMMENT),
                SafeText(multiline=True),
            ],
        )

    message = f"评分须为 0 到 {max_score} 的整数。"
    for proposal in proposals:
        for key, label in CRITERIA:
            setattr(
                ScoreSheet,
                score_field(proposal.id, key),
                IntegerField(
                    label,
                    validators=[
                        InputRequired(message="请填写评分。"),
                        NumberRange(min=0, max=max_score, message=message),
                    ],
                ),
            )
        setattr(
            ScoreSheet,
            comment_field(proposal.id),
            TextAreaField(
                "评语",
                filters=[strip_filter],
                validators=[
                    Optional(),
                    Length(max=MAX_COMMENT),
                    SafeText(multiline=True),
                ],
            ),
        )
    return ScoreSheet


class OpinionForm(BaseForm):
    """An expert's verdict and reasons on a check, acceptance or exemption."""

    verdict = RadioField(
        "评审结论",
        choices=[],
        validators=[InputRequired(message="请选择评审结论。")],
    )
    comment = TextAreaField(
        "评审意见",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写评审意见。"),
            Length(max=MAX_OVERALL_COMMENT),
            SafeText(multiline=True),
        ],
    )


class ReplaceMemberForm(BaseForm):
    """Another expert for a seat whose holder has not submitted, and why."""

    expert_id = IntegerField(
        "接替专家", validators=[InputRequired(message="请选择接替的专家。")]
    )
    reason = TextAreaField(
        "更换原因",
        filters=[strip_filter],
        validators=[
            DataRequired(message="请填写更换原因。"),
            Length(max=500),
            SafeText(multiline=True),
        ],
    )
