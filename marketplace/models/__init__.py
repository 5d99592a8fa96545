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
from marketplace.models.demand import UnmetDemand
from marketplace.models.expert import (
    ExpertProfile,
    PanelMember,
    PanelPurpose,
    PanelScore,
    PanelStatus,
    ReviewPanel,
)
from marketplace.models.integrity import MISCONDUCT_TYPES, IntegrityRecord
from marketplace.models.listing import (
    Challenge,
    ChallengeStatus,
    ConfidentialityAcceptance,
    ConfidentialView,
    Result,
    ResultStatus,
)
from marketplace.models.mail import (
    MailKind,
    MailPreference,
    MailStatus,
    OutgoingMail,
)
from marketplace.models.org import (
    CERTIFICATION_TAGS,
    ORG_KIND_LABELS,
    Organisation,
    OrgCertification,
    OrgKind,
    VerificationStatus,
)
from marketplace.models.project import (
    Acceptance,
    AcceptanceConclusion,
    AcceptanceKind,
    Deliverable,
    DeliverableFile,
    Exemption,
    ExemptionStatus,
    Milestone,
    MilestoneStatus,
    Project,
    ProjectStatus,
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
from marketplace.models.search import PRUNED_MARK, SearchReplica, StoredMatch
from marketplace.models.throttle import LoginThrottle, ThrottleScope
from marketplace.models.user import ApiToken, LoginSession, User, UserRole

__all__ = [
    "CERTIFICATION_TAGS",
    "CONTRACT_TYPE_LABELS",
    "MISCONDUCT_TYPES",
    "ORG_KIND_LABELS",
    "PRUNED_MARK",
    "Acceptance",
    "AcceptanceConclusion",
    "AcceptanceKind",
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
    "Deliverable",
    "DeliverableFile",
    "Exemption",
    "ExemptionStatus",
    "ExpertProfile",
    "IntegrityRecord",
    "LoginSession",
    "LoginThrottle",
    "MailKind",
    "MailPreference",
    "MailStatus",
    "MemberStatus",
    "Milestone",
    "MilestoneStatus",
    "Notification",
    "OrgCertification",
    "OrgKind",
    "Organisation",
    "OutgoingMail",
    "PanelMember",
    "PanelPurpose",
    "PanelScore",
    "PanelStatus",
    "Payment",
    "Project",
    "ProjectStatus",
    "Proposal",
    "ProposalKind",
    "ProposalMember",
    "ProposalStatus",
    "Region",
    "RegionKind",
    "Result",
    "ResultStatus",
    "ReviewPanel",
    "SearchOutbox",
    "SearchReplica",
    "StoredMatch",
    "TechField",
    "ThrottleScope",
    "UnmetDemand",
    "User",
    "UserRole",
    "VerificationStatus",
    "YearlyTarget",
    "utcnow",
]
