"""The channels posts go to: the `Channel` enum (channel.py), the adapter interface every channel
implements (adapter.py: publish through the publisher's step recorder, find, read back,
take down), the one place their clients are built
(clients.py), the Graph API transport (graph.py) with Instagram's and Facebook's operations on
it, and the YouTube Data API client (youtube.py). Every failure is a `ChannelError` kind."""
