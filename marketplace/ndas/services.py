"""NDA verbs: keep templates, choose a listing's NDA, sign it, log the views."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from marketplace import audit, glossary, permissions
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.extensions import db
from marketplace.models import (
    Challenge,
    ConfidentialView,
    NdaSignature,
    NdaTemplate,
    NdaVersion,
    Organisation,
    Result,
    text_sha256,
)
from marketplace.permissions.nda import listing_signature_filter

MAX_NAME = 120
MAX_TEXT = 20_000
MAX_PERSON = 60
OWN = "own"  # the owner writes the listing's own text


class NdaAction(glossary.Action):
    """What the confidentiality-agreement verbs record."""

    NDA_TEMPLATE_CREATED = "nda_template_created", "新建保密协议模板"
    NDA_TEMPLATE_UPDATED = "nda_template_updated", "修改保密协议模板"
    NDA_VERSION_CREATED = "nda_version_created", "保密协议新版本"
    LISTING_NDA_CHOSEN = "listing_nda_chosen", "设置保密协议"
    NDA_SIGNED = "nda_signed", "签署保密协议"


ACTION_LABELS = glossary.labels(NdaAction)
glossary.register_actions(NdaAction)

Listing = Challenge | Result


def _checked(value: str, label: str, limit: int, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(f"请填写{label}。", field)
    if len(value) > limit:
        raise ServiceError(f"{label}不能超过 {limit} 个字。", field)
    return value


def _checked_text(text: str) -> str:
    return _checked(text, "保密协议正文", MAX_TEXT, "text")


def _checked_name(name: str) -> str:
    return _checked(name, "协议名称", MAX_NAME, "name")


def _add_version(template: NdaTemplate, user: Any, text: str) -> NdaVersion:
    number = (
        db.session.scalar(
            select(func.max(NdaVersion.number)).where(
                NdaVersion.template_id == template.id
            )
        )
        or 0
    ) + 1
    version = NdaVersion(
        template_id=template.id,
        number=number,
        text=text,
        sha256=text_sha256(text),
        created_by_id=user.id,
    )
    db.session.add(version)
    db.session.flush()
    db.session.expire(template, ["versions"])
    audit.record("nda_version_created", obj=template, user=user, note=f"第 {number} 版")
    return version


def create_template(user: Any, name: str, text: str) -> NdaTemplate:
    """The bureau writes a new NDA template (its first version)."""
    if not permissions.can_manage_nda_templates(user):
        raise StateError("只有科技局可以维护保密协议模板。")
    template = NdaTemplate(name=_checked_name(name), created_by_id=user.id)
    text = _checked_text(text)
    db.session.add(template)
    db.session.flush()
    audit.record("nda_template_created", obj=template, user=user)
    _add_version(template, user, text)
    return template


def revise_template(
    template: NdaTemplate, user: Any, name: str, text: str, active: bool
) -> NdaVersion | None:
    """The bureau edits a template; a changed text becomes a new version."""
    if not permissions.can_manage_nda_templates(user) or template.owner_org_id:
        raise StateError("只有科技局可以维护保密协议模板。")
    name, text = _checked_name(name), _checked_text(text)
    if (name, bool(active)) != (template.name, template.active):
        template.name, template.active = name, bool(active)
        audit.record("nda_template_updated", obj=template, user=user)
    current = template.current
    if current is not None and current.text == text:
        return None
    return _add_version(template, user, text)


def choosable_templates() -> list[NdaTemplate]:
    """The bureau's active templates an owner may pick."""
    return list(
        db.session.scalars(
            select(NdaTemplate)
            .where(NdaTemplate.owner_org_id.is_(None), NdaTemplate.active.is_(True))
            .order_by(NdaTemplate.name, NdaTemplate.id)
        )
    )


def own_template(listing: Listing) -> NdaTemplate | None:
    """The listing's NDA when it is the owner's own text."""
    if listing.nda_template_id is None:
        return None
    template = db.session.get(NdaTemplate, listing.nda_template_id)
    return template if template.owner_org_id == listing.org_id else None


