"""channel_clients: every configured account's client built in one place, from the settings and
a secret lookup alone, and each one a ChannelAdapter that finds, reads back and takes down a
post on the sandboxes over loopback."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from ifn_campaign.channels import facebook, instagram
from ifn_campaign.channels.adapter import ChannelAdapter, Sought
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import QUICK, ChannelClients, channel_clients
from ifn_campaign.channels.facebook import FacebookPage
from ifn_campaign.channels.instagram import InstagramAccount
from ifn_campaign.channels.youtube import YouTubeChannel
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    ChannelError,
    ChannelNotFound,
    ChannelRefused,
    ChannelTransient,
    ConfigError,
)
from ifn_campaign.publishing.media_host import public_url
from ifn_sandbox.platforms import ACCOUNT, GRAPH_SECRET, SECRETS, PlatformSandboxes

CAPTION = "Sorotan Anggota IFN: Sepatu Ciomas, Bogor"


@pytest.fixture
def platforms(tmp_path: Path) -> Iterator[PlatformSandboxes]:
    with PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0) as sandboxes:
        yield sandboxes


@pytest.fixture
def settings(platforms: PlatformSandboxes) -> Settings:
    return platforms.settings(Settings())


@pytest.fixture
def looked_up() -> list[str]:
    return []


@pytest.fixture
def clients(settings: Settings, looked_up: list[str]) -> Iterator[ChannelClients]:
    def lookup(name: str) -> str:
        looked_up.append(name)
        return SECRETS[name]

    with channel_clients(settings, lookup) as made:
        yield made


def card(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "card.jpg"
    Image.new("RGB", (1080, 1350), (20, 90, 160)).save(path, "JPEG")
    return path


def test_every_configured_account_and_nothing_read_before_it_is_used(
    clients: ChannelClients, settings: Settings, looked_up: list[str]
) -> None:
    assert set(clients) == {(channel, ACCOUNT) for channel in Channel}
    assert len(clients) == 3
    assert looked_up == []  # made on first use: a run that posts to one account reads one token
    kinds = {
        Channel.INSTAGRAM: InstagramAccount,
        Channel.FACEBOOK: FacebookPage,
        Channel.YOUTUBE: YouTubeChannel,
    }
    for (channel, name), adapter in clients.items():
        assert isinstance(adapter, kinds[channel]) and isinstance(adapter, ChannelAdapter)
        assert adapter.channel == channel and clients[channel, name] is adapter
    assert clients.graph(Channel.INSTAGRAM, ACCOUNT).base_url == settings.instagram.graph_url
    assert clients.youtube(ACCOUNT).upload_url == settings.youtube.upload_url
    # through the lookup given, once per account (Instagram and Facebook share a token here)
    once_each = [GRAPH_SECRET, GRAPH_SECRET, *(SECRETS.keys() - {GRAPH_SECRET})]
    assert sorted(looked_up) == sorted(once_each)


def test_an_unknown_account_says_what_to_add(clients: ChannelClients) -> None:
    assert (Channel.FACEBOOK, "nobody") not in clients
    assert clients.get((Channel.FACEBOOK, "nobody")) is None
    with pytest.raises(ConfigError, match=r"add \[accounts\.facebook\.nobody\]"):
        clients[Channel.FACEBOOK, "nobody"]


def test_a_missing_secret_name_is_a_config_error(settings: Settings) -> None:
    broken = settings.model_copy(
        update={
            "accounts": {
                **settings.accounts,
                Channel.YOUTUBE: {
                    ACCOUNT: settings.accounts["youtube"][ACCOUNT].model_copy(
                        update={"refresh_token_secret": None}
                    )
                },
            }
        }
    )
    with pytest.raises(ConfigError, match="refresh_token_secret"):
        channel_clients(broken, SECRETS.__getitem__)[Channel.YOUTUBE, ACCOUNT]


def test_quick_tuning_reaches_the_clients(settings: Settings) -> None:
    quick = channel_clients(settings, SECRETS.__getitem__, tuning=QUICK)
    graph = quick.graph(Channel.FACEBOOK, ACCOUNT)
    assert (graph.read_timeout, graph.retries) == (QUICK.graph_read_timeout, QUICK.graph_retries)
    assert quick.youtube(ACCOUNT).timeout[1] == QUICK.youtube_read_timeout


def test_facebook_find_read_back_and_take_down(
    clients: ChannelClients, platforms: PlatformSandboxes
) -> None:
    page = clients[Channel.FACEBOOK, ACCOUNT]
    assert isinstance(page, FacebookPage) and page.can_take_down
    now = datetime.now(UTC)
    slot = (now + timedelta(days=2)).replace(microsecond=0)
    made = facebook.post_photo(
        page.client,
        page.page_id,
        image_path=card(platforms.cards_dir),
        caption=CAPTION,
        scheduled_at=slot,
        now=now,
    )
    found = page.find(Sought(CAPTION, now - timedelta(hours=1), scheduled_at=slot))
    assert found is not None and (found.remote_id, found.live) == (made.post_id, False)
    assert page.find(Sought("another caption", now - timedelta(hours=1), scheduled_at=slot)) is None
    copy = page.read_back(made.post_id)
    assert (copy.live, copy.live_at) == (False, None)
    page.take_down(made.post_id)
    with pytest.raises(ChannelNotFound):
        page.read_back(made.post_id)
    with pytest.raises(ChannelNotFound):  # twice: already gone, which the caller may ignore
        page.take_down(made.post_id)


def test_instagram_find_and_read_back_but_no_take_down(
    clients: ChannelClients, platforms: PlatformSandboxes, settings: Settings
) -> None:
    account = clients[Channel.INSTAGRAM, ACCOUNT]
    assert isinstance(account, InstagramAccount) and not account.can_take_down
    since = datetime.now(UTC) - timedelta(hours=1)
    url = public_url(
        settings.publish.media_base_url, platforms.cards_dir, card(platforms.cards_dir)
    )
    container = instagram.create_image_container(account.client, account.ig_user_id, url, CAPTION)
    instagram.wait_until_finished(account.client, container, timeout=10)
    media = instagram.publish(account.client, account.ig_user_id, container)
    found = account.find(Sought(CAPTION, since))
    assert found is not None and found.remote_id == media and found.live and found.link
    assert account.read_back(media).link == found.link
    with pytest.raises(ChannelRefused, match="Instagram app"):
        account.take_down(media)
    assert [m.id for m in platforms.graph.media()] == [media]  # still there


def test_youtube_found_through_its_upload_session(clients: ChannelClients, tmp_path: Path) -> None:
    channel = clients[Channel.YOUTUBE, ACCOUNT]
    assert isinstance(channel, YouTubeChannel) and channel.can_take_down
    video = tmp_path / "short.mp4"
    video.write_bytes(random.Random(7).randbytes(300_000))
    since = datetime.now(UTC) - timedelta(hours=1)
    snippet = {"title": "Sorotan Anggota IFN", "description": CAPTION, "categoryId": "22"}
    status = {"privacyStatus": "public", "selfDeclaredMadeForKids": False}
    session = channel.client.start_upload(video, snippet, status)
    size = video.stat().st_size
    sought = Sought(CAPTION, since, upload_session_url=session, upload_size=size)
    assert channel.find(Sought(CAPTION, since)) is None  # no session: nothing was sent
    assert channel.find(sought) is None  # a session without its bytes made no video
    uploaded = channel.client.upload(session, video)
    found = channel.find(sought)
    assert found is not None and found.remote_id == uploaded["id"] and found.live
    assert found.link == f"https://www.youtube.com/shorts/{uploaded['id']}"
    channel.take_down(found.remote_id)
    with pytest.raises(ChannelNotFound):
        channel.read_back(found.remote_id)


def test_transport_failures_arrive_as_channel_errors_without_the_token(
    settings: Settings,
) -> None:
    """A platform that does not answer (a closed port): the clients wrap it into a transient
    ChannelError; no requests exception reaches the caller, and no message holds a token."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = settings.model_copy(
        update={
            "facebook": settings.facebook.model_copy(update={"graph_url": f"{closed}/v25.0"}),
            "youtube": settings.youtube.model_copy(
                update={"api_url": f"{closed}/youtube/v3", "token_url": f"{closed}/token"}
            ),
        }
    )
    clients = channel_clients(down, SECRETS.__getitem__, tuning=QUICK)
    clients.graph(Channel.FACEBOOK, ACCOUNT)._sleep = lambda _s: None
    clients.youtube(ACCOUNT)._sleep = lambda _s: None
    for channel in (Channel.FACEBOOK, Channel.YOUTUBE):
        with pytest.raises(ChannelError) as caught:
            clients[channel, ACCOUNT].read_back("123_456")
        assert isinstance(caught.value, ChannelTransient), caught.value
        assert not any(value in str(caught.value) for value in SECRETS.values())
