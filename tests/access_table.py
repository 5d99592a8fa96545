"""The access table: who may use each URL rule of the app, method by method.

Read by tests/test_access_matrix.py. Every (rule, method) of `app.url_map`
(HEAD, OPTIONS and `static` aside) must have an entry here: a new route without
one fails `test_table_covers_every_rule`.

Roles (one logged-in user each; the world of tests/test_access_matrix.py owns
every object by an "A" organisation, so each "B" organisation is an outsider of
the same kind; the delivery objects are built by tests/access_delivery.py):

- anon          no login
- ent_a         member of enterprise A: posts the challenges, applies to adopt
                university A's result, demand side of the deal, buyer of the
                contract, owner of the projects; A's integrity records are about
                enterprise A (restriction over) and about this user (none)
- ent_a_admin   org_admin of enterprise A (the organisation pages)
- ent_b         member of enterprise B
- uni_a / uni_b members of universities; uni_a owns the results, is the deal's
                supply side and an invited consortium member of the bid
- inst_a / inst_b members of institutes; inst_a bids (with an attachment), is
                the contract's seller and wins (delivers) the projects
- agency_a / agency_b members of transfer agencies; agency_a brokers deal and contract
- expert        member of a third university, in the expert pool: sits on the
                panel scoring A's bids and on a mid-term panel of A's project
- bureau        bureau staff
- sysadmin      a platform operator (a member of the bureau organisation)
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.clock import utcnow
from marketplace.extensions import db as _db
from marketplace.models import (
    ApiToken,
    Attachment,
    ChallengeStatus,
    Contract,
    ContractType,
    Deal,
    LoginThrottle,
    Notification,
    OrgKind,
    Payment,
    Proposal,
    ProposalKind,
    ProposalMember,
    ResultStatus,
    ThrottleScope,
    UnmetDemand,
    User,
    UserRole,
)
from marketplace.search.sync import get_index
from tests.access_delivery import ACCOUNT, build_delivery
from tests.access_messages import build_messages
from tests.access_nda import build_nda
from tests.access_revisions import REVISE_CHALLENGE, REVISE_RESULT, build_revisions
from tests.factories import make_challenge, make_result

ROLES = (
    "anon",
    "ent_a",
    "ent_a_admin",
    "ent_b",
    "uni_a",
    "uni_b",
    "inst_a",
    "inst_b",
    "agency_a",
    "agency_b",
    "expert",
    "bureau",
    "sysadmin",
)

ALL = frozenset(ROLES)
USERS = ALL - {"anon"}
STAFF = frozenset({"bureau", "sysadmin"})
ORG_USERS = USERS - STAFF  # members of verified organisations other than the bureau
ENTERPRISES = frozenset({"ent_a", "ent_a_admin", "ent_b"})
OWNER = frozenset({"ent_a", "ent_a_admin"})  # enterprise A: the challenges' poster
RESEARCH = frozenset({"uni_a", "uni_b", "inst_a", "inst_b", "expert"})
DEAL_PARTIES = OWNER | {"uni_a", "agency_a"}
CONTRACT_PARTIES = OWNER | {"inst_a", "agency_a"}
BID_READERS = OWNER | {"inst_a", "uni_a"}  # poster, bidder, consortium member
ORG_ADMIN_A = frozenset({"ent_a_admin", "sysadmin"})
WINNER = frozenset({"inst_a"})  # institute A delivers A's projects
PROJECT_PARTIES = OWNER | WINNER
EXPERT = frozenset({"expert"})  # the panels' member (never a party)
AGENCIES = frozenset({"agency_a", "agency_b"})
NOBODY: frozenset[str] = frozenset()
OPERATOR = frozenset({"sysadmin"})  # the platform's operators alone

# (rule, method) -> the roles allowed past the permission checks.
TABLE: dict[tuple[str, str], frozenset[str]] = {
    ("/", "GET"): ALL,
    ("/healthz", "GET"): ALL,
    # Which index state a worker serves: public facts only (search verify --url).
    ("/healthz/search", "GET"): ALL,
    # JSON API: public listings; the turnover figures are the bureau's.
    ("/api/v1/challenges/<int:challenge_id>/matches", "GET"): ALL,
    ("/api/v1/match", "POST"): ALL,
    ("/api/v1/openapi.json", "GET"): ALL,
    ("/api/v1/results/<int:result_id>/matches", "GET"): ALL,
    ("/api/v1/search", "GET"): ALL,
    ("/api/v1/stats/turnover", "GET"): STAFF,
    # Accounts (a logged-in user on login/sign-up is sent home: not a denial).
    ("/auth/login", "GET"): ALL,
    ("/auth/login", "POST"): ALL,
    ("/auth/logout", "POST"): USERS,
    # Failed-login locks: the sysadmin's alone (the bureau's staff do not see them).
    ("/auth/locks", "GET"): frozenset({"sysadmin"}),
    ("/auth/locks/<int:throttle_id>/unlock", "POST"): frozenset({"sysadmin"}),
    # The sysadmin's area (users, organisations, audit log): operators alone,
    # bureau staff refused like everyone else.
    ("/admin/", "GET"): OPERATOR,
    ("/admin/audit", "GET"): OPERATOR,
    ("/admin/audit.csv", "GET"): OPERATOR,
    ("/admin/orgs", "GET"): OPERATOR,
    ("/admin/users", "GET"): OPERATOR,
    ("/admin/users/<int:user_id>", "GET"): OPERATOR,
    ("/admin/users/<int:user_id>/deactivate", "POST"): OPERATOR,
    ("/admin/users/<int:user_id>/reactivate", "POST"): OPERATOR,
    ("/admin/users/<int:user_id>/role", "POST"): OPERATOR,
    ("/admin/users/<int:user_id>/sessions", "POST"): OPERATOR,
    ("/admin/mail", "GET"): OPERATOR,
    ("/auth/password", "GET"): USERS,
    ("/auth/password", "POST"): USERS,
    # Mailed links: whoever holds a good link may use it (a forged, used or
    # expired one is a 404 for everyone, tests/test_mail.py).
    ("/auth/forgot", "GET"): ALL,
    ("/auth/forgot", "POST"): ALL,
    ("/auth/reset/<token>", "GET"): ALL,
    ("/auth/reset/<token>", "POST"): ALL,
    ("/auth/invitation/<token>", "GET"): ALL,
    ("/auth/invitation/<token>", "POST"): ALL,
    ("/auth/confirm/<token>", "GET"): ALL,
    ("/auth/confirm/<token>", "POST"): ALL,
    ("/auth/signup", "GET"): ALL,
    ("/auth/signup", "POST"): ALL,
    # The bureau's desk.
    ("/bureau/import", "GET"): STAFF,
    ("/bureau/import", "POST"): STAFF,
    ("/bureau/import/contracts", "GET"): STAFF,
    ("/bureau/import/contracts", "POST"): STAFF,
    ("/bureau/import/experts", "GET"): STAFF,
    ("/bureau/import/experts", "POST"): STAFF,
    ("/bureau/import/templates/<template>.xlsx", "GET"): STAFF,
    ("/bureau/orgs/<int:org_id>/certifications", "GET"): STAFF,
    ("/bureau/orgs/<int:org_id>/certifications", "POST"): STAFF,
    ("/bureau/reviews", "GET"): STAFF,
    ("/bureau/reviews/<kind>/<int:listing_id>/approve", "POST"): STAFF,
    ("/bureau/reviews/<kind>/<int:listing_id>/reject", "POST"): STAFF,
    ("/bureau/verifications", "GET"): STAFF,
    ("/bureau/verifications/<int:org_id>/refuse", "POST"): STAFF,
    ("/bureau/verifications/<int:org_id>/verify", "POST"): STAFF,
    # Challenges (the open one is public; drafts are enterprise A's own).
    ("/challenges/", "GET"): ALL,
    ("/challenges/<int:challenge_id>", "GET"): ALL,
    ("/challenges/<int:challenge_id>/accept-terms", "POST"): USERS - OWNER,
    ("/challenges/<int:challenge_id>/close-bidding", "POST"): OWNER,
    ("/challenges/<int:challenge_id>/edit", "GET"): OWNER,
    ("/challenges/<int:challenge_id>/edit", "POST"): OWNER,
    ("/challenges/<int:challenge_id>/submit", "POST"): OWNER,
    ("/challenges/<int:challenge_id>/withdraw", "POST"): OWNER,
    ("/challenges/mine", "GET"): USERS,
    ("/challenges/new", "GET"): ENTERPRISES,
    ("/challenges/new", "POST"): ENTERPRISES,
    # Contracts: the parties, the broker and the bureau; the bureau registers.
    ("/contracts/", "GET"): USERS,
    ("/contracts/<int:contract_id>", "GET"): CONTRACT_PARTIES | STAFF,
    # The certificate: the two parties (not the broker) and the bureau; the
    # world's contract is not registered, so they are sent back with a message.
    ("/contracts/<int:contract_id>/certificate.pdf", "GET"): OWNER
    | {"inst_a"}
    | STAFF,
    ("/contracts/<int:contract_id>/payments", "POST"): CONTRACT_PARTIES | STAFF,
    # Corrections: a payment is reversed or corrected by whoever recorded it (the
    # world's payment: ent_a) or the bureau; the other parties get a 403.
    ("/contracts/<int:contract_id>/payments/<int:payment_id>/correct", "POST"): (
        frozenset({"ent_a"}) | STAFF
    ),
    ("/contracts/<int:contract_id>/payments/<int:payment_id>/reverse", "POST"): (
        frozenset({"ent_a"}) | STAFF
    ),
    # The bureau corrects or cancels a registered contract (the world's is not
    # registered: sent back with a message); a party edits a rejected one.
    ("/contracts/<int:contract_id>/cancel", "POST"): STAFF,
    ("/contracts/<int:contract_id>/correct", "GET"): STAFF,
    ("/contracts/<int:contract_id>/correct", "POST"): STAFF,
    ("/contracts/<int:contract_id>/edit", "GET"): CONTRACT_PARTIES | STAFF,
    ("/contracts/<int:contract_id>/edit", "POST"): CONTRACT_PARTIES | STAFF,
    ("/contracts/<int:contract_id>/register", "POST"): STAFF,
    ("/contracts/<int:contract_id>/reject", "POST"): STAFF,
    ("/contracts/new", "GET"): USERS,
    ("/contracts/new", "POST"): USERS,
    # The register's exports under the page's filter: the bureau only.
    ("/contracts/register.<ext>", "GET"): STAFF,
    ("/contracts/certificates.pdf", "GET"): STAFF,
    # Deals: parties and broker act; the bureau reads.
    ("/deals/", "GET"): USERS,
    ("/deals/<int:deal_id>", "GET"): DEAL_PARTIES | STAFF,
    ("/deals/<int:deal_id>/broker", "POST"): OWNER | {"uni_a"},
    ("/deals/<int:deal_id>/notes", "POST"): DEAL_PARTIES,
    ("/deals/<int:deal_id>/stage", "POST"): DEAL_PARTIES,
    # Either side of the match (A's challenge x university A's result) or any agency.
    ("/deals/from-match", "POST"): OWNER | {"uni_a", "agency_a", "agency_b"},
    ("/deals/new", "GET"): ORG_USERS,
    ("/deals/new", "POST"): ORG_USERS,
    # Unmet demands: an enterprise turns its problem text into a draft (a visitor
    # is shown the kept text and asked to log in); verified agencies and the
    # bureau read the leads, and only an agency takes one.
    ("/demands/", "GET"): AGENCIES | STAFF,
    ("/demands/<int:demand_id>/take", "POST"): AGENCIES,
    ("/demands/draft", "POST"): ENTERPRISES | {"anon"},
    ("/demands/kept", "GET"): ALL,
    ("/demands/resume", "GET"): ENTERPRISES,
    # The expert pool is the bureau's alone (an expert cannot even edit their own).
    ("/experts/", "GET"): STAFF,
    ("/experts/<int:expert_id>/edit", "GET"): STAFF,
    ("/experts/<int:expert_id>/edit", "POST"): STAFF,
    ("/experts/<int:expert_id>/reinstate", "POST"): STAFF,
    ("/experts/<int:expert_id>/retire", "POST"): STAFF,
    ("/experts/new", "GET"): STAFF,
    ("/experts/new", "POST"): STAFF,
    # Integrity records: the bureau records and revokes; the record on enterprise
    # A is read by its members, everyone reads the records about themselves.
    ("/integrity/", "GET"): STAFF,
    ("/integrity/<int:record_id>", "GET"): OWNER | STAFF,
    ("/integrity/<int:record_id>/revoke", "POST"): STAFF,
    ("/integrity/mine", "GET"): USERS,
    ("/integrity/new", "GET"): STAFF,
    ("/integrity/new", "POST"): STAFF,
    # Search and matching pages.
    ("/match", "GET"): ALL,
    ("/match", "POST"): ALL,
    ("/search", "GET"): ALL,
    # Notifications: the notification belongs to the ent_a user alone.
    ("/notifications/", "GET"): USERS,
    ("/notifications/<int:notification_id>/read", "POST"): frozenset({"ent_a"}),
    ("/notifications/read-all", "POST"): USERS,
    ("/notifications/settings", "GET"): USERS,
    ("/notifications/settings", "POST"): USERS,
    # Organisations (enterprise A, verified): its admin and sysadmins manage it.
    ("/orgs/", "GET"): ALL,
    ("/orgs/<int:org_id>", "GET"): ALL,
    ("/orgs/<int:org_id>/edit", "GET"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/edit", "POST"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/members", "GET"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/members", "POST"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/members/<int:user_id>/active", "POST"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/members/<int:user_id>/role", "POST"): ORG_ADMIN_A,
    ("/orgs/<int:org_id>/resubmit", "POST"): ORG_ADMIN_A,
    # Review panels: A's bids are scored by the expert; the owner and the bureau
    # form panels and follow them; bidders never see them. Only members score,
    # give opinions (on a mid-term panel) and open the bids' files.
    ("/panels/<int:panel_id>", "GET"): OWNER | STAFF | EXPERT,
    ("/panels/<int:panel_id>/attachments/<int:attachment_id>", "GET"): EXPERT,
    # Whoever formed a bid panel (its owner, or the bureau) replaces a pending seat.
    ("/panels/<int:panel_id>/members/<int:member_id>/replace", "POST"): OWNER | STAFF,
    ("/panels/<int:panel_id>/opinion", "GET"): EXPERT,
    ("/panels/<int:panel_id>/opinion", "POST"): EXPERT,
    ("/panels/<int:panel_id>/score", "GET"): EXPERT,
    ("/panels/<int:panel_id>/score", "POST"): EXPERT,
    ("/panels/mine", "GET"): EXPERT,
    ("/panels/new", "GET"): OWNER | STAFF,
    ("/panels/new", "POST"): OWNER | STAFF,
    # Projects: the owner starts, plans, accepts and re-lists; the winner delivers
    # and applies for exemption; the bureau runs checks and decides exemptions.
    ("/projects/", "GET"): USERS,
    ("/projects/<int:project_id>", "GET"): PROJECT_PARTIES | STAFF,
    ("/projects/<int:project_id>/acceptances", "POST"): STAFF,
    (
        "/projects/<int:project_id>/acceptances/<int:acceptance_id>/conclude",
        "GET",
    ): STAFF,
    (
        "/projects/<int:project_id>/acceptances/<int:acceptance_id>/conclude",
        "POST",
    ): STAFF,
    ("/projects/<int:project_id>/begin", "POST"): OWNER,
    # The winner agrees to the owner's plan before it may start.
    ("/projects/<int:project_id>/agree", "POST"): WINNER,
    ("/projects/<int:project_id>/exemption", "GET"): WINNER,
    ("/projects/<int:project_id>/exemption", "POST"): WINNER,
    ("/projects/<int:project_id>/exemption/decide", "GET"): STAFF,
    ("/projects/<int:project_id>/exemption/decide", "POST"): STAFF,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/accept", "POST"): OWNER,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/delete", "POST"): OWNER,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/deliver", "GET"): WINNER,
    (
        "/projects/<int:project_id>/milestones/<int:milestone_id>/deliver",
        "POST",
    ): WINNER,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/edit", "GET"): OWNER,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/edit", "POST"): OWNER,
    ("/projects/<int:project_id>/milestones/<int:milestone_id>/return", "POST"): OWNER,
    ("/projects/<int:project_id>/milestones/new", "GET"): OWNER,
    ("/projects/<int:project_id>/milestones/new", "POST"): OWNER,
    ("/projects/<int:project_id>/relist", "POST"): OWNER,
    ("/projects/files/<int:file_id>", "GET"): PROJECT_PARTIES | STAFF,
    ("/projects/start/<int:challenge_id>", "GET"): OWNER,
    ("/projects/start/<int:challenge_id>", "POST"): OWNER,
    # Bids: institute A's bid on A's challenge, university A invited to join.
    ("/proposals/<int:proposal_id>", "GET"): BID_READERS | STAFF,
    ("/proposals/<int:proposal_id>/decline", "POST"): OWNER,
    ("/proposals/<int:proposal_id>/edit", "GET"): frozenset({"inst_a"}),
    ("/proposals/<int:proposal_id>/edit", "POST"): frozenset({"inst_a"}),
    ("/proposals/<int:proposal_id>/membership", "POST"): frozenset({"uni_a"}),
    ("/proposals/<int:proposal_id>/select", "POST"): OWNER,
    ("/proposals/<int:proposal_id>/shortlist", "POST"): OWNER,
    ("/proposals/<int:proposal_id>/withdraw", "POST"): frozenset({"inst_a"}),
    # The bidder, the poster and the bureau; not the consortium member.
    ("/proposals/attachments/<int:attachment_id>", "GET"): OWNER | {"inst_a"} | STAFF,
    ("/proposals/challenge/<int:challenge_id>", "GET"): BID_READERS | STAFF,
    ("/proposals/challenge/<int:challenge_id>/direct-award", "GET"): STAFF,
    ("/proposals/challenge/<int:challenge_id>/direct-award", "POST"): STAFF,
    ("/proposals/challenge/<int:challenge_id>/new", "GET"): ORG_USERS - OWNER,
    ("/proposals/challenge/<int:challenge_id>/new", "POST"): ORG_USERS - OWNER,
    ("/proposals/mine", "GET"): USERS,
    ("/proposals/new", "GET"): ORG_USERS - OWNER,
    ("/proposals/new", "POST"): ORG_USERS - OWNER,
    # Results: university A's; enterprise A applied to adopt one.
    ("/results/", "GET"): ALL,
    ("/results/<int:result_id>", "GET"): ALL,
    ("/results/<int:result_id>/apply", "POST"): ENTERPRISES,
    ("/results/<int:result_id>/edit", "GET"): frozenset({"uni_a"}),
    ("/results/<int:result_id>/edit", "POST"): frozenset({"uni_a"}),
    ("/results/<int:result_id>/renew", "POST"): frozenset({"uni_a"}),
    ("/results/<int:result_id>/submit", "POST"): frozenset({"uni_a"}),
    ("/results/<int:result_id>/withdraw", "POST"): frozenset({"uni_a"}),
    ("/results/applications/<int:proposal_id>/accept", "POST"): frozenset({"uni_a"}),
    ("/results/applications/<int:proposal_id>/decline", "POST"): frozenset({"uni_a"}),
    ("/results/applications/<int:proposal_id>/withdraw", "POST"): OWNER,
    ("/results/mine", "GET"): USERS,
    ("/results/new", "GET"): RESEARCH,
    ("/results/new", "POST"): RESEARCH,
    # API tokens: the token belongs to the ent_a user alone.
    ("/settings/tokens/", "GET"): USERS,
    ("/settings/tokens/", "POST"): USERS,
    ("/settings/tokens/<int:token_id>/revoke", "POST"): frozenset({"ent_a"}),
    # Statistics and exports: the bureau only.
    ("/stats/", "GET"): STAFF,
    ("/stats/export/<name>.<ext>", "GET"): STAFF,
    ("/stats/targets", "GET"): STAFF,
    ("/stats/targets", "POST"): STAFF,
    # Messages: institute B asked A's challenge (tests/access_messages.py); the
    # bureau reads other threads only in a complaint review.
    ("/messages/", "GET"): USERS,
    ("/messages/<int:thread_id>", "GET"): OWNER | {"inst_b"},
    ("/messages/<int:thread_id>", "POST"): OWNER | {"inst_b"},
    ("/messages/<int:thread_id>/clarifications", "POST"): OWNER,
    ("/messages/<int:thread_id>/review", "GET"): STAFF,
    ("/messages/<int:thread_id>/review", "POST"): STAFF,
    ("/messages/attachments/<int:attachment_id>", "GET"): OWNER | {"inst_b"},
    ("/messages/challenge/<int:challenge_id>/ask", "GET"): ORG_USERS - OWNER,
    ("/messages/challenge/<int:challenge_id>/ask", "POST"): ORG_USERS - OWNER,
    ("/messages/result/<int:result_id>/ask", "GET"): ORG_USERS - {"uni_a"},
    ("/messages/result/<int:result_id>/ask", "POST"): ORG_USERS - {"uni_a"},
    ("/messages/deal/<int:deal_id>", "GET"): DEAL_PARTIES,
    ("/messages/deal/<int:deal_id>", "POST"): DEAL_PARTIES,
    ("/messages/project/<int:project_id>", "GET"): PROJECT_PARTIES | STAFF,
    ("/messages/project/<int:project_id>", "POST"): PROJECT_PARTIES | STAFF,
    # NDAs: the bureau keeps the templates, every user reads them; A's listings
    # carry one, signed by institute A on the challenge.
    ("/ndas/", "GET"): STAFF,
    ("/ndas/new", "GET"): STAFF,
    ("/ndas/new", "POST"): STAFF,
    ("/ndas/<int:template_id>", "GET"): USERS,
    ("/ndas/<int:template_id>/edit", "GET"): STAFF,
    ("/ndas/<int:template_id>/edit", "POST"): STAFF,
    ("/ndas/challenges/<int:challenge_id>", "GET"): OWNER | STAFF,
    ("/ndas/challenges/<int:challenge_id>", "POST"): OWNER,
    ("/ndas/challenges/<int:challenge_id>/sign", "GET"): ORG_USERS - OWNER,
    ("/ndas/challenges/<int:challenge_id>/sign", "POST"): ORG_USERS - OWNER,
    ("/ndas/results/<int:result_id>", "GET"): frozenset({"uni_a"}) | STAFF,
    ("/ndas/results/<int:result_id>", "POST"): frozenset({"uni_a"}),
    ("/ndas/results/<int:result_id>/sign", "GET"): ORG_USERS - {"uni_a"},
    ("/ndas/results/<int:result_id>/sign", "POST"): ORG_USERS - {"uni_a"},
    ("/ndas/signatures/<int:signature_id>/pdf", "GET"): OWNER | {"inst_a"} | STAFF,
    # Editing published listings: the owners; material changes: the bureau.
    ("/challenges/<int:challenge_id>/revise", "GET"): OWNER,
    ("/challenges/<int:challenge_id>/revise", "POST"): OWNER,
    ("/results/<int:result_id>/revise", "GET"): frozenset({"uni_a"}),
    ("/results/<int:result_id>/revise", "POST"): frozenset({"uni_a"}),
    ("/bureau/changes", "GET"): STAFF,
    ("/bureau/changes/<int:change_id>/approve", "POST"): STAFF,
    ("/bureau/changes/<int:change_id>/reject", "POST"): STAFF,
    ("/listing-changes/<int:change_id>/withdraw", "POST"): OWNER,
    # Listing attachments: enterprise A manages its challenge's files; the one
    # opened here is confidential (owner and bureau; nobody accepted the terms).
    ("/files/listings/<kind>/<int:listing_id>", "GET"): OWNER,
    ("/files/listings/<kind>/<int:listing_id>", "POST"): OWNER,
    ("/files/listing-files/<int:listing_file_id>", "GET"): OWNER | STAFF,
    ("/files/listing-files/<int:listing_file_id>/remove", "POST"): OWNER,
    # Verification documents: enterprise A's admin and the bureau alone.
    ("/files/orgs/<int:org_id>", "GET"): ORG_ADMIN_A,
    ("/files/orgs/<int:org_id>", "POST"): ORG_ADMIN_A,
    ("/files/org-documents/<int:document_id>", "GET"): frozenset({"ent_a_admin"})
    | STAFF,
    ("/files/org-documents/<int:document_id>/remove", "POST"): ORG_ADMIN_A,
}

# URL parameter -> the world object it names, by default ...
DEFAULT_PARAMS = {
    "challenge_id": "challenge",
    "result_id": "result",
    "proposal_id": "proposal",
    "attachment_id": "attachment",
    "deal_id": "deal",
    "contract_id": "contract",
    "payment_id": "payment",
    "notification_id": "notification",
    "token_id": "token",
    "org_id": "org:ent_a",
    "user_id": "user:ent_a",
    "listing_id": "challenge_pending",
    "expert_id": "expert_spare",
    "record_id": "integrity",
    "panel_id": "panel",
    "project_id": "project",
    "milestone_id": "milestone_submitted",
    "acceptance_id": "acceptance",
    "file_id": "deliverable_file",
    "member_id": "panel_seat",
    "demand_id": "demand",
    "throttle_id": "throttle",
    "thread_id": "thread",
    "template_id": "nda_template",
    "signature_id": "nda_signature",
    "change_id": "listing_change",
    "listing_file_id": "listing_file_secret",
    "document_id": "org_document",
}
# ... and literal values for the string parameters.
LITERAL_PARAMS = {
    "kind": "challenge",
    "name": "month",
    "ext": "csv",
    "template": "contracts",
}
# ... unless the rule needs an object of its own: a draft to edit, or one that
# an allowed POST may withdraw without spoiling the other rules.
RULE_PARAMS = {
    "/auth/reset/<token>": {"token": "reset_link"},
    "/auth/invitation/<token>": {"token": "invite_link"},
    "/auth/confirm/<token>": {"token": "confirm_link"},
    "/challenges/<int:challenge_id>/edit": {"challenge_id": "challenge_draft"},
    "/challenges/<int:challenge_id>/submit": {"challenge_id": "challenge_draft2"},
    "/challenges/<int:challenge_id>/withdraw": {"challenge_id": "challenge_spare"},
    "/challenges/<int:challenge_id>/close-bidding": {"challenge_id": "challenge_spare"},
    "/results/<int:result_id>/edit": {"result_id": "result_draft"},
    "/results/<int:result_id>/submit": {"result_id": "result_draft2"},
    "/results/<int:result_id>/withdraw": {"result_id": "result_spare"},
    "/results/applications/<int:proposal_id>/accept": {"proposal_id": "application"},
    "/results/applications/<int:proposal_id>/decline": {"proposal_id": "application"},
    "/results/applications/<int:proposal_id>/withdraw": {"proposal_id": "application"},
    "/bureau/verifications/<int:org_id>/verify": {"org_id": "org:pending"},
    "/files/listings/<kind>/<int:listing_id>": {"listing_id": "challenge"},
    "/files/listing-files/<int:listing_file_id>/remove": {
        "listing_file_id": "listing_file_spare"
    },
    "/files/org-documents/<int:document_id>/remove": {
        "document_id": "org_document_spare"
    },
    "/bureau/verifications/<int:org_id>/refuse": {"org_id": "org:pending"},
    "/admin/users/<int:user_id>/reactivate": {"user_id": "user:inactive"},
    "/experts/<int:expert_id>/reinstate": {"expert_id": "expert_retired"},
    "/panels/<int:panel_id>/opinion": {"panel_id": "panel_review"},
    "/projects/start/<int:challenge_id>": {"challenge_id": "challenge_awarded"},
    "/projects/<int:project_id>/begin": {"project_id": "project_begin"},
    "/projects/<int:project_id>/agree": {"project_id": "project_begin"},
    "/projects/<int:project_id>/milestones/new": {"project_id": "project_plan"},
    "/projects/<int:project_id>/milestones/<int:milestone_id>/edit": {
        "project_id": "project_plan",
        "milestone_id": "milestone_plan",
    },
    "/projects/<int:project_id>/milestones/<int:milestone_id>/delete": {
        "project_id": "project_plan",
        "milestone_id": "milestone_plan_del",
    },
    "/projects/<int:project_id>/milestones/<int:milestone_id>/deliver": {
        "milestone_id": "milestone_pending"
    },
    "/messages/attachments/<int:attachment_id>": {
        "attachment_id": "message_attachment"
    },
    "/projects/<int:project_id>/milestones/<int:milestone_id>/return": {
        "milestone_id": "milestone_return"
    },
    "/projects/<int:project_id>/acceptances/<int:acceptance_id>/conclude": {
        "project_id": "project_check"
    },
    "/projects/<int:project_id>/exemption": {"project_id": "project_failed"},
    "/projects/<int:project_id>/exemption/decide": {"project_id": "project_exempt"},
    "/projects/<int:project_id>/relist": {"project_id": "project_relist"},
    "/ndas/challenges/<int:challenge_id>": {"challenge_id": "challenge_nda"},
    "/ndas/challenges/<int:challenge_id>/sign": {"challenge_id": "challenge_nda"},
    "/ndas/results/<int:result_id>": {"result_id": "result_nda"},
    "/ndas/results/<int:result_id>/sign": {"result_id": "result_nda"},
    "/challenges/<int:challenge_id>/revise": {"challenge_id": "challenge_revise"},
    "/results/<int:result_id>/revise": {"result_id": "result_revise"},
}
# Query strings some rules need ("{key}" is a world id).
QUERY = {
    "/proposals/new": "challenge={challenge}",
    # Searches that really run (and re-check what each role may see).
    "/search": "q=废水处理",
    "/match": "text=食品加工废水处理",
    "/api/v1/search": "q=废水处理",
    # A challenge in evaluation with a bid and no panel yet.
    "/panels/new": "challenge={challenge_eval}",
}

# Form data sent with a POST, so that a denial which let the request through
# would really change something (and the unchanged database proves it did not).
# An empty form is sent elsewhere; for an allowed role a 400/422 for a form
# that does not validate still counts as "allowed past the permission check".
# Keys and values are formatted with the world's ids; a list sends a field
# several times.
MILESTONE_FORM = {
    "deliverable": "乙加的里程碑",
    "description": "样机",
    "due_on": "{future_date}",
    "amount": "1",
}
NDA_SIGN = {
    "full_name": "矩阵",
    "position": "职员",
    "confirm": "y",
    "version_id": "{nda_version}",
}
POST_DATA: dict[str, dict[str, str | list[str]]] = {
    "/challenges/<int:challenge_id>/accept-terms": {"agree": "y"},
    "/challenges/<int:challenge_id>/withdraw": {"confirm": "y", "note": "撤回"},
    # Irreversible actions carry their confirmation tick (checked on the server).
    "/challenges/<int:challenge_id>/close-bidding": {"confirm": "y"},
    "/files/listing-files/<int:listing_file_id>/remove": {"confirm": "y"},
    "/files/org-documents/<int:document_id>/remove": {"confirm": "y"},
    "/projects/<int:project_id>/begin": {"confirm": "y"},
    "/projects/<int:project_id>/agree": {"confirm": "y"},
    "/projects/<int:project_id>/relist": {"confirm": "y"},
    "/projects/<int:project_id>/milestones/<int:milestone_id>/accept": {"confirm": "y"},
    "/contracts/<int:contract_id>/payments": {
        "received_on": "2026-01-10",
        "amount": "0.01",
        "note": "首付款",
    },
    "/contracts/<int:contract_id>/register": {"registration_no": "4117020026000123"},
    "/contracts/<int:contract_id>/reject": {"reason": "材料不全"},
    "/contracts/<int:contract_id>/payments/<int:payment_id>/reverse": {
        "reason": "录入错误",
    },
    "/contracts/<int:contract_id>/payments/<int:payment_id>/correct": {
        "received_on": "2026-01-10",
        "amount": "0.02",
        "reason": "金额有误",
    },
    "/contracts/<int:contract_id>/cancel": {"reason": "合同已解除"},
    "/contracts/<int:contract_id>/correct": {"reason": "金额有误"},
    "/deals/<int:deal_id>/broker": {"broker": ""},
    "/deals/<int:deal_id>/notes": {"note": "已电话联系"},
    "/deals/<int:deal_id>/stage": {"stage": "contacted", "note": "已联系"},
    "/deals/from-match": {"challenge_id": "{challenge}", "result_id": "{result}"},
    "/demands/draft": {"text": "矩阵测试：冷库能耗高，希望找到节能改造技术"},
    "/match": {"text": "食品加工废水处理"},
    "/orgs/<int:org_id>/members": {
        "email": "matrix-new@example.cn",
        "name": "新成员",
        "role": "member",
    },
    "/auth/forgot": {"email": "{mail_reset_email}"},
    "/auth/reset/<token>": {
        "password": "Matrix-Reset-77",
        "confirm": "Matrix-Reset-77",
    },
    "/auth/invitation/<token>": {
        "password": "Matrix-Invite-77",
        "confirm": "Matrix-Invite-77",
    },
    "/notifications/settings": {"preference": "digest"},
    "/admin/users/<int:user_id>/deactivate": {"reason": "矩阵测试：停用"},
    "/admin/users/<int:user_id>/reactivate": {"reason": "矩阵测试：启用"},
    "/admin/users/<int:user_id>/role": {"role": "org_admin", "reason": "矩阵测试"},
    "/admin/users/<int:user_id>/sessions": {"reason": "矩阵测试：结束会话"},
    "/orgs/<int:org_id>/members/<int:user_id>/active": {"active": "0"},
    "/orgs/<int:org_id>/members/<int:user_id>/role": {"role": "org_admin"},
    "/proposals/<int:proposal_id>/decline": {
        "reason_code": "route",
        "note": "方案不符合要求",
    },
    "/proposals/<int:proposal_id>/membership": {"answer": "confirm"},
    "/results/<int:result_id>/apply": {
        "use_scenario": "用于食品厂废水处理",
        "offered_terms": "一次性转让",
    },
    "/results/<int:result_id>/renew": {"valid_until": "{renew_date}"},
    "/results/applications/<int:proposal_id>/decline": {"reason": "暂不合作"},
    "/bureau/verifications/<int:org_id>/refuse": {"reason": "材料不全"},
    "/bureau/reviews/<kind>/<int:listing_id>/reject": {
        "reason_code": "incomplete",
        "note": "请补充",
    },
    "/settings/tokens/": {"name": "matrix"},
    "/stats/targets": {"year": "2031", "amount": "100"},
    "/experts/new": {
        "email": "{uni_b_email}",
        "title": "教授",
        "fields": "environment",
        "specialities": "冷链温控",
    },
    "/experts/<int:expert_id>/edit": {
        "title": "篡改的职称",
        "fields": "environment",
        "specialities": "篡改",
    },
    "/integrity/new": {
        "subject": "org",
        "org_text": "{ent_b_name}",
        "misconduct_type": "plagiarism",
        "facts": "抄袭他人申报材料",
        "decided_on": "{past_date}",
        "source_document": "科监〔2026〕9 号",
    },
    "/integrity/<int:record_id>/revoke": {"reason": "原处理决定已撤销"},
    "/panels/new": {
        "expert_ids": ["{expert_profile}", "{expert_profile2}", "{expert_profile3}"],
        "weight_merit": "40",
        "weight_feasibility": "30",
        "weight_team": "20",
        "weight_price": "10",
    },
    "/panels/<int:panel_id>/opinion": {"verdict": "failed", "comment": "未达目标"},
    "/panels/<int:panel_id>/members/<int:member_id>/replace": {
        "expert_id": "{expert_out}",
        "reason": "专家出差，无法按期评审",
    },
    "/panels/<int:panel_id>/score": {
        "s{proposal}_merit": "60",
        "s{proposal}_feasibility": "61",
        "s{proposal}_team": "62",
        "s{proposal}_price": "63",
        "c{proposal}": "方案一般",
        "overall": "总体一般",
    },
    "/projects/start/<int:challenge_id>": {"contract": "{contract_start}"},
    "/projects/<int:project_id>/acceptances": {
        "kind": "midterm",
        "scheduled_on": "{future_date}",
    },
    "/projects/<int:project_id>/acceptances/<int:acceptance_id>/conclude": {
        "conclusion": "failed",
        "report": "中期检查不通过",
        "confirm": "y",
    },
    "/projects/<int:project_id>/exemption": {"account": ACCOUNT},
    "/projects/<int:project_id>/exemption/decide": {
        "decision": "granted",
        "reason": "勤勉尽责",
        "confirm": "y",
    },
    "/projects/<int:project_id>/milestones/<int:milestone_id>/deliver": {
        "note": "乙交的成果"
    },
    "/projects/<int:project_id>/milestones/<int:milestone_id>/edit": MILESTONE_FORM,
    "/projects/<int:project_id>/milestones/<int:milestone_id>/return": {
        "comment": "请补充测试数据"
    },
    "/projects/<int:project_id>/milestones/new": MILESTONE_FORM,
    "/messages/<int:thread_id>": {"body": "矩阵测试：回复"},
    "/messages/<int:thread_id>/clarifications": {
        "question": "矩阵测试：问题",
        "answer": "矩阵测试：答复",
        "confirm": "y",
    },
    "/messages/<int:thread_id>/review": {"reason": "矩阵测试：投诉", "confirm": "y"},
    "/messages/challenge/<int:challenge_id>/ask": {"body": "矩阵测试：提问"},
    "/messages/result/<int:result_id>/ask": {"body": "矩阵测试：提问"},
    "/messages/deal/<int:deal_id>": {"body": "矩阵测试：撮合消息"},
    "/messages/project/<int:project_id>": {"body": "矩阵测试：项目消息"},
    "/ndas/new": {"name": "矩阵模板", "text": "矩阵正文", "active": "y"},
    "/ndas/<int:template_id>/edit": {"name": "篡改", "text": "篡改正文", "active": "y"},
    "/ndas/challenges/<int:challenge_id>": {"choice": ""},
    "/ndas/results/<int:result_id>": {"choice": ""},
    "/ndas/challenges/<int:challenge_id>/sign": NDA_SIGN,
    "/ndas/results/<int:result_id>/sign": NDA_SIGN,
    "/challenges/<int:challenge_id>/revise": REVISE_CHALLENGE,
    "/results/<int:result_id>/revise": REVISE_RESULT,
    "/bureau/changes/<int:change_id>/approve": {"confirm": "y", "note": "矩阵"},
    "/bureau/changes/<int:change_id>/reject": {"reason": "矩阵测试：不予通过"},
}

# Allowed POSTs that would spoil the requests after them run last, in this order.
RUN_LAST = ("/auth/logout",)

SECRET = "保密参数-MATRIX-7731：反应温度 86℃，菌种编号 BX-204"
ATTACHMENT_BYTES = b"%PDF-1.4\n% matrix attachment MATRIX-ATTACH-5521\n%%EOF\n"
KINDS = {
    "ent": OrgKind.ENTERPRISE,
    "uni": OrgKind.UNIVERSITY,
    "inst": OrgKind.INSTITUTE,
    "agency": OrgKind.AGENCY,
}


# --- the world -----------------------------------------------------------------


def _mail_links(app, factory, org) -> dict:
    """Good mailed links, each for an account of its own (a use spends it)."""
    from marketplace.mail.links import make_token

    accounts = {kind: factory.user(org) for kind in ("reset", "invite", "confirm")}
    out = {"mail_reset_email": accounts["reset"].email}
    with app.app_context():
        for kind, account in accounts.items():
            user = _db.session.get(User, account.id)
            if kind != "reset":
                user.email_confirmed_at = None  # invited or signed up, not yet in
            _db.session.flush()
            out[f"{kind}_link"] = make_token(user, kind)
        _db.session.commit()
    return out


def build_world(app, factory) -> dict:
    """Two organisations per kind, the bureau, a user per role and A's objects."""
    ids: dict = {}
    orgs = {}
    for prefix, kind in KINDS.items():
        for side in ("a", "b"):
            orgs[f"{prefix}_{side}"] = factory.org(kind, name=f"{kind.label}{side}")
    orgs["bureau"] = factory.org(OrgKind.BUREAU, name="科技局")
    orgs["pending"] = factory.org(OrgKind.ENTERPRISE, verified=False, name="待审企业")
    orgs["expert"] = factory.org(OrgKind.UNIVERSITY, name="专家所在高校")
    users = {}
    for role in ROLES:
        if role == "anon":
            continue
        org = orgs["bureau" if role in STAFF else role.removesuffix("_admin")]
        users[role] = factory.user(
            org,
            role=UserRole.ORG_ADMIN if role == "ent_a_admin" else UserRole.MEMBER,
            is_sysadmin=role == "sysadmin",
        )
    users["unverified"] = factory.user(orgs["pending"], role=UserRole.ORG_ADMIN)
    # A deactivated account, for the sysadmin's reactivation.
    users["inactive"] = factory.user(orgs["ent_b"])
    ids.update({f"org:{k}": o.id for k, o in orgs.items()})
    ids.update({f"user:{k}": u.id for k, u in users.items()})
    ids.update(_mail_links(app, factory, orgs["ent_b"]))
    ent, uni, inst = orgs["ent_a"].id, orgs["uni_a"].id, orgs["inst_a"].id
    with app.app_context():
        draft = {"status": ChallengeStatus.DRAFT, "published_at": None}
        ids["challenge"] = make_challenge(ent, confidential_detail=SECRET).id
        ids["challenge_spare"] = make_challenge(ent, title="备用需求").id
        ids["challenge_draft"] = make_challenge(ent, title="甲的草稿需求", **draft).id
        ids["challenge_draft2"] = make_challenge(
            ent, title="甲的草稿需求二", **draft
        ).id
        ids["challenge_pending"] = make_challenge(
            ent,
            title="待审需求",
            status=ChallengeStatus.PENDING_REVIEW,
            published_at=None,
        ).id
        _db.session.get(User, users["inactive"].id).active = False
        rdraft = {"status": ResultStatus.DRAFT, "published_at": None}
        ids["result"] = make_result(uni).id
        ids["result_spare"] = make_result(uni, title="备用成果").id
        ids["result_draft"] = make_result(uni, title="甲的草稿成果", **rdraft).id
        ids["result_draft2"] = make_result(uni, title="甲的草稿成果二", **rdraft).id
        bid = Proposal(
            kind=ProposalKind.BID,
            challenge_id=ids["challenge"],
            org_id=inst,
            submitted_by_id=users["inst_a"].id,
            solution="院所甲的方案：两级生物膜反应器 MATRIX-BID-3390",
            price_fen=20_000_000,
            duration_months=12,
        )
        bid.members.append(ProposalMember(org_id=uni))
        application = Proposal(
            kind=ProposalKind.ADOPTION,
            result_id=ids["result"],
            org_id=ent,
            submitted_by_id=users["ent_a"].id,
            use_scenario="食品厂废水处理",
            offered_terms="一次性转让",
        )
        _db.session.add_all([bid, application])
        _db.session.flush()
        stored = hashlib.sha256(f"matrix-{bid.id}".encode()).hexdigest()[:32]
        attachment = Attachment(
            proposal_id=bid.id,
            original_name="方案.pdf",
            stored_name=stored,
            content_type="application/pdf",
            size_bytes=len(ATTACHMENT_BYTES),
            sha256=hashlib.sha256(ATTACHMENT_BYTES).hexdigest(),
            uploaded_by_id=users["inst_a"].id,
        )
        deal = Deal(
            title="废水处理撮合 MATRIX-DEAL-8812",
            demand_org_id=ent,
            supply_org_id=uni,
            broker_org_id=orgs["agency_a"].id,
            challenge_id=ids["challenge"],
            result_id=ids["result"],
        )
        contract = Contract(
            title="技术开发合同 MATRIX-CONTRACT-6604",
            contract_type=ContractType.DEVELOPMENT,
            buyer_org_id=ent,
            buyer_name=orgs["ent_a"].name,
            buyer_region_code="411702",
            seller_org_id=inst,
            seller_name=orgs["inst_a"].name,
            seller_region_code="411702",
            broker_org_id=orgs["agency_a"].id,
            signed_on=date(2026, 1, 5),
            amount_fen=10_000_000,
            tech_amount_fen=8_000_000,
            paid_fen=10_000,
        )
        # A payment ent_a recorded by hand, for the reversal and correction routes.
        payment = Payment(
            contract=contract,
            received_on=date(2026, 1, 8),
            amount_fen=10_000,
            recorded_by_id=users["ent_a"].id,
        )
        notification = Notification(
            user_id=users["ent_a"].id, message="给甲的通知 MATRIX-NOTE-4410", link="/"
        )
        demand = UnmetDemand(
            text="匿名访客的问题 MATRIX-LEAD-3301：豆粕发酵异味大",
            text_hash="0" * 64,
            best_score=12.0,
        )
        throttle = LoginThrottle(
            scope=ThrottleScope.ACCOUNT,
            key="guessed@example.cn",
            failures=5,
            locks=1,
            locked_until=utcnow() + timedelta(minutes=15),
        )
        _db.session.add_all(
            [attachment, deal, contract, payment, notification, demand, throttle]
        )
        _db.session.commit()
        from marketplace.tokens.services import create_token

        create_token(_db.session.get(User, users["ent_a"].id), "甲的令牌")
        _db.session.commit()
        ids["token"] = _db.session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == users["ent_a"].id)
        )
        ids.update(
            proposal=bid.id,
            application=application.id,
            attachment=attachment.id,
            deal=deal.id,
            contract=contract.id,
            payment=payment.id,
            notification=notification.id,
            demand=demand.id,
            throttle=throttle.id,
        )
        from marketplace.proposals.attachments import upload_dir

        (upload_dir() / stored).write_bytes(ATTACHMENT_BYTES)
    build_delivery(app, factory, orgs, users, ids)
    build_messages(app, users, ids)
    build_nda(app, orgs, users, ids)
    build_revisions(app, orgs, users, ids)
    _build_files(app, users, ids)
    with app.app_context():
        get_index().reindex(_db.session)
    ids["renew_date"] = (date.today() + timedelta(days=60)).isoformat()
    return {"ids": ids, "orgs": orgs, "users": users}


