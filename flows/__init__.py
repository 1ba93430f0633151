"""Prefect flows: thin orchestration over `ifn_campaign`; each flow calls one library function."""

import os

# The local Prefect server takes 10-20 s to start on a 2-core machine; Prefect's default gives up
# sooner. Set before Prefect reads its settings.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
