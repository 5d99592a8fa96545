"""All models, importable from one place."""

from marketplace.models.activity import AuditEvent, Notification, SearchOutbox
from marketplace.models.base import Base, utcnow
from marketplace.models.contract import (
    CONTRACT_TYPE_LABELS,
    Contract,
    ContractStatus,
    ContractType,
    Payment,
    YearlyTarget,
)
from marketplace.models.deal import Deal, DealEvent, DealStage
from marketplace.models.listing import (
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
    ConfidentialView,
    Result,
    ResultStatus,
)
from marketplace.models.org import (
    CERTIFICATION_TAGS,
    ORG_KIND_LABELS,
    Organisation,
    OrgCertification,
    OrgKind,
    VerificationStatus,
)
from marketplace.models.proposal import (
    Attachment,
    MemberStatus,
    Proposal,
    ProposalKind,
    ProposalMember,
    ProposalStatus,
)
from marketplace.models.reference import Region, RegionKind, TechField
from marketplace.models.user import ApiToken, LoginSession, User, UserRole

__all__ = [
    "CERTIFICATION_TAGS",
    "CONTRACT_TYPE_LABELS",
    "ORG_KIND_LABELS",
    "ApiToken",
    "Attachment",
    "AuditEvent",
    "Base",
    "Challenge",
    "ChallengeStatus",
    "ConfidentialView",
    "ConfidentialityAcceptance",
    "Contract",
    "ContractStatus",
    "ContractType",
    "Deal",
    "DealEvent",
    "DealStage",
    "LoginSession",
    "MemberStatus",
    "Notification",
    "OrgCertification",
    "OrgKind",
    "Organisation",
    "Payment",
    "Proposal",
    "ProposalKind",
    "ProposalMember",
    "ProposalStatus",
    "Region",
    "RegionKind",
    "Result",
    "ResultStatus",
    "SearchOutbox",
    "TechField",
    "User",
    "UserRole",
    "VerificationStatus",
    "YearlyTarget",
    "utcnow",
]
