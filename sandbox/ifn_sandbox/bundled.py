"""Where the sandbox's shipped data is (the sample registry, the demo's campaign): the same lookup
as the product's (`ifn_campaign.bundled`), for this distribution. Its wheel maps the repository's
`assets/sample_registry` and `assets/demo` into `ifn_sandbox/_bundled/assets`; an editable
install reads them from the checkout, two directories above this package (`sandbox/ifn_sandbox`).
"""

from __future__ import annotations

from pathlib import Path

from ifn_campaign.bundled import shipped


def assets(*parts: str) -> Path:
    """A path under the sandbox's shipped assets (`assets("sample_registry")`)."""
    return shipped("ifn_sandbox", "assets", checkout_levels=2).joinpath(*parts)
