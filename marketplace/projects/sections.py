"""Page sections about projects: the challenge's 立项 box, an org's record."""

from __future__ import annotations

from typing import Any

from flask import url_for
from werkzeug.routing import BuildError

from marketplace import permissions
from marketplace.models import Challenge, Organisation, Project, ProjectStatus
from marketplace.projects import services


def panel_url(endpoint: str, **values: Any) -> str | None:
    """A link into the expert-panel pages, or None while they are not there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def project_panel(user: Any, challenge: Challenge) -> dict:
    """The project box on a challenge page: a link to the project, or 立项."""
    if challenge.status not in services.PROJECT_CHALLENGE_STATES:
        return {"show": False}
    if not permissions.is_logged_in(user):
        return {"show": False}
    project = services.project_of(challenge)
    if project is not None:
        visible = permissions.can_view_project(user, project)
        return {"show": visible, "project": project if visible else None}
    may_start = (
        permissions.can_start_project(user, challenge)
        and challenge.status in services.STARTABLE_CHALLENGE_STATES
    )
    return {"show": may_start, "project": None, "may_start": may_start}


def delivery_record(user: Any, org: Organisation) -> dict:
    """An organisation's delivery record as its page shows it to this user."""
    record = services.delivery_record(org.id)
    insider = permissions.is_member_of(user, org.id) or permissions.is_bureau(user)
    return {
        **record,
        # An exempted failure leaves no mark: only the bureau and the org see it.
        "show_exempted": insider and record["exempted"] > 0,
        "show": record["completed"] + record["failed"] > 0
        or (insider and record["exempted"] > 0),
    }


def state_flags(project: Project) -> dict[str, bool]:
    """The project's stage as the questions its page asks, answered yes or no."""
    return {
        "project_planning": project.status == ProjectStatus.PLANNING,
        "project_running": project.status == ProjectStatus.RUNNING,
        "project_completed": project.status == ProjectStatus.COMPLETED,
        "project_failed": project.status == ProjectStatus.FAILED,
    }
