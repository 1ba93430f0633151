"""Member notices (issue 19): who is told what about their features, and how it reaches them.

`contacts` decides where a member may be told (consent, unsubscribes, refused addresses),
`compose` renders each message from the staff-editable templates under `templates/notices/`,
`outbox` queues what is due as `Notice` rows (rendered once, so a retry sends the same bytes
with the same Message-ID); `delivery` sends the outbox over SMTP and Apprise.
"""
