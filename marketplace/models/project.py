"""Delivery of an awarded challenge: project, milestones, acceptance, exemption."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace import clock
from marketplace.clock import utcnow
from marketplace.models.base import (
    Base,
    LabelledEnum,
    StoredFileMixin,
    TimestampMixin,
    str_enum,
)
from marketplace.models.contract import Contract
from marketplace.models.listing import Challenge
from marketplace.models.org import Organisation
from marketplace.models.proposal import Proposal


class ProjectStatus(LabelledEnum):
    """Stages of a project (项目)."""

    PLANNING = "planning", "计划制定中"
    RUNNING = "running", "实施中"
    COMPLETED = "completed", "已结题"
    FAILED = "failed", "未通过验收"


PROJECT_STATUS_LABELS = ProjectStatus.labels()


class Project(TimestampMixin, Base):
    """An awarded challenge under delivery by its winner, funded in stages."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("budget_fen > 0", name="budget_fen"),
        CheckConstraint(
            "released_fen >= 0 AND released_fen <= budget_fen", name="released_fen"
        ),
        CheckConstraint("owner_org_id <> winner_org_id", name="two_parties"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), unique=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), unique=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    winner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    # The bounty (or, for 面议, the contract amount): what milestones may release.
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    # Kept equal to the sum of accepted milestones so the database refuses more.
    released_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus, "project_status"),
        default=ProjectStatus.PLANNING,
        index=True,
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # A failed, exempted project re-listed for a different technical route.
    relisted_challenge_id: Mapped[int | None] = mapped_column(
        ForeignKey("challenges.id")
    )

    challenge: Mapped[Challenge] = relationship(foreign_keys=[challenge_id])
    proposal: Mapped[Proposal] = relationship()
    contract: Mapped[Contract] = relationship()
    owner_org: Mapped[Organisation] = relationship(foreign_keys=[owner_org_id])
    winner_org: Mapped[Organisation] = relationship(foreign_keys=[winner_org_id])
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project",
        order_by="Milestone.seq",
        cascade="all, delete-orphan",
    )
    acceptances: Mapped[list[Acceptance]] = relationship(
        back_populates="project", order_by="Acceptance.id"
    )
    exemption: Mapped[Exemption | None] = relationship(back_populates="project")


class MilestoneStatus(LabelledEnum):
    """A milestone waits, is submitted, returned for rework or accepted."""

    PENDING = "pending", "待提交"
    SUBMITTED = "submitted", "待验收"
    RETURNED = "returned", "已退回"
    ACCEPTED = "accepted", "已验收"

    @property
    def is_returned(self) -> bool:
        """Whether the seeker sent the delivery back for rework."""
        return self is MilestoneStatus.RETURNED

    @property
    def is_submitted(self) -> bool:
        """Whether a delivery waits for the seeker's check."""
        return self is MilestoneStatus.SUBMITTED

    @property
    def awaiting_delivery(self) -> bool:
        """Whether the winner is to hand in (again)."""
        return self in (MilestoneStatus.PENDING, MilestoneStatus.RETURNED)


MILESTONE_STATUS_LABELS = MilestoneStatus.labels()


class Milestone(Base):
    """A deliverable due on a date, releasing part of the budget on acceptance."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("project_id", "seq"),
        CheckConstraint("amount_fen >= 0", name="amount_fen"),
        CheckConstraint("seq > 0", name="seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    deliverable: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[MilestoneStatus] = mapped_column(
        str_enum(MilestoneStatus, "milestone_status"),
        default=MilestoneStatus.PENDING,
        index=True,
    )
    return_comment: Mapped[str] = mapped_column(Text, default="")
    times_returned: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue_notified_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))

    project: Mapped[Project] = relationship(back_populates="milestones")
    submissions: Mapped[list[Deliverable]] = relationship(
        back_populates="milestone",
        order_by="Deliverable.id",
        cascade="all, delete-orphan",
    )

    @property
    def on_time(self) -> bool | None:
        """Whether an accepted milestone was first submitted by its due date."""
        if self.status != MilestoneStatus.ACCEPTED or self.submitted_at is None:
            return None
        first = self.submissions[0].created_at if self.submissions else None
        when = first or self.submitted_at
        # Due dates are the city's local dates.
        return clock.local_date(when) <= self.due_on


class Deliverable(Base):
    """One submission of a milestone's deliverable by the winner."""

    __tablename__ = "deliverables"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestones.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    milestone: Mapped[Milestone] = relationship(back_populates="submissions")
    files: Mapped[list[DeliverableFile]] = relationship(
        back_populates="deliverable", cascade="all, delete-orphan"
    )


class DeliverableFile(StoredFileMixin, Base):
    """A file attached to a deliverable, stored like proposal attachments."""

    __tablename__ = "deliverable_files"
    __table_args__ = (CheckConstraint("size_bytes >= 0", name="size"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(
        ForeignKey("deliverables.id", ondelete="CASCADE"), index=True
    )

    deliverable: Mapped[Deliverable] = relationship(back_populates="files")


class AcceptanceKind(LabelledEnum):
    """Mid-term check (中期检查) or final acceptance (结题验收)."""

    MIDTERM = "midterm", "中期检查"
    FINAL = "final", "结题验收"


ACCEPTANCE_KIND_LABELS = AcceptanceKind.labels()


class AcceptanceConclusion(LabelledEnum):
    """The panel's conclusion as the bureau records it."""

    PASSED = "passed", "通过"
    RECTIFY = "rectify", "整改后通过"
    FAILED = "failed", "不通过"

    @property
    def is_failed(self) -> bool:
        """Whether the check or acceptance was not passed."""
        return self is AcceptanceConclusion.FAILED


CONCLUSION_LABELS = AcceptanceConclusion.labels()


class Acceptance(Base):
    """A mid-term check or final acceptance the bureau schedules and concludes."""

    __tablename__ = "acceptances"
    __table_args__ = (UniqueConstraint("project_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AcceptanceKind] = mapped_column(
        str_enum(AcceptanceKind, "acceptance_kind")
    )
    scheduled_on: Mapped[date] = mapped_column(Date)
    conclusion: Mapped[AcceptanceConclusion | None] = mapped_column(
        str_enum(AcceptanceConclusion, "acceptance_conclusion")
    )
    report: Mapped[str] = mapped_column(Text, default="")
    scheduled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    project: Mapped[Project] = relationship(back_populates="acceptances")


class ExemptionStatus(LabelledEnum):
    """An application for 容错免责 and the bureau's decision on it."""

    APPLIED = "applied", "待认定"
    GRANTED = "granted", "免责"
    REFUSED = "refused", "不予免责"

    @property
    def is_applied(self) -> bool:
        """Whether the bureau has not decided yet."""
        return self is ExemptionStatus.APPLIED

    @property
    def is_granted(self) -> bool:
        """Whether the bureau granted the exemption."""
        return self is ExemptionStatus.GRANTED


EXEMPTION_STATUS_LABELS = ExemptionStatus.labels()


class Exemption(Base):
    """The winner's application for failure exemption on a failed project."""

    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    diligence_account: Mapped[str] = mapped_column(Text)
    status: Mapped[ExemptionStatus] = mapped_column(
        str_enum(ExemptionStatus, "exemption_status"),
        default=ExemptionStatus.APPLIED,
        index=True,
    )
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )

    project: Mapped[Project] = relationship(back_populates="exemption")
