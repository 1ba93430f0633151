"""Platform blocks kept in the database (`PlatformBlock`), so every run and every worker stops
calling an account, or a whole app, that a platform told us to leave alone until a time.

Meta warns that calls made while limited extend the block, and YouTube's quota does not come
back before midnight Pacific: a block only one process remembers is forgotten by the next run,
which calls again. Keys: scope "account", `<channel>:<account>`; scope "app", `graph:<app id>`
(Instagram and Facebook accounts of one Meta app share its app-level limit) or
`youtube:<OAuth client id>` (the quota belongs to the Google Cloud project).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.errors import ChannelBlocked
from ifn_campaign.models import PlatformBlock

ACCOUNT, APP = "account", "app"


def account_key(channel: str, account: str) -> str:
    return f"{channel}:{account}"


def app_key(settings: Settings, channel: str, account: str) -> str:
    """The app whose limits the account shares: its Meta app, or its YouTube OAuth client."""
    found = settings.accounts.get(channel, {}).get(account)
    if channel == Channel.YOUTUBE:
        return f"{Channel.YOUTUBE}:{(found.client_id if found else None) or 'default'}"
    return f"graph:{(found.app_id if found else None) or 'default'}"


def record_block(
    session: Session,
    scope: str,
    key: str,
    until: datetime,
    *,
    code: int | None,
    reason: str,
    now: datetime,
) -> PlatformBlock:
    """Store (or lengthen, never shorten) a block; the caller commits. One upsert: two workers
    meeting the same limit at once both store it (a read-then-insert let the second fail on
    the duplicate key, leaving its post claimed)."""
    row = {
        "scope": scope,
        "key": key,
        "blocked_until": until,
        "code": code,
        "reason": reason,
        "recorded_at": now,
    }
    table = PlatformBlock.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(row)
    current = table.c.blocked_until
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.key],
            set_={name: statement.excluded[name] for name in row if name not in ("scope", "key")},
            where=(current < until) | (current <= now),  # an ended block is replaced
        )
    )
    block = session.get(PlatformBlock, (scope, key), populate_existing=True)
    assert block is not None
    return block


def keep_limit(
    session: Session,
    settings: Settings,
    channel: str,
    account: str,
    error: ChannelBlocked,
    now: datetime,
) -> PlatformBlock:
    """Store a limit a platform set while we called an account (a Graph rate limit, a spent
    YouTube quota) where every run and worker sees it: on the account, or on its app when the
    limit is the app's (`error.scope`). The publisher and the insights reader both keep limits
    this way; the caller commits."""
    until, scope, code = error.blocked_until(now), error.scope, error.block_code
    key = app_key(settings, channel, account) if scope == APP else account_key(channel, account)
    return record_block(session, scope, key, until, code=code, reason=str(error), now=now)


def active_blocks(session: Session, now: datetime) -> list[PlatformBlock]:
    return list(
        session.scalars(
            select(PlatformBlock)
            .where(PlatformBlock.blocked_until > now)
            .order_by(PlatformBlock.blocked_until)
        )
    )


def blocked_accounts(
    session: Session, settings: Settings, now: datetime
) -> dict[tuple[str, str], PlatformBlock]:
    """Every configured (channel, account) a block in force covers, with the block that ends
    last (an app block covers each account of that app)."""
    blocks = {(b.scope, b.key): b for b in active_blocks(session, now)}
    found: dict[tuple[str, str], PlatformBlock] = {}
    if not blocks:
        return found
    for channel, accounts in settings.accounts.items():
        for account in accounts:
            hits = [
                blocks.get((ACCOUNT, account_key(channel, account))),
                blocks.get((APP, app_key(settings, channel, account))),
            ]
            longest = max((b for b in hits if b), key=lambda b: b.blocked_until, default=None)
            if longest is not None:
                found[(channel, account)] = longest
    return found


def block_for(
    session: Session, settings: Settings, channel: str, account: str, now: datetime
) -> PlatformBlock | None:
    """The block in force for one account (its own, or its app's), if any."""
    keys = [(ACCOUNT, account_key(channel, account)), (APP, app_key(settings, channel, account))]
    hits = [session.get(PlatformBlock, key) for key in keys]
    live = [b for b in hits if b is not None and b.blocked_until > now]
    return max(live, key=lambda b: b.blocked_until, default=None)


def describe(block: PlatformBlock) -> str:
    what = "app" if block.scope == APP else "account"
    code = f" (code {block.code})" if block.code is not None else ""
    return f"{what} {block.key} blocked by the platform{code}: {block.reason or 'rate limit'}"
