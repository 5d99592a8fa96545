"""The access matrix's message world: institute B asked enterprise A's challenge.

Built by `build_messages` for tests/access_table.build_world. The thread's
participants are enterprise A (the owner) and institute B (the asker); nobody
else may read it, and the bureau only in a complaint review.
"""

from __future__ import annotations

import hashlib

from marketplace.extensions import db as _db
from marketplace.models import (
    Message,
    MessageAttachment,
    MessageThread,
    ThreadKind,
    ThreadRead,
)

THREAD_MARK = "MATRIX-MESSAGE-6617"
FILE_BYTES = b"%PDF-1.4\n% matrix message MATRIX-MSGFILE-2290\n%%EOF\n"


def build_messages(app, users: dict, ids: dict) -> None:
    """Add the listing thread, its message and attachment (ids filled in place)."""
    from marketplace.proposals.attachments import upload_dir

    asker = users["inst_b"]
    with app.app_context():
        thread = MessageThread(
            kind=ThreadKind.LISTING,
            challenge_id=ids["challenge"],
            asker_org_id=asker.org_id,
            created_by_id=asker.id,
        )
        message = Message(
            author_id=asker.id, org_id=asker.org_id, body=f"提问 {THREAD_MARK}"
        )
        stored = hashlib.sha256(b"matrix-message").hexdigest()[:32]
        message.attachments.append(
            MessageAttachment(
                original_name="参数.pdf",
                stored_name=stored,
                content_type="application/pdf",
                size_bytes=len(FILE_BYTES),
                sha256=hashlib.sha256(FILE_BYTES).hexdigest(),
                uploaded_by_id=asker.id,
            )
        )
        thread.messages.append(message)
        _db.session.add(thread)
        _db.session.flush()
        _db.session.add(
            ThreadRead(thread_id=thread.id, user_id=users["ent_a"].id, unread_count=1)
        )
        _db.session.commit()
        ids["thread"] = thread.id
        ids["message_attachment"] = message.attachments[0].id
        (upload_dir() / stored).write_bytes(FILE_BYTES)
