"""Every error ifn-campaign raises on purpose, one branch per boundary.

```
IFNError                      root: the CLI prints its message on one line and exits non-zero
├── ConfigError               the settings file or an IFN_... variable is wrong
├── StoreError                the database cannot be used
│   └── NotMigratedError      the schema is missing or behind: run `ifn-campaign db upgrade`
├── RegistryError             the member registry (HTTP or CSV) failed as a whole
│   ├── RegistryUnreachable   no answer after every retry
│   └── RegistryResponseError an answer we cannot use (status, body)
├── SourceFileError           a CSV export cannot be read at all
├── MediaRefused              one media URL was not fetched; `reason` is a stable code
├── RenderError               a card could not be made
│   ├── TemplateError         a card template is invalid (file, layer, key)
│   ├── ImageUnusable         a source image cannot be used; `reason` is a stable code
│   └── CaptionTemplateError  a caption template is invalid (file, line)
└── LedgerError               an unknown member or post, or a post in the wrong state
```

Errors say what to do next and carry their context; none of them ever includes a secret.
"""

from __future__ import annotations


class IFNError(Exception):
    """Root of every expected failure."""


class ConfigError(IFNError):
    """Settings cannot be loaded or are invalid."""


class StoreError(IFNError):
    """The database is unreachable or unusable."""


class NotMigratedError(StoreError):
    """The schema is missing or older than this code."""


class RegistryError(IFNError):
    """The registry failed as a whole (not one bad record, which is quarantined instead)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class RegistryUnreachable(RegistryError):
    """No usable answer after every retry."""


class RegistryResponseError(RegistryError):
    """The registry answered, but not with something we can use."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class SourceFileError(IFNError):
    """A member export file cannot be read at all."""


class MediaRefused(IFNError):
    """A media URL was not fetched. `reason` is a short stable code stored on the member."""

    def __init__(self, reason: str, detail: str, *, url: str) -> None:
        super().__init__(f"{reason}: {detail} ({url})")
        self.reason = reason
        self.detail = detail
        self.url = url


class RenderError(IFNError):
    """A card could not be made."""


class TemplateError(RenderError):
    """A card template is invalid; the message names the file, the layer and the key."""

    def __init__(
        self, message: str, *, file: str, layer: str | None = None, key: str | None = None
    ) -> None:
        where = file + (f", layer {layer!r}" if layer else "") + (f", key {key!r}" if key else "")
        super().__init__(f"{where}: {message}")
        self.file = file
        self.layer = layer
        self.key = key


class ImageUnusable(RenderError):
    """A source image cannot be used on a card; `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class CaptionTemplateError(RenderError):
    """A caption template cannot be used; the message names the file and line."""

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        super().__init__(f"{file}{f', line {line}' if line else ''}: {message}")
        self.file = file
        self.line = line


class LedgerError(IFNError):
    """A ledger or takedown request cannot be done: unknown member or post, or wrong state."""
