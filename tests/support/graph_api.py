"""Talking to the Graph API sandbox bare, for the tests of the sandbox itself: a minimal client
(the sandbox's answers are under test, not a publisher), Meta's exact error shape, JPEG bytes to
serve as media."""

from __future__ import annotations

import io
from typing import Any

import requests
from PIL import Image

from ifn_sandbox.graph import GraphAccount

__all__ = ["ERROR_KEYS", "Api", "graph_error", "jpeg"]

ACCOUNT = GraphAccount()
IG, TOKEN = ACCOUNT.ig_user_id, ACCOUNT.token

ERROR_KEYS = {
    "message",
    "type",
    "code",
    "error_subcode",
    "error_user_title",
    "error_user_msg",
    "is_transient",
    "fbtrace_id",
}


def jpeg(width: int = 1080, height: int = 1080, mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (200, 120, 40, 0)[: len(mode)] or 0).save(buffer, fmt)
    return buffer.getvalue()


class Api:
    """A bare client: the sandbox's answers are what is under test, not a publisher."""

    def __init__(self, session: requests.Session, base: str) -> None:
        self.session, self.base = session, base

    def call(self, method: str, path: str, token: str | None = TOKEN, **kw: Any) -> Any:
        params = dict(kw.pop("params", {}))
        if token is not None:
            params["access_token"] = token
        return self.session.request(method, f"{self.base}{path}", params=params, timeout=5, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.call("POST", path, **kw)

    def create(self, url: str, token: str = TOKEN, **params: Any) -> requests.Response:
        return self.post(f"/{IG}/media", token=token, data={"image_url": url, **params})

    def status(self, container: str) -> str:
        body = self.get(f"/{container}", params={"fields": "status_code,status"}).json()
        return str(body["status_code"])

    def publish(self, container: str) -> requests.Response:
        return self.post(f"/{IG}/media_publish", params={"creation_id": container})


def graph_error(
    response: requests.Response,
    status: int,
    code: int,
    subcode: int | None = None,
    *,
    transient: bool = False,
) -> dict[str, Any]:
    """Asserts Meta's error shape exactly and returns the error object."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= ERROR_KEYS
    assert {"message", "type", "code", "is_transient", "fbtrace_id"} <= set(error)
    assert error["type"] == "OAuthException"
    assert (error["code"], error.get("error_subcode")) == (code, subcode)
    assert error["is_transient"] is transient
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fbtrace_id"], str) and len(error["fbtrace_id"]) >= 11
    return error
