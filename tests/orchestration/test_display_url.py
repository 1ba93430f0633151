"""The one way an address is shown (console's Today page, doctor, errors): never its user info.

The console's copy once cut the user info at the first `@`, so a password holding an `@`
showed its tail on the Today page."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifn_campaign.orchestration.deployment_runs import display_url

# what may stand in a password typed raw into a URL's user info (`/`, `?` and `#` end it)
_SECRET_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Zs"), exclude_characters="/?#[]"
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:p@ss@prefect.bpipi.id:4200/api", "http://prefect.bpipi.id:4200/api"),
        ("https://u:pw@h.example/api?token=x#frag", "https://h.example/api"),
        ("http://127.0.0.1:4200/api", "http://127.0.0.1:4200/api"),
        ("http://[::1]:4200/api", "http://[::1]:4200/api"),
        ("http://u:pw@h:notaport/api", "http://h/api"),
        ("http://u:pa/ss@h/api", "http://u/…"),
        ("u:pw@host/api", "<an address that does not parse>"),
    ],
)
def test_known_addresses(url: str, shown: str) -> None:
    assert display_url(url) == shown


@given(
    user=st.text(_SECRET_CHARS.filter(lambda c: c not in "@:"), max_size=12),
    password=st.text(_SECRET_CHARS, min_size=4, max_size=24),
    path=st.sampled_from(["", "/api", "/prefect/api"]),
    query=st.sampled_from(["", "?token=abcd1234secret", "#frag-secret"]),
)
def test_no_password_or_query_is_ever_shown(
    user: str, password: str, path: str, query: str
) -> None:
    url = f"https://{user}:{password}@prefect.bpipi.id:4200{path}{query}"
    assert display_url(url) == f"https://prefect.bpipi.id:4200{path}"
