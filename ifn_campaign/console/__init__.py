"""The staff console: BPIPI's campaign team reviews, schedules and answers for every feature in a
browser (`ifn-campaign console`).

A thin door like the CLI: every action calls the library function the CLI command calls
(`ifn_campaign.posts.actions`, the planner, the publisher's re-authorisation, the ledger). Pages
are server-rendered Jinja2 templates (`templates/console/`), usable without JavaScript.
"""
