"""What the sync reads from: pages of raw records, resumable by an opaque cursor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Page:
    """One page of raw (unvalidated) records and the cursor that fetches the next one."""

    records: list[Any]
    cursor: str | None
    next_cursor: str | None


class MemberSource(Protocol):
    """The registry over HTTP or a staff CSV export; the sync asks for nothing else."""

    name: str
    supports_incremental: bool

    def pages(self, since: datetime | None = None, cursor: str | None = None) -> Iterator[Page]:
        """Pages from `cursor` (None: the start), only members updated since `since` if given."""
        ...
