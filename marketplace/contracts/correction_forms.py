"""Forms for reversing payments and correcting, cancelling or resubmitting contracts."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.contracts.forms import ContractForm, PaymentForm
from marketplace.forms_common import BaseForm, SafeText, strip_filter


def _reason(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        filters=[strip_filter],
        validators=[
            DataRequired(f"请填写{label}。"),
            Length(max=500),
            SafeText(multiline=True),
        ],
    )


class ReverseForm(BaseForm):
    """Why a payment is reversed (冲销)."""

    reason = _reason("冲销原因")


class PaymentCorrectForm(PaymentForm):
    """The right payment, and why the recorded one was wrong."""

    reason = _reason("更正原因")


class CancelForm(BaseForm):
    """Why the bureau cancels (注销) a registered contract."""

    reason = _reason("注销原因")


class CorrectForm(ContractForm):
    """A registered contract's corrected values, and why."""

    reason = _reason("更正原因")
