"""Corrections, never silent edits: payment reversals, contract corrections and
cancellation by the bureau, and a rejected contract resubmitted by its party."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.models import (
    AuditEvent,
    Challenge,
    Contract,
    ContractStatus,
    Milestone,
    MilestoneStatus,
    OrgKind,
    Payment,
    Project,
)
from marketplace.stats import services as stats
from tests.dates import iso, today
from tests.test_contracts import add_contract, count, form, pay
from tests.test_projects import deliver, make_world, milestone_ids, running_project

REGISTERED = {"status": ContractStatus.REGISTERED, "registration_no": "41170220260001"}


@pytest.fixture
def seller(factory):
    return factory.org(OrgKind.INSTITUTE)


@pytest.fixture
def world(db, factory, login):
    return make_world(db, factory, login)


def ledger(db, cid) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Payment).where(Payment.contract_id == cid).order_by(Payment.id)
        )
    )


def reverse(client, cid, pid, reason="金额录入错误"):
    return client.post(
        f"/contracts/{cid}/payments/{pid}/reverse",
        data={"reason": reason},
        follow_redirects=True,
    )


def audit_notes(db, action) -> list[str]:
    return list(
        db.session.scalars(select(AuditEvent.note).where(AuditEvent.action == action))
    )


# --- payments: reversal and correction as new ledger entries ------------------------


def test_reversal_is_a_new_entry_and_the_original_stays(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    pay(enterprise_client, cid, "30")
    (original,) = ledger(db, cid)
    page = reverse(enterprise_client, cid, original.id, reason="").get_data(True)
    assert "请填写冲销原因" in page
    assert len(ledger(db, cid)) == 1
    page = reverse(enterprise_client, cid, original.id).get_data(as_text=True)
    assert "该笔收款已冲销" in page
    first, entry = ledger(db, cid)
    assert (first.id, first.amount_fen) == (original.id, 30_000_000)
    assert entry.reverses_id == first.id and entry.amount_fen == -30_000_000
    assert entry.received_on == first.received_on and entry.reason == "金额录入错误"
    assert db.session.get(Contract, cid).paid_fen == 0
    assert "已冲销" in page and "金额录入错误" in page and "30.00 万元" in page
    assert "30000000" not in page  # money shown in 万元, never raw fen
    # Twice is refused, and so is reversing the reversal.
    assert "已冲销" in reverse(enterprise_client, cid, original.id).get_data(True)
    reverse(enterprise_client, cid, entry.id)
    assert len(ledger(db, cid)) == 2
    assert audit_notes(db, "payment_reversed")


def test_statistics_net_out_a_reversal(bureau_client, enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller, **REGISTERED)
    pay(enterprise_client, cid, "30")
    pay(enterprise_client, cid, "5")
    first = ledger(db, cid)[0]
    reverse(bureau_client, cid, first.id)
    received = stats.payments_received(today(-30), today())
    assert received == 5_000_000


def test_correction_is_reversal_plus_new_entry(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    pay(enterprise_client, cid, "30")
    (original,) = ledger(db, cid)
    response = enterprise_client.post(
        f"/contracts/{cid}/payments/{original.id}/correct",
        data={
            "received_on": iso(),
            "amount": "3",
            "note": "首付款",
            "reason": "多打了一个零",
        },
        follow_redirects=True,
    )
    assert "收款已更正" in response.get_data(as_text=True)
    amounts = [p.amount_fen for p in ledger(db, cid)]
    assert amounts == [30_000_000, -30_000_000, 3_000_000]
    assert db.session.get(Contract, cid).paid_fen == 3_000_000


def test_a_wrong_correction_leaves_the_ledger_alone(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller)
    pay(enterprise_client, cid, "30")
    (original,) = ledger(db, cid)
    enterprise_client.post(
        f"/contracts/{cid}/payments/{original.id}/correct",
        data={"received_on": iso(), "amount": "9999", "reason": "改"},
    )
    assert [p.amount_fen for p in ledger(db, cid)] == [30_000_000]
    assert db.session.get(Contract, cid).paid_fen == 30_000_000


def test_only_the_recorder_or_the_bureau_reverses(
    enterprise_client, agency_client, bureau_client, factory, login, seller, db
):
    cid = add_contract(
        db, enterprise_client.org, seller, broker_org_id=agency_client.org.id
    )
    pay(enterprise_client, cid, "10")
    pay(enterprise_client, cid, "20")
    first, second = ledger(db, cid)
    # The broker sees the contract but did not record the payment: 403.
    path = f"/contracts/{cid}/payments/{first.id}/reverse"
    assert agency_client.post(path, data={"reason": "x"}).status_code == 403
    # Another organisation does not even see the contract: 404.
    other = login(factory.user(factory.org()))
    assert other.post(path, data={"reason": "x"}).status_code == 404
    # A payment id of another contract reads as missing.
    cid2 = add_contract(db, enterprise_client.org, seller)
    wrong = f"/contracts/{cid2}/payments/{first.id}/reverse"
    assert enterprise_client.post(wrong, data={"reason": "x"}).status_code == 404
    assert len(ledger(db, cid)) == 2
    reverse(bureau_client, cid, second.id)
    assert db.session.get(Contract, cid).paid_fen == 10_000_000


def test_payment_dates_follow_the_contract(enterprise_client, seller, db):
    signed = today(-10)
    cid = add_contract(db, enterprise_client.org, seller, signed_on=signed)
    page = pay(enterprise_client, cid, "1", signed - timedelta(days=1)).get_data(True)
    assert "收款日期不能早于合同签订日期" in page
    page = pay(enterprise_client, cid, "1", today(1)).get_data(True)
    assert "收款日期不能晚于今天" in page
    assert count(db, Payment) == 0
    assert "收款已登记" in pay(enterprise_client, cid, "1", signed).get_data(True)


# --- the stuck milestone --------------------------------------------------------------


def test_reversing_a_hand_entry_frees_the_stuck_milestone(db, world):
    challenge = db.session.get(Challenge, world.challenge_id)
    challenge.bounty_fen = 90_000_000
    contract = db.session.get(Contract, world.contract_id)
    contract.amount_fen = contract.tech_amount_fen = 90_000_000
    db.session.commit()
    project_id = running_project(world, amounts=("20", "63"))
    first, second = milestone_ids(db, project_id)
    base = f"/projects/{project_id}/milestones"
    deliver(world.winner, project_id, first)
    world.owner.post(f"{base}/{first}/accept", data={"confirm": "y"})
    # 30 万元 typed by hand on the contract by the buyer.
    pay(world.owner, world.contract_id, "30")
    deliver(world.winner, project_id, second)
    page = world.owner.post(
        f"{base}/{second}/accept", data={"confirm": "y"}, follow_redirects=True
    )
    assert "不能超过技术合同成交额" in page.get_data(as_text=True)
    assert db.session.get(Milestone, second).status == MilestoneStatus.SUBMITTED
    hand = next(p for p in ledger(db, world.contract_id) if p.note == "")
    # The milestone's own release is the project's to keep: not reversible here.
    released = next(p for p in ledger(db, world.contract_id) if p.note)
    reverse(world.owner, world.contract_id, released.id)
    assert len(ledger(db, world.contract_id)) == 2
    reverse(world.owner, world.contract_id, hand.id)
    world.owner.post(f"{base}/{second}/accept", data={"confirm": "y"})
    db.session.expire_all()
    assert db.session.get(Milestone, second).status == MilestoneStatus.ACCEPTED
    assert db.session.get(Project, project_id).released_fen == 83_000_000
    assert db.session.get(Contract, world.contract_id).paid_fen == 83_000_000


# --- the bureau corrects or cancels a registered contract ----------------------------


def _year_turnover(db) -> int:
    db.session.expire_all()
    return stats.summary(today(-300), today())["contract_amount_fen"]


def test_bureau_corrects_a_registered_contract(
    bureau_client, enterprise_client, seller, db
):
    cid = add_contract(db, enterprise_client.org, seller, **REGISTERED)
    before = _year_turnover(db)
    page = bureau_client.get(f"/contracts/{cid}/correct").get_data(as_text=True)
    assert "更正原因" in page and 'value="50"' in page
    data = form(
        enterprise_client.org, seller, amount="80", tech_amount="60", reason=""
    )
    data["signed_on"] = (today(-10)).isoformat()
    page = bureau_client.post(f"/contracts/{cid}/correct", data=data)
    assert "请填写更正原因" in page.get_data(as_text=True)
    assert db.session.get(Contract, cid).amount_fen == 50_000_000
    data["reason"] = "合同金额录入有误"
    response = bureau_client.post(f"/contracts/{cid}/correct", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    contract = db.session.get(Contract, cid)
    assert (contract.amount_fen, contract.tech_amount_fen) == (80_000_000, 60_000_000)
    assert contract.contract_type == "transfer"
    assert contract.status == ContractStatus.REGISTERED
    assert _year_turnover(db) == before - 50_000_000 + 80_000_000
    (note,) = audit_notes(db, "contract_corrected")
    assert "合同金额录入有误" in note
    assert "合同成交额：50.00 万元 → 80.00 万元" in note
    assert "合同类型：技术开发 → 技术转让" in note
    page = bureau_client.get(f"/contracts/{cid}").get_data(as_text=True)
    assert "50.00 万元 → 80.00 万元" in page


def test_a_correction_cannot_go_below_what_was_paid(
    bureau_client, enterprise_client, seller, db
):
    cid = add_contract(db, enterprise_client.org, seller, **REGISTERED)
    pay(enterprise_client, cid, "3")
    data = form(enterprise_client.org, seller, amount="1", tech_amount="1")
    data.update(reason="改小", signed_on=(today(-10)).isoformat())
    page = bureau_client.post(f"/contracts/{cid}/correct", data=data)
    assert "不能少于已到账金额" in page.get_data(as_text=True)
    assert db.session.get(Contract, cid).amount_fen == 50_000_000


def test_only_the_bureau_corrects_or_cancels(enterprise_client, seller, db):
    cid = add_contract(db, enterprise_client.org, seller, **REGISTERED)
    data = form(enterprise_client.org, seller, amount="1", reason="改")
    assert enterprise_client.get(f"/contracts/{cid}/correct").status_code == 403
    response = enterprise_client.post(f"/contracts/{cid}/correct", data=data)
    assert response.status_code == 403
    response = enterprise_client.post(f"/contracts/{cid}/cancel", data={"reason": "x"})
    assert response.status_code == 403
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.REGISTERED
    assert contract.amount_fen == 50_000_000


def test_cancelled_contract_drops_out_of_turnover(
    bureau_client, enterprise_client, seller, db
):
    cid = add_contract(db, enterprise_client.org, seller, **REGISTERED)
    before = _year_turnover(db)
    response = bureau_client.post(
        f"/contracts/{cid}/cancel", data={"reason": "合同已解除"}, follow_redirects=True
    )
    assert "合同登记已注销" in response.get_data(as_text=True)
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.CANCELLED
    assert contract.cancel_reason == "合同已解除"
    assert _year_turnover(db) == before - 50_000_000
    page = enterprise_client.get(f"/contracts/{cid}").get_data(as_text=True)
    assert "已注销" in page and "合同已解除" in page
    assert "已注销的合同不能登记收款" in pay(enterprise_client, cid, "1").get_data(True)
    # Cancelling twice, or a contract never registered, is refused.
    bureau_client.post(f"/contracts/{cid}/cancel", data={"reason": "再注销"})
    assert audit_notes(db, "contract_cancelled") == ["合同已解除"]


# --- a rejected contract edited and resubmitted ------------------------------------


def test_rejected_contract_is_edited_and_resubmitted(
    bureau_client, enterprise_client, seller, db
):
    cid = add_contract(
        db, enterprise_client.org, seller, status="rejected", reject_reason="金额有误"
    )
    page = enterprise_client.get(f"/contracts/{cid}/edit").get_data(as_text=True)
    assert "金额有误" in page and 'value="50"' in page
    data = form(enterprise_client.org, seller, amount="45", tech_amount="40")
    response = enterprise_client.post(f"/contracts/{cid}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    contract = db.session.get(Contract, cid)
    assert contract.status == ContractStatus.SUBMITTED
    assert contract.amount_fen == 45_000_000 and contract.reject_reason == ""
    assert count(db) == 1
    (note,) = audit_notes(db, "contract_resubmitted")
    assert "金额有误" in note and "合同成交额：50.00 万元 → 45.00 万元" in note
    # Now pending again: the bureau registers it as any other.
    bureau_client.post(
        f"/contracts/{cid}/register", data={"registration_no": "41170220260002"}
    )
    assert db.session.get(Contract, cid).status == ContractStatus.REGISTERED


def test_only_its_parties_resubmit(enterprise_client, factory, login, seller, db):
    cid = add_contract(db, enterprise_client.org, seller, status="rejected")
    other = login(factory.user(factory.org()))
    data = form(enterprise_client.org, seller, amount="1")
    assert other.get(f"/contracts/{cid}/edit").status_code == 404
    assert other.post(f"/contracts/{cid}/edit", data=data).status_code == 404
    # A pending contract is not edited through this page.
    pending = add_contract(db, enterprise_client.org, seller)
    enterprise_client.post(f"/contracts/{pending}/edit", data=data)
    assert db.session.get(Contract, pending).amount_fen == 50_000_000
    assert db.session.get(Contract, cid).status == ContractStatus.REJECTED
