"""Prefect flows: thin orchestration over `ifn_campaign`; each flow calls one library function.

They run against a real Prefect server (`ifn-campaign serve` starts one or uses PREFECT_API_URL),
never Prefect's temporary in-process server; only the tests run them without one, and
tests/conftest.py gives that server the time it needs to start."""