def choose_nda(listing: Listing, user: Any, choice: str, own_text: str = "") -> None:
    """The owner picks a bureau template, writes its own text, or drops the NDA."""
    if not permissions.can_manage_nda(user, listing):
        raise StateError("只有发布机构的成员可以设置保密协议。")
    before = listing.nda_template_id
    if choice == OWN:
        text = _checked_text(own_text)
        template = own_template(listing)
        if template is None:
            template = NdaTemplate(
                name=f"{listing.title[:100]} 保密协议",
                owner_org_id=listing.org_id,
                created_by_id=user.id,
            )
            db.session.add(template)
            db.session.flush()
            _add_version(template, user, text)
        elif template.current is None or template.current.text != text:
            _add_version(template, user, text)
        listing.nda_template_id = template.id
    elif choice:
        template = (
            db.session.get(NdaTemplate, int(choice))
            if choice.isascii() and choice.isdigit() and len(choice) < 10
            else None
        )
        if template is None or template not in choosable_templates():
            raise ServiceError("请选择有效的保密协议模板。", "choice")
        listing.nda_template_id = template.id
    else:
        listing.nda_template_id = None
    version = permissions.current_nda_version(listing)
    note = (
        f"协议 {listing.nda_template_id} 第 {version.number} 版"
        if version
        else "不使用"
    )
    if before != listing.nda_template_id:
        listing.nda_chosen_at = utcnow()
    if before != listing.nda_template_id or choice == OWN:
        audit.record("listing_nda_chosen", obj=listing, user=user, note=note)


def sign_nda(
    listing: Listing,
    user: Any,
    version_id: int | None,
    full_name: str,
    position: str,
    ip: str,
) -> NdaSignature:
    """Record the user's signature on the text shown (the listing's current one)."""
    if not permissions.may_sign_nda(user, listing):
        raise StateError("只有已认证机构（发布方以外）的成员可以签署保密协议。")
    version = permissions.current_nda_version(listing)
    if version is None or version.id != version_id:
        raise ServiceError("保密协议文本已更新，请阅读最新文本后再签署。", "version")
    earlier = permissions.latest_signature(user, listing)
    if earlier is not None and earlier.version_id == version.id:
        raise StateError("您已签署当前版本的保密协议，无需重复签署。")
    full_name = _checked(full_name, "姓名", MAX_PERSON, "full_name")
    position = _checked(position, "职务", MAX_PERSON, "position")
    org = db.session.get(Organisation, user.org_id)
    signature = NdaSignature(
        version_id=version.id,
        user_id=user.id,
        org_id=org.id,
        full_name=full_name,
        position=position,
        org_name=org.name,
        signed_at=utcnow(),
        ip=(ip or "")[:45],
        # Hashed again from the stored text rather than copied, so the record
        # vouches for exactly the bytes the signer was shown.
        sha256=text_sha256(version.text),
    )
    if isinstance(listing, Challenge):
        signature.challenge_id = listing.id
    else:
        signature.result_id = listing.id
    db.session.add(signature)
    db.session.flush()
    audit.record(
        "nda_signed",
        obj=listing,
        user=user,
        note=f"第 {version.number} 版，SHA-256 {signature.sha256}",
    )
    kind = "challenges" if signature.challenge_id else "results"
    audit.notify_org(
        listing.org_id,
        f"{org.name} {full_name}（{position}）签署了保密协议：{listing.title[:80]}",
        f"/ndas/{kind}/{listing.id}",
    )
    return signature


def record_confidential_view(listing: Listing, user: Any) -> ConfidentialView | None:
    """Log one showing of the confidential detail to someone outside the owner."""
    if permissions.is_member_of(user, listing.org_id):
        return None
    if not permissions.can_view_confidential(user, listing):
        return None
    view = ConfidentialView(user_id=user.id, org_id=user.org_id)
    if isinstance(listing, Challenge):
        view.challenge_id = listing.id
    else:
        view.result_id = listing.id
    db.session.add(view)
    return view


def signatures(listing: Listing) -> list[Any]:
    """Every signature on the listing with its version, newest first."""
    return list(
        db.session.execute(
            select(NdaSignature, NdaVersion)
            .join(NdaVersion, NdaVersion.id == NdaSignature.version_id)
            .where(listing_signature_filter(listing))
            .order_by(NdaSignature.signed_at.desc(), NdaSignature.id.desc())
        )
    )
