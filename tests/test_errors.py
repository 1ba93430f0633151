"""Our errors survive pickling (compose's worker processes send them back to the flow) with their
type, message and attributes, whatever their constructors take."""

from __future__ import annotations

import inspect
import pickle

import pytest

from ifn_campaign import errors
from ifn_campaign.errors import (
    GraphOutcomeUnknown,
    GraphPermissionMissing,
    GraphTransient,
    IFNError,
    ImageUnusable,
    MediaRefused,
    RegistryResponseError,
    TemplateError,
)

EXAMPLES: list[IFNError] = [
    TemplateError("unknown key 'colour'", file="sorotan.toml", layer="name", key="colour"),
    ImageUnusable("corrupt", "truncated JPEG"),
    MediaRefused("too_large", "12 MB over the 8 MB cap", url="http://127.0.0.1/x.jpg"),
    RegistryResponseError("HTTP 502", url="http://127.0.0.1/api", status=502),
    GraphTransient("try later", retry_after=30.0, code=2, http_status=503),
    GraphOutcomeUnknown("lost answer", cause=GraphTransient("reset"), method="POST"),
    GraphPermissionMissing("missing", permissions=("pages_manage_posts",), code=200),
]


def _every_error_class() -> list[type[IFNError]]:
    return [
        cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, IFNError)
    ]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_an_error_comes_back_from_pickle_whole(error: IFNError) -> None:
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert str(back) == str(error) and back.args == error.args
    assert vars(back).keys() == vars(error).keys()
    for name, value in vars(error).items():
        assert str(getattr(back, name)) == str(value)


def test_every_error_class_pickles() -> None:
    """Classes that take only a message, built the plain way."""
    tried = 0
    for cls in _every_error_class():
        try:
            error = cls("what went wrong")
        except TypeError:  # needs more than a message: covered by EXAMPLES
            continue
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is cls and str(back) == "what went wrong"
        tried += 1
    assert tried >= 10
