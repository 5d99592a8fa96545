"""The sections a challenge's and a result's page both show, built for a viewer."""

from __future__ import annotations

from typing import Any

from marketplace import permissions
from marketplace.files import sections as file_sections
from marketplace.matching import sections as matching_sections
from marketplace.messages import sections as message_sections
from marketplace.models import Challenge, Result
from marketplace.revisions import sections as revision_sections


def listing_page(user: Any, listing: Challenge | Result) -> dict[str, Any]:
    """Questions, files, change history, matches and the edit button's flag."""
    return {
        "may_revise": permissions.can_revise(user, listing),
        "listing_questions": message_sections.listing_questions(user, listing),
        "listing_files": file_sections.listing_files(user, listing),
        "change_history": revision_sections.change_history(user, listing),
        "listing_matches": matching_sections.listing_matches(user, listing),
    }
