"""The bureau's verbs: verify or refuse organisations, record certifications."""

from __future__ import annotations

from collections.abc import Iterable

from marketplace import audit
from marketplace.clock import utcnow
from marketplace.exceptions import ServiceError, StateError
from marketplace.models import (
    CERTIFICATION_TAGS,
    Organisation,
    OrgCertification,
    VerificationStatus,
)


def verify_organisation(org: Organisation, note: str = "") -> None:
    """Mark a pending organisation verified and tell its members."""
    if org.verification_status != VerificationStatus.PENDING:
        raise StateError("该机构不在待审核状态。")
    org.verification_status = VerificationStatus.VERIFIED
    org.verified = True
    org.verified_at = utcnow()
    org.refusal_reason = ""
    audit.record(
        "org_verified",
        obj=org,
        from_state=VerificationStatus.PENDING,
        to_state=VerificationStatus.VERIFIED,
        note=note,
    )
    audit.notify_org(
        org.id, "您的机构已通过科技局审核，现在可以发布信息和揭榜。", f"/orgs/{org.id}"
    )


def refuse_organisation(org: Organisation, reason: str) -> None:
    """Refuse a pending organisation with a reason its members see."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("请填写不予通过的理由。", "reason")
    if org.verification_status != VerificationStatus.PENDING:
        raise StateError("该机构不在待审核状态。")
    org.verification_status = VerificationStatus.REFUSED
    org.verified = False
    org.refusal_reason = reason
    audit.record(
        "org_refused",
        obj=org,
        from_state=VerificationStatus.PENDING,
        to_state=VerificationStatus.REFUSED,
        note=reason,
    )
    audit.notify_org(
        org.id, f"您的机构未通过科技局审核：{reason[:200]}", f"/orgs/{org.id}"
    )


def set_certifications(org: Organisation, tags: Iterable[str]) -> None:
    """Replace the organisation's certification tags with the given ones."""
    wanted = set(tags)
    unknown = wanted - set(CERTIFICATION_TAGS)
    if unknown:
        raise ServiceError(f"未知的认定类型：{'、'.join(sorted(unknown))}", "tags")
    current = {c.tag: c for c in org.certifications}
    for tag in current.keys() - wanted:
        org.certifications.remove(current[tag])
    for tag in sorted(wanted - current.keys()):
        org.certifications.append(OrgCertification(tag=tag))
    audit.record(
        "org_certifications_set",
        obj=org,
        note="、".join(t for t in CERTIFICATION_TAGS if t in wanted),
    )