def _build_files(app, users: dict, ids: dict) -> None:
    """Files on A's open challenge and enterprise A's verification documents."""
    from marketplace.models import ListingAttachment, OrgDocument
    from marketplace.uploads import upload_dir

    def columns(tag: str, user: str) -> dict:
        stored = hashlib.sha256(f"matrix-file-{tag}".encode()).hexdigest()[:32]
        (upload_dir() / stored).write_bytes(ATTACHMENT_BYTES)
        return {
            "original_name": f"{tag}.pdf",
            "stored_name": stored,
            "content_type": "application/pdf",
            "size_bytes": len(ATTACHMENT_BYTES),
            "sha256": hashlib.sha256(ATTACHMENT_BYTES).hexdigest(),
            "uploaded_by_id": users[user].id,
        }

    with app.app_context():
        rows = {
            "listing_file_secret": ListingAttachment(
                challenge_id=ids["challenge"],
                confidential=True,
                **columns("保密图纸", "ent_a"),
            ),
            "listing_file_spare": ListingAttachment(
                challenge_id=ids["challenge"], **columns("规格书", "ent_a")
            ),
            "org_document": OrgDocument(
                org_id=ids["org:ent_a"], **columns("营业执照", "ent_a_admin")
            ),
            "org_document_spare": OrgDocument(
                org_id=ids["org:ent_a"], **columns("其他证明", "ent_a_admin")
            ),
        }
        _db.session.add_all(rows.values())
        _db.session.commit()
        ids.update({name: row.id for name, row in rows.items()})
