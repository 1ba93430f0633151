"""The CLI's commands, one module per stage; `ifn_campaign.cli.app` assembles them."""
