"""Anonymous challenges: the features added beside the first sweep keep it hidden.

A listing thread with a reply and an attachment, an NDA signed under
"revealed when selected", a wording edit, an approved deadline extension and
a listing file: every page, notification, queued mail and the signed PDF.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from marketplace.clock import local_today
from marketplace.models import (
    Challenge,
    ChallengeReveal,
    ListingAttachment,
    ListingChange,
    MailPreference,
    MessageAttachment,
    MessageThread,
    NdaSignature,
    NdaTemplate,
    Notification,
    OutgoingMail,
    StoredMatch,
    User,
)
from marketplace.permissions.nda import current_nda_version
from marketplace.search.sync import get_index
from tests.sample_files import PDF
from tests.test_anonymity import (
    HIDDEN,
    SHOWN,
    TITLE,
    _urls,
    page,
    world,  # noqa: F401  (the shared fixture)
)
from tests.test_challenges import form_data

OWNER_NAME = "隐名王五"
NDA_TEXT = "双方对评估中获知的信息保密，仅用于评估合作。"


def _revise(owner_client, cid: int, **overrides):
    data = form_data(
        title=TITLE,
        anonymous="y",
        reveal_to=ChallengeReveal.WHEN_SELECTED.value,
        allowed_bidder_kinds=["university", "institute", "enterprise"],
        contact_email="secret-contact@jiayibing.cn",
        **overrides,
    )
    response = owner_client.post(f"/challenges/{cid}/revise", data=data)
    assert response.status_code == 302, page(response)


@pytest.fixture
def more(app, db, login, world):  # noqa: F811
    """The world's challenge, revealed only to the winner, with every later feature."""
    cid = world["challenge_id"]
    challenge = db.session.get(Challenge, cid)
    challenge.reveal_to = ChallengeReveal.WHEN_SELECTED
    owner = db.session.get(User, world["owner"].id)
    owner.name = OWNER_NAME
    asker = db.session.get(User, world["lab_user"].id)
    asker.mail_preference = MailPreference.EACH
    db.session.commit()
    owner_client, bureau_client = world["owner_client"], world["bureau_client"]
    lab = login(world["lab_user"])

    # A question with an attachment, the owner's reply, a clarification.
    response = lab.post(
        f"/messages/challenge/{cid}/ask",
        data={"body": "请问处理水量？", "attachments": [(io.BytesIO(PDF), "q.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, page(response)
    thread_id = db.session.scalar(select(MessageThread.id))
    lab.get(f"/messages/{thread_id}")
    owner_client.get(f"/messages/{thread_id}")
    response = owner_client.post(
        f"/messages/{thread_id}",
        data={"body": "每天约 200 吨。", "attachments": [(io.BytesIO(PDF), "a.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, page(response)
    lab.get(f"/messages/{thread_id}")  # the owner's read receipt shows to the asker
    response = owner_client.post(
        f"/messages/{thread_id}/clarifications",
        data={"question": "处理水量？", "answer": "每天约 200 吨。", "confirm": "y"},
    )
    assert response.status_code == 302, page(response)

    # The owner picks a bureau NDA; the bidder signs it.
    bureau_client.post(
        "/ndas/new", data={"name": "通用保密协议", "text": NDA_TEXT, "active": "y"}
    )
    template_id = db.session.scalar(select(func.max(NdaTemplate.id)))
    assert owner_client.post(
        f"/ndas/challenges/{cid}", data={"choice": str(template_id)}
    ).status_code == 302
    db.session.expire_all()
    version = current_nda_version(db.session.get(Challenge, cid))
    response = lab.post(
        f"/ndas/challenges/{cid}/sign",
        data={
            "full_name": "李四",
            "position": "工程师",
            "confirm": "y",
            "version_id": str(version.id),
        },
    )
    assert response.status_code == 302, page(response)

    # A wording edit, then a deadline extension the bureau approves.
    _revise(owner_client, cid, description="现有工艺能耗高，需新的生物处理方案。")
    later = (local_today() + timedelta(days=60)).isoformat()
    _revise(owner_client, cid, description="现有工艺能耗高，需新的生物处理方案。",
            deadline=later)
    change_id = db.session.scalar(select(func.max(ListingChange.id)))
    assert bureau_client.post(
        f"/bureau/changes/{change_id}/approve", data={"confirm": "y"}
    ).status_code == 302

    # A public listing file.
    response = owner_client.post(
        f"/files/listings/challenge/{cid}",
        data={"label": "工艺流程", "attachments": [(io.BytesIO(PDF), "flow.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, page(response)
    db.session.expire_all()
    ids = {
        "thread_id": thread_id,
        "signature_id": db.session.scalar(select(NdaSignature.id)),
        "attachment_id": db.session.scalar(select(func.max(MessageAttachment.id))),
        "listing_file_id": db.session.scalar(select(ListingAttachment.id)),
        "kind": "challenge",
        "listing_id": cid,
        "change_id": change_id,
    }
    assert all(ids.values()), ids
    deadline = db.session.get(Challenge, cid).deadline.isoformat()
    assert deadline == later
    return world | {"ids": ids, "lab_client": lab}


def _body(response) -> str:
    """A page's text, a PDF's extracted text, nothing of other downloads."""
    if response.mimetype == "application/pdf":
        return _pdf_text(response)
    if response.mimetype.startswith("text/") or response.is_json:
        return page(response)
    return ""


def _leaks(client, urls: list[str], challenge_id: int) -> list[str]:
    """Pages, exports and PDFs that name the poster or its member."""
    link = re.compile(rf"/challenges/{challenge_id}(?!\d)")
    found = []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            found.append(f"{url}: {response.status_code}")
        body = _body(response)
        # Directories name it without the challenge (as in test_anonymity.py);
        # nothing about the challenge may, nor any PDF.
        about = TITLE in body or link.search(body) or "api" in url
        if HIDDEN in body and (about or url.endswith("/pdf")):
            found.append(url)
        if OWNER_NAME in body or "secret-contact@jiayibing.cn" in body:
            found.append(f"{url} (member)")
    return found


def _pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return "".join(p.extract_text() for p in reader.pages).replace(" ", "")


def test_sweep_of_threads_ndas_edits_and_files(app, client, login, more):
    ids = more["ids"]
    urls = _urls(app, more, **ids)
    for needed in (
        f"/messages/{ids['thread_id']}",
        f"/ndas/signatures/{ids['signature_id']}/pdf",
        f"/files/listing-files/{ids['listing_file_id']}",
        "/messages/",
        "/notifications/",
    ):
        assert needed in urls
    outsiders = {
        "signed bidder and asker": more["lab_client"],
        "visitor": client,
        "declined bidder": login(more["uni_user"]),
        "other enterprise": login(more["firm_user"]),
    }
    for who, each in outsiders.items():
        assert _leaks(each, urls, more["challenge_id"]) == [], who
    thread = page(more["lab_client"].get(f"/messages/{ids['thread_id']}"))
    assert "每天约 200 吨。" in thread and "已读" in thread
    assert f"发布方（{SHOWN}）" in thread


def test_signed_pdf_names_the_poster_only_to_who_may_know(more):
    url = f"/ndas/signatures/{more['ids']['signature_id']}/pdf"
    signer = _pdf_text(more["lab_client"].get(url))
    assert "李四" in signer and HIDDEN not in signer and SHOWN in signer
    for each in (more["owner_client"], more["bureau_client"]):
        assert HIDDEN in _pdf_text(each.get(url))


def test_notifications_and_mails_to_outsiders(db, more):
    owner_org = more["seeker"].id
    outsiders = select(User.id).where(User.org_id != owner_org)
    messages = db.session.scalars(
        select(Notification.message).where(Notification.user_id.in_(outsiders))
    ).all()
    assert any("新消息" in m for m in messages)  # the reply reached the asker
    assert any("延长" in m for m in messages)  # the extension reached bidders
    assert not [m for m in messages if HIDDEN in m or OWNER_NAME in m]
    addresses = select(User.email).where(User.org_id != owner_org)
    mails = db.session.scalars(
        select(OutgoingMail).where(OutgoingMail.to_address.in_(addresses))
    ).all()
    assert any("新消息" in m.subject + m.body for m in mails)
    assert not [m for m in mails if HIDDEN in m.subject + m.body]


def test_owner_bureau_and_the_winner_see_the_name(db, login, more):
    from marketplace.models import Proposal, ProposalStatus

    thread = f"/messages/{more['ids']['thread_id']}"
    assert HIDDEN in page(more["owner_client"].get(thread))
    winner = db.session.get(Proposal, more["bids"][more["lab"].id])
    winner.status = ProposalStatus.SELECTED
    db.session.commit()
    body = page(more["lab_client"].get(thread))
    assert HIDDEN in body and OWNER_NAME in body
    url = f"/ndas/signatures/{more['ids']['signature_id']}/pdf"
    assert HIDDEN in _pdf_text(more["lab_client"].get(url))


def test_stored_matches_hold_no_name(app, db, client, more):
    get_index().reindex(db.session)  # stored rows need an index up to date
    result = f"/results/{more['result_id']}"
    assert TITLE in page(client.get(result))
    assert more["owner_client"].get(f"/challenges/{more['challenge_id']}").status_code
    payloads = db.session.scalars(select(StoredMatch.payload)).all()
    assert payloads, "the listing pages stored their matches"
    assert not [p for p in payloads if HIDDEN in repr(p) or OWNER_NAME in repr(p)]


def test_asker_reads_the_owner_receipt_anonymously(more):
    body = page(more["lab_client"].get(f"/messages/{more['ids']['thread_id']}"))
    assert f"已读：发布方（{SHOWN}）" in body
    assert "测试用户（" not in body.split("已读：", 1)[1].split("<", 1)[0]
    owner = page(more["owner_client"].get(f"/messages/{more['ids']['thread_id']}"))
    assert f"{OWNER_NAME}（{HIDDEN}）" in owner and "已读：测试用户（" in owner
