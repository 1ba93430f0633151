"""The one place channel clients are built: from the settings (each platform's URLs, each
account's ids and secret names) and a secret lookup, so the publisher, reconcile, takedown and
`doctor` talk to the same URLs with the same credentials. Real platforms and the sandboxes
differ only in the settings and secrets given.

```python
clients = channel_clients(settings, secrets)        # secrets: name -> value
clients[Channel.FACEBOOK, "bpipi"].read_back(post_id)  # any channel: the ChannelAdapter
clients.graph(Channel.INSTAGRAM, "bpipi")           # the Graph transport of one account
```

Clients are made on first use and kept (one per account: a Graph client remembers its rate
limit block); `close()` closes their HTTP sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from ifn_campaign.channels.adapter import ChannelAdapter
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.facebook import FacebookPage
from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.channels.instagram import InstagramAccount
from ifn_campaign.channels.youtube import (
    OAuthCredentials,
    TokenSource,
    YouTubeChannel,
    YouTubeClient,
)
from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.errors import SettingsError
from ifn_campaign.secrets import secret

__all__ = ["QUICK", "ChannelClients", "Tuning", "channel_clients", "graph_url"]

SecretLookup = Callable[[str], str]
"""A secret's value by its name (`ifn_campaign.secrets.Secrets`, or any such callable)."""


@dataclass(frozen=True)
class Tuning:
    """Timeouts, deadlines, the answer cap and retries of the clients. The defaults are the
    publisher's (patient: a post is worth waiting for); `QUICK` is doctor's (a check should
    answer within seconds).

    A read timeout bounds each wait for bytes; a deadline the whole answer of one call
    (headers and body), so a server dripping a byte at a time cannot hold a run. An upload
    chunk or thumbnail gets one more second per `youtube_upload_min_rate` bytes it sends.
    `json_max_bytes` caps every answer's body, read as it streams."""

    connect_timeout: float = 5.0
    graph_read_timeout: float = 30.0
    youtube_read_timeout: float = 60.0
    token_read_timeout: float = 30.0
    graph_deadline: float = 60.0
    youtube_deadline: float = 90.0
    token_deadline: float = 60.0
    youtube_upload_min_rate: float = 32 * 1024  # bytes a second: 2 MiB chunks get 64 s more
    json_max_bytes: int = 8 * 1024 * 1024
    graph_retries: int = 4
    graph_backoff_factor: float = 0.5
    graph_backoff_max: float = 30.0
    graph_jitter: float = 0.5


QUICK = Tuning(
    connect_timeout=5.0,
    graph_read_timeout=15.0,
    youtube_read_timeout=15.0,
    token_read_timeout=15.0,
    graph_deadline=20.0,
    youtube_deadline=20.0,
    token_deadline=20.0,
    graph_retries=1,
    graph_backoff_factor=0.2,
    graph_backoff_max=2.0,
    graph_jitter=0.1,
)


def graph_url(settings: Settings, channel: Channel) -> str:
    """The Graph API root an Instagram or Facebook account is called at."""
    roots = {
        Channel.INSTAGRAM: settings.instagram.graph_url,
        Channel.FACEBOOK: settings.facebook.graph_url,
    }
    if channel not in roots:
        raise SettingsError(f"{channel} is not a Graph API channel")
    return roots[channel]


_ADAPTER_TYPES: dict[Channel, type[InstagramAccount | FacebookPage | YouTubeChannel]] = {
    Channel.INSTAGRAM: InstagramAccount,
    Channel.FACEBOOK: FacebookPage,
    Channel.YOUTUBE: YouTubeChannel,
}


