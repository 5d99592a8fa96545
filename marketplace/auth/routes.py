"""Thin views over the account verbs."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from marketplace import audit
from marketplace.auth import bp, throttle
from marketplace.auth import services as accounts
from marketplace.auth.forms import LoginForm, PasswordChangeForm, SignupForm
from marketplace.clock import utcnow
from marketplace.demands import kept
from marketplace.exceptions import ServiceError
from marketplace.extensions import db, limiter
from marketplace.forms_common import choices
from marketplace.mail import texts
from marketplace.reference import region_options
from marketplace.security import (
    is_safe_next,
    revoke_login_session,
    start_login_session,
)
from marketplace.templating import localtime
from marketplace.views import submit

# The same words whether or not the e-mail already had an account: either way
# one mail goes to the address (a confirmation link, or "someone tried").
SIGNUP_DONE = (
    "注册申请已提交，请查收邮件。如该邮箱此前未注册，请点击邮件中的链接确认邮箱后登录，"
    "机构信息已提交科技局审核；如该邮箱已有账号，邮件会告诉您如何登录或重置密码。"
)
UNCONFIRMED = "该账号的邮箱尚未确认，无法登录。确认邮件已重新发送，请点击邮件中的链接。"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_key() -> str:
    # The address and the e-mail typed: failures on one account never make the
    # limiter refuse a colleague's right password from the same (NAT) address.
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    return f"{get_remote_address()}|{email}"


def _failed_attempt(response) -> bool:
    # Only failures count against the limit: a success redirects.
    return response.status_code != 302


def lock_message(lock: throttle.Lock) -> str:
    """The answer while a lock holds; it never says if the password was right."""
    account = lock.scope == throttle.ThrottleScope.ACCOUNT
    who = "该账号" if account else "您所在的网络地址"
    return (
        f"登录失败次数过多，{who}已暂时锁定，请于 {localtime(lock.until)} 后再试，"
        "或联系系统管理员解锁。"
    )


def _log_in(user, remember: bool = False) -> None:
    # A fresh session at login: nothing planted before it survives, except the
    # problem text the visitor asked to publish (re-checked against its row).
    demand = kept.carry_over()
    session.clear()
    kept.restore(demand)
    start_login_session(user)
    user.last_login_at = utcnow()
    login_user(user, remember=remember)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def signup():
    """Register an organisation and its first administrator."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    form.region.choices = choices(region_options())
    if form.validate_on_submit():
        try:
            user = accounts.register_organisation(
                kind=form.kind.data,
                org_name=form.org_name.data,
                credit_code=form.credit_code.data,
                region_code=form.region.data,
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
            )
        except ServiceError as error:
            db.session.rollback()
            form.attach_error(error)
        else:
            if user is None:
                # The e-mail has an account: nothing is made, its owner is told
                # by mail, and the answer is the very one a new account gets.
                db.session.rollback()
                email = accounts.normalise_email(form.email.data)[:254]
                texts.send_signup_taken(accounts.user_by_email(email))
                audit.record("signup_email_taken", note=email)
                db.session.commit()
            else:
                texts.send_confirmation(user)
                db.session.commit()
            flash(SIGNUP_DONE, "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit, key_func=_login_key, methods=["POST"], deduct_when=_failed_attempt
)
def login():
    """Log in with e-mail and password; locked accounts and addresses wait."""
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = accounts.normalise_email(form.email.data)[:254]
        address = request.remote_addr or ""
        lock = throttle.active_lock(email, address)
        if lock is not None:
            # The password is not checked while locked: the answer is the same
            # whether it was right or not.
            audit.record_alone("login_refused_locked", note=email)
            form.form_errors.append(lock_message(lock))
            return render_template("auth/login.html", form=form), 429
        user = accounts.authenticate(email, form.password.data)
        if user is None:
            lock = throttle.record_failure(email, address)
            audit.record("login_failed", note=email)
            db.session.commit()
            form.form_errors.append(
                lock_message(lock) if lock else "邮箱或密码不正确。"
            )
            status = 429 if lock else 200
        elif user.email_confirmed_at is None:
            # Only with the right password: the account's owner learns why, and
            # gets a fresh link (the login limit bounds how many).
            texts.send_confirmation(user)
            audit.record("login_refused_unconfirmed", user=user, note=email)
            db.session.commit()
            form.form_errors.append(UNCONFIRMED)
        else:
            throttle.record_success(email)
            _log_in(user, remember=form.remember.data)
            audit.record("login", user=user)
            db.session.commit()
            flash(f"欢迎，{user.name or user.email}。", "success")
            if kept.pending_id() is not None and not is_safe_next(next_url):
                next_url = url_for("demands.resume")
            return redirect(
                next_url if is_safe_next(next_url) else url_for("main.index")
            )
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this login session on the server, not only in the browser."""
    user = current_user._get_current_object()
    revoke_login_session(user.login_token)
    audit.record("logout", user=user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("main.index"))


def _change_password(user, current: str, new: str) -> None:
    """Change the password, then log in afresh: the one session left is this one."""
    accounts.change_password(user, current, new)
    _log_in(user)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's password; every other login session ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        done, _ = submit(
            form,
            _change_password,
            current_user._get_current_object(),
            form.current.data,
            form.password.data,
            success="密码已修改，其他设备上的登录已失效。",
        )
        if done:
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
