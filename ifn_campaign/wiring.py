"""The one wiring point: `Resources(settings)` holds what every stage reaches outside itself.

The CLI, the flows, `doctor` and the demo build one from the settings and hand it to the stages
(`ifn_campaign.orchestration.stages`): the database engine (made once, disposed on close), the
secret lookup (`IFN_SECRET_<NAME>`, then a Prefect Secret block: `ifn_campaign.secrets.Secrets`),
the registry client, the channel clients (`channels.clients.channel_clients`) and the publisher
that uses them. Real and sandbox platforms differ only in the settings given (their URLs) and
the secrets the lookup finds.

    with Resources.load(config_path) as res:
        summary = plan_stage(res, weeks=4)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings, load_settings
from ifn_campaign.secrets import Secrets

if TYPE_CHECKING:
    from ifn_campaign.channels.clients import ChannelClients
    from ifn_campaign.orchestration.gates import AccountGate
    from ifn_campaign.publishing.publisher import Publisher
    from ifn_campaign.registry.client import RegistryClient
    from ifn_campaign.registry.media import MediaFetcher

__all__ = ["Resources"]


class Resources:
    """Settings, engine, secrets and clients for one command or flow run; a context manager
    that disposes the engine at the end. The engine is made on first use, so a command that
    never touches the database (or fails before) opens none."""

    def __init__(self, settings: Settings, *, secrets: Secrets | None = None) -> None:
        self.settings = settings
        self.secrets = secrets if secrets is not None else Secrets()
        self._engine: Engine | None = None
        self._clients: ChannelClients | None = None

    @classmethod
    def load(cls, config_path: str | Path | None = None) -> Resources:
        """From the settings file (`config_path`, else $IFN_CONFIG or ./ifn-campaign.toml) and
        the IFN_ variables: how a flow run or a worker process starts."""
        return cls(load_settings(Path(config_path) if config_path else None))

    # --- the database ------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine on the existing, migrated database (`store.open_store`), made once."""
        if self._engine is None:
            self._engine = store.open_store(self.settings.database.url)
        return self._engine

    def session(self) -> Session:
        """A new ORM session on the engine; the caller closes it (`with res.session() as s`)."""
        return Session(self.engine)

    # --- secrets and clients -----------------------------------------------------------------

    def registry_token(self) -> str | None:
        """The registry's bearer token: `registry.token` (IFN_REGISTRY__TOKEN), else the secret
        named by `registry.token_secret_block` through the one secret lookup, else none."""
        registry = self.settings.registry
        if registry.token is not None:
            return registry.token.get_secret_value()
        if registry.token_secret_block:
            return self.secrets(registry.token_secret_block)
        return None

    def registry_client(self, on_retry: Callable[[str], None] | None = None) -> RegistryClient:
        """A client of the configured registry with its token; close it (`with`)."""
        from ifn_campaign.registry.client import RegistryClient

        return RegistryClient(self.settings.registry, self.registry_token(), on_retry=on_retry)

    def media_fetcher(self, fetch: bool = True) -> MediaFetcher | None:
        """The safe media fetcher when media are fetched (`fetch` and `sync.fetch_media`)."""
        from ifn_campaign.registry.media import MediaFetcher

        if not (fetch and self.settings.sync.fetch_media):
            return None
        return MediaFetcher(self.settings.media, stored=self.settings.stored)

    def channel_clients(self) -> ChannelClients:
        """The clients of every configured account (`channels.clients.channel_clients`, with
        this secret lookup), made once and closed with these resources. (Doctor makes its own
        with quick timeouts, reading secrets through its `SecretReader`.)"""
        from ifn_campaign.channels.clients import channel_clients

        if self._clients is None:
            self._clients = channel_clients(self.settings, self.secrets)
        return self._clients

    def publisher(self, *, worker: str | None = None, gate: AccountGate | None = None) -> Publisher:
        """The publisher on this engine, with the platform clients of the settings' accounts."""
        from ifn_campaign.publishing.publisher import Publisher

        return Publisher(
            self.engine, self.settings, clients=self.channel_clients(), worker=worker, gate=gate
        )

    # --- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel clients and dispose the engine (its pooled connections); a later
        use makes new ones. The engine is disposed even when closing a client fails, so a flow
        that ends on that error leaves no pooled connection behind."""
        clients, self._clients = self._clients, None
        try:
            if clients is not None:
                clients.close()
        finally:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
