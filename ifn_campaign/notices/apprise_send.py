"""Notices as a message through Apprise (WhatsApp or another service) to the member's number.

The URL is a secret (it carries the service's token): the secret named by
`notices.apprise_url_secret`, a template with `{whatsapp}` or `{phone}` where the member's
number goes. Apprise gives back no message id, so nothing can later tell whether a message cut
off mid-call arrived: delivery.py records `step = "data"` before `notify`, and a crash after it
leaves the notice `uncertain` for staff, never resent blindly. A False from `notify` is a
temporary failure (retried with backoff).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from ifn_campaign.errors import SettingsError
from ifn_campaign.notices.contacts import ContactRefused, whatsapp_number

if TYPE_CHECKING:
    from apprise import Apprise

__all__ = ["AppriseRefused", "apprise_url", "notify", "prepare"]

_PLACES = ("{whatsapp}", "{phone}")
_BLANKS = re.compile(r"\s+")


class AppriseRefused(Exception):
    """The notice cannot go through Apprise at all (no usable number)."""


def apprise_url(template: str, number: str) -> str:
    """The template with the member's number in place; AppriseRefused for a number that is
    not one (member data never becomes anything else in a URL)."""
    if not any(place in template for place in _PLACES):
        raise SettingsError(
            "the Apprise URL in the secret named by notices.apprise_url_secret has no {whatsapp} "
            "or {phone} where the member's number goes: every member's message would go to one "
            "recipient"
        )
    try:
        digits = whatsapp_number(number)  # the outbox's own check, again at the door
    except ContactRefused as exc:
        raise AppriseRefused(str(exc)) from None
    url = template
    for place in _PLACES:
        url = url.replace(place, quote(digits, safe=""))
    return url


def prepare(url: str) -> Apprise:
    """An Apprise sender for `url`. A URL Apprise does not understand is a settings error,
    said without the URL (it holds a token)."""
    import apprise

    # Apprise logs the URLs it parses at debug level, and they carry the token: keep it quiet
    logging.getLogger("apprise").setLevel(logging.WARNING)
    sender = apprise.Apprise()
    if not sender.add(url):
        raise SettingsError(
            "the Apprise URL in the secret named by notices.apprise_url_secret is not one Apprise "
            "understands (see https://github.com/caronc/apprise/wiki)"
        )
    return sender


def _whatsapp_template(sender: Apprise) -> bool:
    """Whether the message goes as the variable of a WhatsApp message template."""
    return any(
        type(server).__name__ == "NotifyWhatsApp" and getattr(server, "template", None)
        for server in sender
    )


def notify(sender: Apprise, *, title: str, body: str) -> bool:
    """One message through Apprise; True when the service took it. As a WhatsApp template's
    variable it goes as one line, without the title: Meta refuses a variable with a line
    break, a tab or more than four spaces in a row (error 132018), and Apprise would put the
    title before the body with a line break."""
    if _whatsapp_template(sender):
        title, body = "", _BLANKS.sub(" ", body).strip()
    return bool(sender.notify(body=body, title=title))
