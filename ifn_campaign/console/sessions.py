"""Login cookies and form tokens.

The cookie holds only the user's id, the user's `session_epoch`, a random nonce and the login
time, signed with a key (itsdangerous) and refused after `console.session_hours`; it is
HttpOnly, SameSite=Lax and Secure when the request came over https. Every visitor has one (an
anonymous one before signing in) so the login form has a form token too; signing in replaces
the nonce, so a cookie planted before the login is worth nothing after it.

The form token of a session is an HMAC of its nonce: a form posted from another site cannot
know it, and it needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from ifn_campaign.config import Settings
from ifn_campaign.errors import FileAccessError
from ifn_campaign.files import secret_key_file

__all__ = ["COOKIE", "Cookie", "Signer", "session_key"]

COOKIE = "ifn_console"
KEY_FILE = "console.key"


def session_key(settings: Settings) -> bytes:
    """`console.session_secret`, else the key in `<data_dir>/console.key`, made (0600) on first
    use, so logins survive a restart without anyone choosing a key."""
    secret = settings.console.session_secret
    if secret is not None:
        value = secret.get_secret_value().encode()
        if len(value) < 32:
            raise FileAccessError(
                "console.session_secret is too short: at least 32 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return value
    path = settings.base / KEY_FILE
    try:
        return secret_key_file(path)
    except OSError as exc:
        raise FileAccessError(
            f"cannot read or make the console key {path}: {exc.strerror or exc}; "
            "or set IFN_CONSOLE__SESSION_SECRET"
        ) from None


@dataclass(frozen=True)
class Cookie:
    """What a login cookie says: `user_id` None before signing in."""

    nonce: str
    user_id: int | None = None
    epoch: int = 0

    @classmethod
    def anonymous(cls) -> Cookie:
        return cls(nonce=secrets.token_urlsafe(18))

    def signed_in(self, user_id: int, epoch: int) -> Cookie:
        """A new nonce with the login: a token seen before it is no use after."""
        return Cookie(nonce=secrets.token_urlsafe(18), user_id=user_id, epoch=epoch)


def _timestamp_signer(clock: Callable[[], float]) -> type[TimestampSigner]:
    """itsdangerous' signer on `clock` (seconds since the epoch) instead of time.time."""

    class _Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return _Signer


class Signer:
    """Signs and reads login cookies and form tokens with one key. `clock` (seconds since the
    epoch, the wall clock by default) dates a cookie and judges its age."""

    def __init__(
        self, key: bytes, max_age_seconds: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        signer = _timestamp_signer(clock)
        self._serializer = URLSafeTimedSerializer(key, salt="ifn-console-login", signer=signer)
        self._csrf_key = hmac.new(key, b"ifn-console-form-token", hashlib.sha256).digest()
        self._name_key = hmac.new(key, b"ifn-console-login-name", hashlib.sha256).digest()
        self._flash = URLSafeTimedSerializer(key, salt="ifn-console-flash", signer=signer)
        self.max_age = max_age_seconds

    def dump(self, cookie: Cookie) -> str:
        return self._serializer.dumps([cookie.nonce, cookie.user_id, cookie.epoch])

    def load(self, value: str | None) -> Cookie | None:
        """The cookie, or None when it is missing, forged, malformed or too old."""
        if not value or len(value) > 4096:
            return None
        try:
            nonce, user_id, epoch = self._serializer.loads(value, max_age=self.max_age)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(nonce, str) or not isinstance(epoch, int):
            return None
        if user_id is not None and not isinstance(user_id, int):
            return None
        return Cookie(nonce=nonce, user_id=user_id, epoch=epoch)

    def form_token(self, cookie: Cookie) -> str:
        return hmac.new(self._csrf_key, cookie.nonce.encode(), hashlib.sha256).hexdigest()

    def form_token_ok(self, cookie: Cookie | None, token: str | None) -> bool:
        if cookie is None or not token or not token.isascii():  # compare_digest: ASCII only
            return False
        return hmac.compare_digest(self.form_token(cookie), token)

    def digest(self, text: str) -> str:
        """A keyed digest (HMAC-SHA256, hex) of `text`: how the login limit keeps the names
        tried, since staff sometimes type their password into the name field."""
        return hmac.new(self._name_key, text.encode(), hashlib.sha256).hexdigest()

    def dump_flash(self, messages: list[tuple[str, str]]) -> str:
        return self._flash.dumps(messages)

    def load_flash(self, value: str | None) -> list[tuple[str, str]]:
        """Messages for the next page (a minute at most), or none."""
        if not value or len(value) > 8192:
            return []
        try:
            data = self._flash.loads(value, max_age=60)
        except (BadSignature, ValueError, TypeError):
            return []
        return [
            (str(kind), str(text))
            for kind, text in (item for item in data if isinstance(item, list) and len(item) == 2)
        ]
