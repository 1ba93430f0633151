"""The deployments: every scheduled flow once, with its cron string read from `[schedules]`.

`ifn-campaign serve` runs them on this machine; `ifn-campaign deploy` registers them to a work
pool (`ifn_campaign.orchestration.deployments.register`). A new scheduled flow is one more line
here and one
more `schedules.<flow name>` setting.
"""

from __future__ import annotations

from flows.campaign import campaign
from flows.compose import compose
from flows.insights import insights
from flows.notices import notices
from flows.plan import plan_campaign
from flows.publish import publish_due, reconcile_posts
from flows.report import report
from flows.sync import sync_registry
from ifn_campaign.orchestration.deployments import Deployment

DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(sync_registry),  # the flow also holds the registry's sync lock
    Deployment(plan_campaign),
    Deployment(compose),
    # several runs at once are safe (claims), so a slow run never delays the next slot
    Deployment(publish_due, one_at_a_time=False),
    Deployment(reconcile_posts),
    Deployment(notices),  # member notices: queued and sent exactly once (claims)
    Deployment(insights),  # hourly: figures read back at each mark after a post went live
    Deployment(report),  # monthly: last month's page and artifacts
    Deployment(campaign, scheduled=False),  # one-off: `prefect deployment run campaign/...`
)
