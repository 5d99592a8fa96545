"""Unmet-demand verbs: record a weak free-text match, draft a challenge, take a lead."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from marketplace import audit, permissions
from marketplace.challenges import services as challenges
from marketplace.clock import utcnow
from marketplace.exceptions import StateError
from marketplace.extensions import db
from marketplace.models import Challenge, UnmetDemand

# The same text from the same session within this time is one demand, not two.
DEDUP_WINDOW = timedelta(minutes=30)
# How long a visitor's kept text waits for them to log in or sign up.
KEEP_FOR = timedelta(days=1)
TITLE_MAX = 200  # the challenge title's limit (Challenge.title, ChallengeForm)
DEFAULT_BIDDERS = ["university", "institute"]

_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_SPACES = re.compile(r"\s+")
# Contact details a visitor may type into the box: never shown to agencies.
_PERSONAL = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # resident identity card number
    re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)"),  # fixed line with area code
    re.compile(r"(?:微信|wechat|QQ|qq)[号:：\s]*[A-Za-z0-9_-]{5,}"),
]
REDACTED = "〔已隐去〕"


def text_hash(text: str) -> str:
    """SHA-256 of the text with runs of white space made one space."""
    return hashlib.sha256(_SPACES.sub(" ", text.strip()).encode()).hexdigest()


def session_hash(key: str) -> str:
    """What is stored of a session's demand key (the key itself stays with it)."""
    return hashlib.sha256(key.encode()).hexdigest()


def redact(text: str) -> str:
    """The text with e-mail addresses, phone, ID-card and chat numbers hidden."""
    for pattern in _PERSONAL:
        text = pattern.sub(REDACTED, text)
    return text


def title_from(text: str) -> str:
    """A challenge title from the text's first sentence, within the title limit."""
    for part in _SENTENCE_END.split(text):
        sentence = _SPACES.sub(" ", part).strip(" ，,、：:")
        if sentence:
            break
    else:
        sentence = "技术需求"
    if len(sentence) > TITLE_MAX:
        sentence = sentence[: TITLE_MAX - 1].rstrip() + "…"
    return sentence


def _recent(text: str, key: str) -> UnmetDemand | None:
    return db.session.scalar(
        select(UnmetDemand)
        .where(
            UnmetDemand.session_hash == session_hash(key),
            UnmetDemand.text_hash == text_hash(text),
            UnmetDemand.updated_at >= utcnow() - DEDUP_WINDOW,
        )
        .order_by(UnmetDemand.id.desc())
        .limit(1)
    )


def _attach_user(demand: UnmetDemand, user: Any) -> None:
    if permissions.is_logged_in(user) and demand.user_id is None:
        demand.user_id = user.id
        demand.org_id = user.org_id
        demand.region_code = user.org.region_code


def record_unmet(
    text: str, best_score: float | None, user: Any, key: str
) -> UnmetDemand:
    """Note a free-text problem with no strong match (once per session and text)."""
    demand = _recent(text, key)
    if demand is not None:
        demand.seen_count += 1
        if best_score is not None:
            demand.best_score = best_score
    else:
        demand = UnmetDemand(
            text=text.strip(),
            text_hash=text_hash(text),
            session_hash=session_hash(key),
            best_score=best_score,
            seen_count=1,
        )
        db.session.add(demand)
    _attach_user(demand, user)
    db.session.flush()
    return demand


def keep_text(text: str, user: Any, key: str) -> UnmetDemand:
    """The session's demand for this text, recorded now if the match step did not."""
    demand = _recent(text, key)
    if demand is None:
        demand = record_unmet(text, None, user, key)
    _attach_user(demand, user)
    return demand


def kept_demand(demand_id: int | None, key: str | None) -> UnmetDemand | None:
    """The demand a session kept for later, if it is really that session's and fresh."""
    if not demand_id or not key:
        return None
    # Compared in SQL: SQLite hands datetimes back without their zone.
    return db.session.scalar(
        select(UnmetDemand).where(
            UnmetDemand.id == demand_id,
            UnmetDemand.session_hash == session_hash(key),
            UnmetDemand.updated_at >= utcnow() - KEEP_FOR,
        )
    )


def draft_challenge(demand: UnmetDemand, user: Any) -> Challenge:
    """An enterprise turns the demand's text into its challenge draft (one step)."""
    if not permissions.can_post_challenge(user):
        raise StateError("只有企业用户可以把问题描述发布为技术需求。")
    if demand.challenge_id is not None:
        existing = demand.challenge
        if permissions.can_edit_challenge(user, existing):
            return existing  # pressed twice: the same draft, not a second one
        raise StateError("这段描述已经生成过技术需求草稿。")
    challenge = challenges.create_challenge(
        user,
        challenges.ChallengeData(
            title=title_from(demand.text),
            description=demand.text,
            region_code=user.org.region_code,
            allowed_bidder_kinds=list(DEFAULT_BIDDERS),
        ),
    )
    _attach_user(demand, user)
    demand.challenge_id = challenge.id
    demand.drafted_at = utcnow()
    audit.record(
        "unmet_demand_drafted",
        obj=demand,
        user=user,
        note=f"challenge {challenge.id}",
    )
    return challenge


def take_lead(demand: UnmetDemand, user: Any) -> None:
    """A transfer agency takes a lead; the first one to ask gets it."""
    if not permissions.can_take_leads(user):
        raise StateError("只有已认证的技术转移机构可以接手需求线索。")
    now = utcnow()
    # Two agencies at once: only the UPDATE that still finds it free wins.
    taken = db.session.execute(
        update(UnmetDemand)
        .where(UnmetDemand.id == demand.id, UnmetDemand.taken_at.is_(None))
        .values(taken_at=now, taken_by_id=user.id, taken_by_org_id=user.org_id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise StateError("该线索已被接手。")
    db.session.refresh(demand)
    audit.record("unmet_demand_taken", obj=demand, user=user)
