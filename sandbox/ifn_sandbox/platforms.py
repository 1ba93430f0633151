"""The three platforms on loopback, ready to publish to: the Graph sandbox (Instagram and the
Facebook Page), the YouTube sandbox, and a media host serving the card folder they fetch from.

`settings(base)` returns settings whose URLs and `bpipi` accounts point at them; their secrets
are put in the environment as IFN_SECRET_* (sandbox credentials, not real ones). The demo and the
publisher tests use this, so both publish exactly as production would, only to local servers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.publishing.media_host import MediaHost
from ifn_campaign.secrets import env_name
from ifn_sandbox.graph import GraphAccount, GraphSandbox
from ifn_sandbox.youtube import YouTubeChannel, YouTubeSandbox

ACCOUNT = "bpipi"
GRAPH_SECRET, YT_CLIENT_SECRET, YT_REFRESH_SECRET = (  # secret names, not values
    "sandbox-graph-token",
    "sandbox-yt-client-secret",
    "sandbox-yt-refresh",
)
SECRETS = {
    "sandbox-graph-token": GraphAccount().token,
    "sandbox-yt-client-secret": "sandbox-client-secret",
    "sandbox-yt-refresh": YouTubeChannel().refresh_token,
}


class PlatformSandboxes:
    """Graph, YouTube and the media host, started and stopped together."""

    def __init__(
        self,
        cards_dir: Path,
        *,
        graph_port: int = 0,
        youtube_port: int = 0,
        media_port: int = 0,
        **graph_options: Any,
    ) -> None:
        """Ports 0 (the default): any free port; `ifn-campaign rehearse` gives fixed ones."""
        cards_dir.mkdir(parents=True, exist_ok=True)
        # absolute, as every path setting is once read: `settings()` puts it in cards.cache_dir
        self.cards_dir = cards_dir.absolute()
        self.graph = GraphSandbox(port=graph_port, **graph_options)
        self.youtube = YouTubeSandbox(port=youtube_port)
        self.media = MediaHost(cards_dir, port=media_port)
        self._saved: dict[str, str | None] = {}

    def start(self) -> PlatformSandboxes:
        """Serve all three; when one cannot (its port taken), none is left running."""
        self.media.start()  # bound when made: this cannot fail
        try:
            self.graph.start()
            self.youtube.start()
        except BaseException:
            self.youtube.stop()
            self.graph.stop()
            self.media.stop()
            raise
        for name, value in SECRETS.items():
            key = env_name(name)
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def stop(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self.media.stop()
        self.youtube.stop()
        self.graph.stop()

    def __enter__(self) -> PlatformSandboxes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def environ(self, settings: Settings) -> dict[str, str]:
        """The IFN_* variables that give a process (a flow, a killed publisher) these settings."""
        return {
            "IFN_CARDS__CACHE_DIR": str(settings.cards.cache_dir),
            "IFN_INSTAGRAM__GRAPH_URL": settings.instagram.graph_url,
            "IFN_FACEBOOK__GRAPH_URL": settings.facebook.graph_url,
            "IFN_YOUTUBE__API_URL": settings.youtube.api_url,
            "IFN_YOUTUBE__UPLOAD_URL": settings.youtube.upload_url,
            "IFN_YOUTUBE__TOKEN_URL": settings.youtube.token_url,
            "IFN_YOUTUBE__TOKENINFO_URL": settings.youtube.tokeninfo_url,
            "IFN_PUBLISH__MEDIA_BASE_URL": settings.publish.media_base_url,
            "IFN_ACCOUNTS": json.dumps(
                {
                    channel: {name: a.model_dump(exclude_none=True) for name, a in named.items()}
                    for channel, named in settings.accounts.items()
                }
            ),
            **{env_name(name): value for name, value in SECRETS.items()},
        }

    def settings(self, base: Settings) -> Settings:
        account = GraphAccount()
        channel = YouTubeChannel()
        graph_url = f"{self.graph.url}/v25.0"
        return base.model_copy(
            update={
                "cards": base.cards.model_copy(update={"cache_dir": self.cards_dir}),
                "instagram": base.instagram.model_copy(update={"graph_url": graph_url}),
                "facebook": base.facebook.model_copy(update={"graph_url": graph_url}),
                "youtube": base.youtube.model_copy(
                    update={
                        "api_url": f"{self.youtube.url}/youtube/v3",
                        "upload_url": f"{self.youtube.url}/upload/youtube/v3",
                        "token_url": f"{self.youtube.url}/token",
                        "tokeninfo_url": f"{self.youtube.url}/tokeninfo",
                    }
                ),
                "publish": base.publish.model_copy(update={"media_base_url": self.media.url}),
                "accounts": {
                    "instagram": {
                        ACCOUNT: AccountSettings(
                            ig_user_id=account.ig_user_id, token_secret=GRAPH_SECRET
                        )
                    },
                    "facebook": {
                        ACCOUNT: AccountSettings(page_id=account.page_id, token_secret=GRAPH_SECRET)
                    },
                    "youtube": {
                        ACCOUNT: AccountSettings(
                            channel_id=channel.channel_id,
                            client_id=self.youtube.client_id,
                            client_secret_secret=YT_CLIENT_SECRET,
                            refresh_token_secret=YT_REFRESH_SECRET,
                        )
                    },
                },
            }
        )
