"""Upload checks over real gunicorn workers (tests/test_upload_checks.py in process).

The assessment's 100 KB workbook of 30 MB XML kept a worker parsing until
gunicorn's timeout killed it and the user got a 500. Here both workers get it at
once, with a fake PDF bid beside it: every answer is the refusal, and no
worker was killed or restarted.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

from marketplace.models import OrgKind
from tests.conftest import PASSWORD
from tests.factories import Factory, make_challenge
from tests.http_users import HttpUser, server_app
from tests.test_upload_checks import cell, row, workbook

FAKE_PDF = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>"


def import_bomb(server, email: str, org_id: int, data: bytes) -> tuple[int, str]:
    user = HttpUser(server.base_url, email).login()
    user.get("/bureau/import")
    answer = user.post(
        "/bureau/import",
        {"kind": "result", "org_id": str(org_id)},
        files={"file": ("small.xlsx", io.BytesIO(data))},
    )
    return answer.status_code, answer.text


def fake_bid(server, email: str, challenge_id: int) -> tuple[int, str]:
    user = HttpUser(server.base_url, email).login()
    path = f"/proposals/challenge/{challenge_id}/new"
    user.get(path)
    form = {
        "solution": "方案",
        "technical_route": "路线",
        "price": "10",
        "duration_months": "6",
        "team": "团队",
    }
    answer = user.post(path, form, files={"attachments": ("方案.pdf", FAKE_PDF)})
    return answer.status_code, answer.text


def test_small_workbook_and_fake_pdf_are_refused_on_every_worker(live_server):
    server = live_server(workers=2)
    app = server_app(server)
    factory = Factory(app, PASSWORD)
    bureau = factory.user(factory.org(OrgKind.BUREAU)).email
    university = factory.org(OrgKind.UNIVERSITY).id
    firm = factory.org(OrgKind.ENTERPRISE)
    bidder = factory.user(factory.org(OrgKind.INSTITUTE)).email
    with app.app_context():
        challenge_id = make_challenge(firm.id).id
    body = row(1, "title", "description") + "".join(
        row(n, raw=cell(1) * 300) for n in range(2, 5002)
    )
    data = workbook([body])
    workers = sorted(server.worker_pids())

    with ThreadPoolExecutor(6) as pool:
        imports = [
            pool.submit(import_bomb, server, bureau, university, data) for _ in range(4)
        ]
        bids = [pool.submit(fake_bid, server, bidder, challenge_id) for _ in range(2)]
        imports, bids = [f.result() for f in imports], [f.result() for f in bids]

    for status, page in imports:
        assert status == 200
        assert "Excel 文件压缩比超过 100 倍" in page
        assert "flask --app wsgi import-listings" in page
    for status, page in bids:
        assert status == 200 and "不是有效的 PDF 文档" in page
    assert sorted(server.worker_pids()) == workers  # none timed out or died
    log = server.log_path.read_text(errors="replace")
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log
