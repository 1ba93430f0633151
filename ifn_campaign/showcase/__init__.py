"""The public showcase (issue 19): a static site of featured members, their consented public
fields, cards and post links, filterable by province and category, with a page of how fairly
features spread. `build_showcase` writes it; `rebuild_after_publish` is the publish run's hook
when `showcase.dir` is set."""

from __future__ import annotations

from ifn_campaign.showcase.hook import ShowcaseRun, rebuild_after_publish
from ifn_campaign.showcase.site import ShowcaseReport, build_showcase, slug

__all__ = ["ShowcaseReport", "ShowcaseRun", "build_showcase", "rebuild_after_publish", "slug"]
