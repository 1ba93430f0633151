"""The artifacts the flows leave in the Prefect UI, made one way.

Prefect picks the sync or async implementation of `create_*_artifact` from the flow that runs
the caller. The stage bodies are sync, but the `campaign` flow is async and runs them in a
worker thread, where Prefect would hand back an un-awaited coroutine (and no artifact); these
always use the sync implementation.
"""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact


def markdown_artifact(key: str, markdown: str, description: str | None = None) -> None:
    create_markdown_artifact(key=key, markdown=markdown, description=description, _sync=True)  # type: ignore[call-arg]


def table_artifact(key: str, table: list[dict[str, Any]], description: str | None = None) -> None:
    create_table_artifact(key=key, table=table, description=description, _sync=True)  # type: ignore[call-arg]
