"""Thin views for the mailed links: forgotten passwords, invitations, confirmation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from marketplace.auth import bp
from marketplace.auth import mail_flows as flows
from marketplace.auth.forms import ConfirmEmailForm, ForgotPasswordForm, NewPasswordForm
from marketplace.extensions import db, limiter
from marketplace.mail.links import read_token
from marketplace.views import submit

# The same answer whether or not the e-mail has an account.
RESET_SENT = "如该邮箱已注册，重置密码的链接已发送到该邮箱，1 小时内有效。"
LINK_DEAD = "链接无效或已过期（每个链接只能使用一次）。"


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    """Ask for a password reset link by e-mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        flows.request_password_reset(form.email.data)
        db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.forgot_password"))
    return render_template("auth/forgot.html", form=form)


def _set_password(token: str, purpose: str, action: str, title: str, done: str):
    user = read_token(token, purpose)
    if user is None:
        return render_template("auth/link_dead.html", message=LINK_DEAD), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        changed, _ = submit(
            form,
            flows.set_password_by_link,
            user,
            form.password.data,
            action,
            success=None,
        )
        if changed:
            return render_template("auth/link_done.html", title=title, message=done)
    return render_template(
        "auth/new_password.html", form=form, title=title, account=user
    )


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    """Choose a new password through the mailed reset link."""
    return _set_password(
        token, "reset", "password_reset", "重置密码", "密码已重置，请用新密码登录。"
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept_invitation(token: str):
    """An invited member sets their own password through the mailed link."""
    return _set_password(
        token,
        "invite",
        "invitation_accepted",
        "接受邀请并设置密码",
        "密码已设置，欢迎加入，请登录。",
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """Confirm a new account's e-mail (a button, so link scanners do not)."""
    user = read_token(token, "confirm")
    if user is None:
        return render_template("auth/link_dead.html", message=LINK_DEAD), 404
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        flows.confirm_email(user)
        db.session.commit()
        return render_template(
            "auth/link_done.html", title="确认邮箱", message="邮箱已确认，请登录。"
        )
    return render_template("auth/confirm.html", form=form, account=user)
