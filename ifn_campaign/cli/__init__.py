"""The CLI's commands: `app` holds the set-up, member, card and caption commands and assembles
the others, one module per area (plan, review, publish, ledger, report, doctor, serve)."""
