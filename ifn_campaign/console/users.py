"""Console users: who may sign in, with which role. Passwords are kept only as argon2id hashes;
changing a password or disabling a user ends every login issued before (`session_epoch`)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.errors import AccessDenied, InvalidValueError, LedgerError, UnknownValueError
from ifn_campaign.models import StaffRole, StaffUser

__all__ = [
    "HASHING",
    "MIN_PASSWORD",
    "ROLES",
    "Hashing",
    "add_user",
    "allows",
    "authenticate",
    "check_new_user",
    "disable_user",
    "find_user",
    "new_feed_token",
    "production_hasher",
    "revoke_feed_token",
    "set_password",
    "set_role",
    "user_by_feed_token",
]

ROLES = tuple(StaffRole)  # lowest first: each role may do what the ones before it may
MIN_PASSWORD = 10
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


@dataclass(frozen=True)
class Hashing:
    """The password hasher and a hash of a random secret made with it, checked against when the
    user name is unknown, so a wrong name costs the same time as a wrong password and does not
    tell which names exist. Kept together so the two always have the same cost."""

    hasher: PasswordHasher
    dummy_hash: str

    @classmethod
    def of(cls, hasher: PasswordHasher) -> Hashing:
        return cls(hasher, hasher.hash(secrets.token_hex(16)))


def production_hasher() -> PasswordHasher:
    """argon2id with the library's RFC 9106 low-memory parameters: 3 passes over 64 MiB,
    4 lanes."""
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


# the one hasher of the console; the tests swap in a cheap one (tests/conftest.py) and check
# this one's parameters separately
HASHING = Hashing.of(production_hasher())


def allows(role: str, needed: StaffRole) -> bool:
    """Whether `role` may do what `needed` may (roles are ordered)."""
    try:
        return ROLES.index(StaffRole(role)) >= ROLES.index(needed)
    except ValueError:
        return False


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidValueError(
            f"user name {name!r}: 2 to 64 characters, lower-case letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return name


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidValueError(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InvalidValueError("the password is too long: at most 1024 characters")
    return password


def find_user(session: Session, name: str) -> StaffUser:
    user = session.scalars(select(StaffUser).where(StaffUser.name == name)).first()
    if user is None:
        raise LedgerError(f"no console user {name!r}: see `ifn-campaign users list`")
    return user


def check_new_user(session: Session, name: str, role: str) -> None:
    """Refuse a bad name, an unknown role or a name taken, before anyone types a password."""
    _check_name(name)
    try:
        StaffRole(role)
    except ValueError:
        raise UnknownValueError(
            f"unknown role {role!r}; valid: {', '.join(r.value for r in ROLES)}"
        ) from None
    if session.scalars(select(StaffUser.id).where(StaffUser.name == name)).first() is not None:
        raise InvalidValueError(f"user {name!r} exists already: `ifn-campaign users passwd {name}`")


def add_user(
    session: Session, name: str, role: str, password: str, *, now: datetime, language: str = "id"
) -> StaffUser:
    """A new user; the caller commits."""
    check_new_user(session, name, role)
    user = StaffUser(
        name=name,
        role=role,
        password_hash=HASHING.hasher.hash(_check_password(password)),
        language=language,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, name: str, password: str, *, now: datetime) -> StaffUser:
    """A new password; every login of the user made before ends, and so does their calendar
    feed address (a login someone took over could have made one). The caller commits."""
    user = find_user(session, name)
    user.password_hash = HASHING.hasher.hash(_check_password(password))
    user.password_changed_at = now
    user.session_epoch += 1
    user.feed_token_sha256 = None
    return user


def _keep_an_admin(session: Session, user: StaffUser, doing: str) -> None:
    """Refuse to take the last enabled admin away: nobody could manage users afterwards."""
    if user.role != StaffRole.ADMIN or user.disabled_at is not None:
        return
    others = session.scalars(
        select(StaffUser.id).where(
            StaffUser.role == StaffRole.ADMIN.value,
            StaffUser.disabled_at.is_(None),
            StaffUser.id != user.id,
        )
    ).first()
    if others is None:
        raise AccessDenied(f"{user.name} is the last admin: make another user admin before {doing}")


def set_role(session: Session, name: str, role: str) -> StaffUser:
    """A new role, in force from the user's next page (their login stays). The last enabled
    admin keeps theirs. The caller commits."""
    if role not in (r.value for r in ROLES):
        raise UnknownValueError(
            f"unknown role {role!r}; valid: {', '.join(r.value for r in ROLES)}"
        )
    user = find_user(session, name)
    if role != user.role:
        _keep_an_admin(session, user, "changing their role")
        user.role = role
    return user


def disable_user(session: Session, name: str, *, now: datetime, by: str | None = None) -> StaffUser:
    """The user can no longer sign in, and is signed out everywhere; the history keeps the name.
    `by` (who asks, in the console) may not disable themselves, and the last enabled admin
    stays. The caller commits."""
    user = find_user(session, name)
    if by is not None and by == user.name:
        raise AccessDenied("you cannot disable yourself: ask another admin")
    _keep_an_admin(session, user, "disabling them")
    if user.disabled_at is None:
        user.disabled_at = now
    user.session_epoch += 1
    user.feed_token_sha256 = None
    return user


def authenticate(session: Session, name: str, password: str) -> StaffUser | None:
    """The user if the name and password match an enabled user, else None (the same time
    either way). A hash made with older parameters is upgraded; the caller commits."""
    hashing = HASHING
    user = session.scalars(select(StaffUser).where(StaffUser.name == name)).first()
    try:
        hashing.hasher.verify(user.password_hash if user else hashing.dummy_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if hashing.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hashing.hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(user: StaffUser) -> str:
    """A new private token for the user's calendar feed; the old one stops working. Only its
    SHA-256 is stored: the token is shown once. The caller commits."""
    token = secrets.token_urlsafe(32)
    user.feed_token_sha256 = _digest(token)
    return token


def revoke_feed_token(user: StaffUser) -> None:
    user.feed_token_sha256 = None


def user_by_feed_token(session: Session, token: str) -> StaffUser | None:
    if not token or len(token) > 128:
        return None
    user = session.scalars(
        select(StaffUser).where(StaffUser.feed_token_sha256 == _digest(token))
    ).first()
    return user if user is not None and user.disabled_at is None else None
