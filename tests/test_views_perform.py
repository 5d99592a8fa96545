"""The one idiom of POST actions: validate the form, run the verb, commit, flash."""

from __future__ import annotations

from flask import get_flashed_messages
from wtforms import StringField
from wtforms.validators import DataRequired

from marketplace.exceptions import ServiceError
from marketplace.forms_common import BaseForm
from marketplace.views import attempt, perform, perform_form, submit


class NameForm(BaseForm):
    name = StringField("名称", validators=[DataRequired("请填写名称。")])


def _refuse(*args):
    raise ServiceError("不行。")


def test_attempt_hands_back_what_the_verb_returned(app):
    with app.test_request_context(method="POST"):
        assert attempt(lambda a, b: a + b, 1, 2, success="好了。") == (True, 3)
        assert attempt(_refuse, success="好了。") == (False, None)
        assert get_flashed_messages(with_categories=True) == [
            ("success", "好了。"),
            ("danger", "不行。"),
        ]


def test_perform_flashes_in_the_category_asked_for(app):
    with app.test_request_context(method="POST"):
        assert perform(lambda: None, success="已退回。", category="warning")
        assert get_flashed_messages(with_categories=True) == [("warning", "已退回。")]


def test_perform_form_runs_the_verb_only_for_a_valid_form(app):
    calls = []
    with app.test_request_context(method="POST", data={"name": "甲"}):
        form = NameForm()
        assert perform_form(form, calls.append, form.name.data, success="已保存。")
        assert get_flashed_messages(with_categories=True) == [("success", "已保存。")]
    with app.test_request_context(method="POST", data={}):
        assert not perform_form(NameForm(), calls.append, "x", success="已保存。")
        assert not perform_form(
            NameForm(), calls.append, "x", success="已保存。", prefix="未保存："
        )
        assert not perform_form(
            NameForm(), calls.append, "x", success="已保存。", problem="请求无效。"
        )
        assert get_flashed_messages(with_categories=True) == [
            ("danger", "请填写名称。"),
            ("danger", "未保存：请填写名称。"),
            ("danger", "请求无效。"),
        ]
    assert calls == ["甲"]


def test_submit_puts_the_refusal_on_the_form_and_flashes_only_success(app):
    def refuse_name():
        raise ServiceError("名称已被占用。", "name")

    with app.test_request_context(method="POST", data={"name": "甲"}):
        form = NameForm()
        assert submit(form, lambda a: a * 2, 21, success="已保存。") == (True, 42)
        assert submit(form, lambda: "x", success=None) == (True, "x")
        assert submit(form, refuse_name, success="已保存。") == (False, None)
        assert submit(form, _refuse, success="已保存。") == (False, None)
        assert form.name.errors == ["名称已被占用。"]
        assert form.form_errors == ["不行。"]
        assert get_flashed_messages(with_categories=True) == [("success", "已保存。")]
