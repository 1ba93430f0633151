"""How many wrong passwords are let through: per user name and per client address, counted in
a sliding window from the `login_failure` table, so a restart does not reset the count.

The name is kept only as a keyed digest (`Signer.digest`): what is typed into the name field is
sometimes a password, and a password is never stored. An IPv6 address counts as its /64 network
(`address_key`): one subscriber holds all of it, and could otherwise try from a new address each
time.

The member page's bad links (`MEMBER_LINK` rows, `members.answers.note_bad_link`) share the table
but not the staff limit: staff sign in from the same office address (a NAT) as members open
their links, and a few expired links must not lock staff out. The member page counts only those
rows, the staff login every other one."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ifn_campaign.config import ConsoleSettings
from ifn_campaign.models import LoginFailure

__all__ = [
    "MEMBER_LINK",
    "Limit",
    "address_key",
    "blocked_until",
    "forget",
    "record_failure",
]

# LoginFailure.user_name of a member-page request with a bad link; never a staff name's digest
MEMBER_LINK = "member-link"


@dataclass(frozen=True)
class Limit:
    per_user: int
    per_address: int
    window: timedelta

    @classmethod
    def of(cls, settings: ConsoleSettings) -> Limit:
        return cls(
            settings.login_attempts,
            settings.login_attempts_per_address,
            timedelta(minutes=settings.login_window_minutes),
        )


def address_key(address: str) -> str:
    """The client address as the limit counts it: an IPv4 address as itself (also when written
    as IPv6, `::ffff:192.0.2.1`), an IPv6 address as its /64 network, anything else as given."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def _oldest_blocking(
    session: Session, column: object, value: str, allowed: int, since: datetime
) -> datetime | None:
    """The failure whose ageing out lets the next attempt through, when `allowed` are used.
    Member-page rows never count here: they have their own limit."""
    staff_rows = (
        column == value,
        LoginFailure.user_name != MEMBER_LINK,
        LoginFailure.at > since,  # type: ignore[operator]
    )
    count = session.scalar(select(func.count()).select_from(LoginFailure).where(*staff_rows))
    if not count or count < allowed:
        return None
    # the attempt is free again once all but allowed-1 of these are out of the window
    return session.scalar(
        select(LoginFailure.at)
        .where(*staff_rows)
        .order_by(LoginFailure.at.desc())  # type: ignore[union-attr]
        .offset(allowed - 1)
        .limit(1)
    )


def blocked_until(
    session: Session, limit: Limit, user_name: str, address: str, now: datetime
) -> datetime | None:
    """When the next attempt for this name from this address may be made, if not now."""
    since = now - limit.window
    ends = [
        at + limit.window
        for at in (
            _oldest_blocking(session, LoginFailure.user_name, user_name, limit.per_user, since),
            _oldest_blocking(
                session, LoginFailure.address, address_key(address), limit.per_address, since
            ),
        )
        if at is not None
    ]
    return max(ends) if ends else None


def record_failure(
    session: Session, limit: Limit, user_name: str, address: str, now: datetime
) -> None:
    """The caller commits. Rows out of every window are dropped on the way."""
    session.add(LoginFailure(at=now, user_name=user_name[:128], address=address_key(address)))
    keep = max(limit.window, timedelta(days=1))
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - keep))


def forget(session: Session, user_name: str) -> None:
    """A right password clears the name's count (not the address's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.user_name == user_name))
