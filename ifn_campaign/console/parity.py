"""Which console route does each staff CLI command's job (issue 18: the console is a thin door
like the CLI, and every staff command has its console action or a stated reason why not).

The staff commands are those in the Members, Plan and review, Publish and Reports panels of
`ifn-campaign --help`; tests/console/test_parity.py enumerates them from the Typer app and fails
for one missing here, or for a route named here that the app does not have."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PARITY", "RUN_NOW", "STAFF_PANELS", "Door"]

STAFF_PANELS = ("Members", "Plan and review", "Publish", "Reports")
RUN_NOW = "POST /flows/{flow}/run"  # Today's "run now" button of a scheduled flow


@dataclass(frozen=True)
class Door:
    """The console routes ("METHOD /path") that do a command's job; none, with why not."""

    routes: tuple[str, ...] = ()
    why: str = ""

    def __post_init__(self) -> None:
        if not self.routes and not self.why:
            raise ValueError("a command without a console route needs a reason")


def _to(*routes: str, why: str = "") -> Door:
    return Door(routes=routes, why=why)


PARITY: dict[str, Door] = {
    # Members
    "sync": _to(RUN_NOW, why="runs as the scheduled sync_registry flow; 'run now' on Today"),
    "import-csv": Door(
        why="an operator's one-off import of a spreadsheet file on the server; the console "
        "takes no file uploads"
    ),
    "members": _to("GET /members"),
    "members withdrawals": _to(
        "GET /exports/withdrawals.csv",
        "POST /exports/withdrawals/reported",
        why="the members page links the export for approvers and marks what it listed",
    ),
    "members revoke-links": _to("POST /members/{member_id}/revoke-links"),
    "member": _to("GET /members/{member_id}"),
    "quarantine": Door(
        why="a member's quarantine reasons are on their page (GET /members/{member_id}); the "
        "list of records never stored is the registry team's, from the CLI"
    ),
    "render": Door(
        why="cards are drawn by the scheduled compose flow and shown on the review queue and "
        "calendar (GET /cards/{name}); drawing previews of any member is a template author's tool"
    ),
    "captions": Door(why="a group: see its commands"),
    "captions lint": Door(
        why="checks caption template files against the sample members: for whoever edits the "
        "templates, next to the files"
    ),
    "captions show": Door(
        why="the caption of each post is on the review queue and its edit page "
        "(GET /review, GET /review/{post_id}/edit)"
    ),
    # Plan and review
    "campaigns": _to("GET /campaigns"),
    "plan": _to(
        RUN_NOW,
        "GET /campaigns/{name}/dry-run",
        why="runs as the scheduled plan_campaign flow ('run now' on Today); a dry run per "
        "campaign on the campaigns page",
    ),
    "calendar": _to("GET /calendar", "GET /exports/calendar.csv"),
    "pin": _to("POST /members/{member_id}/pin"),
    "unpin": _to("POST /members/{member_id}/unpin"),
    "exclude": _to("POST /members/{member_id}/exclude"),
    "include": _to("POST /members/{member_id}/include"),
    "compose": _to(RUN_NOW, why="runs as the scheduled compose flow; 'run now' on Today"),
    "review": _to("GET /review"),
    "approve": _to("POST /review/approve", "POST /failures/{post_id}/retry"),
    "edit-caption": _to("GET /review/{post_id}/edit", "POST /review/{post_id}/edit"),
    "move": _to(
        "POST /review/{post_id}/move", "POST /calendar/move", "POST /failures/{post_id}/move"
    ),
    "reject": _to("POST /review/{post_id}/reject"),
    "cancel": _to("POST /review/{post_id}/cancel", "POST /failures/{post_id}/cancel"),
    # Publish
    "publish": _to(RUN_NOW, why="runs as the scheduled publish_due flow; 'run now' on Today"),
    "status": _to("GET /", why="Today: the queue per account and the posts that need staff"),
    "missed": _to("GET /failures"),
    "missed publish-now": _to("POST /failures/{post_id}/publish-now"),
    "reconcile": _to(RUN_NOW, why="runs as the scheduled reconcile flow; 'run now' on Today"),
    "accounts": Door(why="a group: see its commands"),
    "accounts reauthorised": _to("POST /failures/reauthorised"),
    "takedowns": _to("GET /failures"),
    "takedowns done": _to("POST /failures/takedowns/{post_id}/done"),
    "notices": Door(why="a group: see its commands"),
    "notices list": _to("GET /notices"),
    "notices send": _to(RUN_NOW, why="runs as the scheduled notices flow; 'run now' on Today"),
    "notices resolve": _to("POST /notices/{notice_id}/resolve"),
    "notices retry": _to("POST /notices/{notice_id}/retry"),
    # Reports
    "report": _to(
        RUN_NOW,
        "GET /fairness",
        why="the HTML report is written by the scheduled report flow ('run now' on Today); the "
        "fairness page shows the ledger for any period",
    ),
    "history": _to("GET /members/{member_id}", why="the whole history is on the member's page"),
    "insights": Door(why="a group: see its commands"),
    "insights read": _to(RUN_NOW, why="runs as the scheduled insights flow; 'run now' on Today"),
    "insights show": _to(
        "GET /members/{member_id}",
        why="each feature's latest figures are on the member's page; every mark of one post is "
        "an analyst's command",
    ),
    "slots": Door(why="a group: see its commands"),
    "slots advise": _to(
        "GET /campaigns",
        "GET /campaigns/{name}/dry-run",
        why="the Campaigns page shows each campaign's slot advice per account; the dry run "
        "what replace_weakest_slot would do",
    ),
    "ledger": _to("GET /fairness", "GET /exports/ledger.csv"),
    "ledger by": _to("GET /fairness"),
    "ledger gap": _to("GET /fairness"),
    "ledger never-featured": _to("GET /fairness"),
    "showcase": Door(
        why="writes a static site to the server's disk for a web host to serve, rebuilt after "
        "each publish run when showcase.dir is set: an operator's command, nothing staff read "
        "in the console (its fairness numbers are on GET /fairness)"
    ),
}