class ChannelClients(Mapping[tuple[Channel, str], ChannelAdapter]):
    """The clients of the configured accounts, by (channel, account name), made on first use.

    As a mapping it gives each account's `ChannelAdapter`; `graph`, `youtube` and
    `token_source` give the transports underneath for the channel-specific steps and checks."""

    def __init__(
        self, settings: Settings, secrets: SecretLookup = secret, *, tuning: Tuning = Tuning()
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.tuning = tuning
        self._graph: dict[tuple[Channel, str], GraphClient] = {}
        self._tokens: dict[str, TokenSource] = {}
        self._youtube: dict[str, YouTubeClient] = {}
        self._adapters: dict[tuple[Channel, str], ChannelAdapter] = {}

    # --- the mapping: every configured account ----------------------------------------------

    def __getitem__(self, key: tuple[Channel, str]) -> ChannelAdapter:
        """The account's adapter; `ConfigError` (what to add to the settings) when there is no
        such account, as an account a post names must be configured."""
        channel, name = Channel(key[0]), key[1]
        if (channel, name) not in self._adapters:
            self._adapters[channel, name] = self._adapter(channel, name)
        return self._adapters[channel, name]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2 or key[0] not in set(Channel):
            return False
        return key[1] in self.settings.accounts.get(key[0], {})

    def get(  # type: ignore[override]
        self, key: tuple[Channel, str], default: ChannelAdapter | None = None
    ) -> ChannelAdapter | None:
        """The account's adapter, or `default` when the settings name no such account."""
        if key not in self:
            return default
        return self[key]

    def __iter__(self) -> Iterator[tuple[Channel, str]]:
        for channel in Channel:
            for name in self.settings.accounts.get(channel, {}):
                yield channel, name

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @staticmethod
    def can_take_down(channel: Channel) -> bool:
        """Whether the channel's API can delete a post, known without an account or a client
        (an account gone from the settings still has posts whose takedown is decided)."""
        return _ADAPTER_TYPES[Channel(channel)].can_take_down

    def _adapter(self, channel: Channel, name: str) -> ChannelAdapter:
        match channel:
            case Channel.INSTAGRAM:
                ig_user = self.account(channel, name).ig_user_id or ""
                wait = self.settings.instagram.container_wait_seconds
                return InstagramAccount(self.graph(channel, name), ig_user, container_wait=wait)
            case Channel.FACEBOOK:
                page = self.account(channel, name).page_id or ""
                fb = self.settings.facebook
                return FacebookPage(
                    self.graph(channel, name),
                    page,
                    upload_file=fb.photo_upload == "file",
                    schedule_max_days=fb.schedule_max_days,
                )
            case Channel.YOUTUBE:
                category = self.settings.youtube.category_id
                return YouTubeChannel(self.youtube(name), category_id=category)

    # --- accounts and transports ------------------------------------------------------------

    def account(self, channel: Channel, name: str) -> AccountSettings:
        """The account's settings; `ConfigError` naming the table to add when there is none."""
        found = self.settings.accounts.get(channel, {}).get(name)
        if found is None:
            raise SettingsError(
                f"no {channel} account {name!r} in the settings: add [accounts.{channel}.{name}]"
            )
        return found

    def graph(self, channel: Channel, name: str) -> GraphClient:
        """The Graph client of an Instagram or Facebook account (its token read once)."""
        channel = Channel(channel)
        key = (channel, name)
        if key not in self._graph:
            account = self.account(channel, name)
            if not account.token_secret:
                raise SettingsError(f"accounts.{channel}.{name}.token_secret is not set")
            base = graph_url(self.settings, channel)
            t = self.tuning
            self._graph[key] = GraphClient(
                base,
                self.secrets(account.token_secret),
                connect_timeout=t.connect_timeout,
                read_timeout=t.graph_read_timeout,
                deadline=t.graph_deadline,
                max_bytes=t.json_max_bytes,
                retries=t.graph_retries,
                backoff_factor=t.graph_backoff_factor,
                backoff_max=t.graph_backoff_max,
                jitter=t.graph_jitter,
                usage_stop=self.settings.publish.usage_stop_percent,
            )
        return self._graph[key]

    def graph_clients(self) -> list[tuple[tuple[Channel, str], GraphClient]]:
        """The Graph clients made so far, by (channel, account)."""
        return list(self._graph.items())

    def token_source(self, name: str) -> TokenSource:
        """The OAuth token source of a YouTube channel (client id, client secret and refresh
        token from the settings and the secret lookup)."""
        if name not in self._tokens:
            account = self.account(Channel.YOUTUBE, name)
            missing = [
                key
                for key in ("client_id", "client_secret_secret", "refresh_token_secret")
                if not getattr(account, key)
            ]
            if missing:
                raise SettingsError(f"accounts.{Channel.YOUTUBE}.{name}: set {', '.join(missing)}")
            credentials = OAuthCredentials(
                account.client_id or "",
                self.secrets(account.client_secret_secret or ""),
                self.secrets(account.refresh_token_secret or ""),
            )
            self._tokens[name] = TokenSource(
                self.settings.youtube.token_url,
                credentials,
                timeout=(self.tuning.connect_timeout, self.tuning.token_read_timeout),
                deadline=self.tuning.token_deadline,
                max_bytes=self.tuning.json_max_bytes,
            )
        return self._tokens[name]

    def youtube(self, name: str) -> YouTubeClient:
        """The YouTube client of a channel."""
        if name not in self._youtube:
            yt = self.settings.youtube
            self._youtube[name] = YouTubeClient(
                yt.api_url,
                yt.upload_url,
                self.token_source(name),
                connect_timeout=self.tuning.connect_timeout,
                read_timeout=self.tuning.youtube_read_timeout,
                deadline=self.tuning.youtube_deadline,
                upload_min_rate=self.tuning.youtube_upload_min_rate,
                max_bytes=self.tuning.json_max_bytes,
            )
        return self._youtube[name]

    def close(self) -> None:
        """Close the HTTP sessions of the clients made so far."""
        for client in self._graph.values():
            client.close()
        for youtube in self._youtube.values():
            youtube.close()
        for tokens in self._tokens.values():
            tokens.close()

    def __enter__(self) -> ChannelClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def channel_clients(
    settings: Settings, secrets: SecretLookup = secret, *, tuning: Tuning = Tuning()
) -> ChannelClients:
    """The clients of every account in `settings`, reading secrets through `secrets`: what the
    publisher, reconcile, takedown and doctor use (`wiring.Resources` hands it out)."""
    return ChannelClients(settings, secrets, tuning=tuning)
