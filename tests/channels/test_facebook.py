"""Facebook Page posts over real HTTP against the Graph sandbox: photos by URL and multipart,
native scheduling and its window, read-back, cancelling, and reconciling a lost answer."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from ifn_campaign.channels import facebook
from ifn_campaign.channels.facebook import PagePost, PostState
from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.errors import (
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphPermissionMissing,
    GraphRejected,
    GraphTokenInvalid,
    InvalidValueError,
    ScheduleWindowError,
    UploadTooLarge,
)
from ifn_sandbox.graph import GraphAccount, GraphSandbox
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ACCOUNT = GraphAccount()
PAGE, TOKEN = ACCOUNT.page_id, ACCOUNT.token
CAPTION = "Sorotan Anggota IFN: Sepatu Ciomas, Bogor"


def image(fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1080, 1080), (20, 90, 160)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files() -> Iterator[RegistrySandbox]:
    with RegistrySandbox(members=[]) as sandbox:
        sandbox.add_file("card.jpg", image(), "image/jpeg")
        yield sandbox


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox([ACCOUNT], clock=lambda: T0) as sandbox:
        yield sandbox


@pytest.fixture
def client(graph: GraphSandbox) -> Iterator[GraphClient]:
    with GraphClient(f"{graph.url}/v25.0", TOKEN, sleep=lambda s: None) as graph_client:
        yield graph_client


def card(files: RegistrySandbox) -> str:
    return f"{files.url}/media/card.jpg"


def test_photo_post_by_url_is_published_and_read_back(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    post = facebook.post_photo(client, PAGE, image_url=card(files), caption=CAPTION, now=T0)
    (stored,) = graph.posts()
    assert post == PagePost(photo_id=stored.photo_id or "", post_id=stored.id)
    assert facebook.read_back(client, post.post_id) == PostState(
        permalink_url=stored.permalink_url,
        is_published=True,
        scheduled_publish_time=None,
        created_time=T0,
    )
    assert stored.message == CAPTION and stored.published
    assert facebook.find_published_post(client, PAGE, caption=CAPTION, since=T0) == post.post_id


def test_photo_upload_is_multipart_source(
    client: GraphClient, graph: GraphSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "card.png"
    path.write_bytes(image("PNG"))
    when = T0 + timedelta(days=2)
    post = facebook.post_photo(
        client, PAGE, image_path=path, caption=CAPTION, scheduled_at=when, now=T0
    )
    (record,) = graph.requests.matching(f"/v25.0/{PAGE}/photos", "POST")
    assert record.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = record.body
    assert b'name="source"; filename="card.png"' in body and image("PNG") in body
    assert b'name="published"\r\n\r\nfalse' in body
    assert f'name="scheduled_publish_time"\r\n\r\n{int(when.timestamp())}'.encode() in body
    (stored,) = graph.posts()
    assert (stored.id, stored.image_size) == (post.post_id, len(image("PNG")))
    with pytest.raises(ValueError, match="exactly one"):
        facebook.post_photo(client, PAGE, caption="x", now=T0)
    with pytest.raises(InvalidValueError, match=r"\.png"):
        facebook.post_photo(client, PAGE, image_path=tmp_path / "card.gif", caption="x", now=T0)
    big = tmp_path / "big.png"
    big.write_bytes(image("PNG") + bytes(facebook.MAX_UPLOAD_BYTES))
    with pytest.raises(UploadTooLarge, match=r"big\.png: \d+ bytes; upload at most 4 MB"):
        facebook.post_photo(client, PAGE, image_path=big, caption="x", now=T0)
    assert len(graph.requests.matching(f"/v25.0/{PAGE}/photos", "POST")) == 1


def test_scheduled_photo_lists_reads_back_publishes_and_cancels(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    when = T0 + timedelta(hours=3)
    post = facebook.post_photo(
        client, PAGE, image_url=card(files), caption=CAPTION, scheduled_at=when, now=T0
    )
    state = facebook.read_back(client, post.post_id)
    assert (state.is_published, state.scheduled_publish_time) == (False, when)
    (listed,) = facebook.scheduled_posts(client, PAGE)
    assert (listed.id, listed.message, listed.scheduled_publish_time) == (
        post.post_id,
        CAPTION,
        when,
    )
    assert facebook.find_scheduled(client, PAGE, caption=CAPTION, scheduled_at=when) == post.post_id
    assert facebook.find_scheduled(client, PAGE, caption=CAPTION, scheduled_at=T0) is None
    assert facebook.find_published_post(client, PAGE, caption=CAPTION, since=T0) is None

    other = facebook.post_feed(
        client, PAGE, "Nanti", "https://ifn.id/m/1", scheduled_at=when, now=T0
    )
    facebook.cancel(client, other)
    assert [p.id for p in facebook.scheduled_posts(client, PAGE)] == [post.post_id]
    with pytest.raises(GraphNotFound):
        facebook.cancel(client, other)
    with pytest.raises(GraphNotFound):
        facebook.read_back(client, other)

    assert state.went_live_at is None  # not public yet
    graph.advance(3 * 3600 + 600)
    live = facebook.read_back(client, post.post_id)
    assert live.is_published is True and live.went_live_at == when  # its time, not ours
    assert facebook.scheduled_posts(client, PAGE) == []
    assert facebook.find_published_post(client, PAGE, caption=CAPTION, since=T0) == post.post_id


@pytest.mark.parametrize(
    "ahead,words",
    [
        (timedelta(minutes=9), "9 minutes"),
        (timedelta(days=30, seconds=1), "30.0 days"),
        (timedelta(hours=-1), "-1.0 hours"),
    ],
)
def test_schedule_window_is_checked_before_calling(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox, ahead: timedelta, words: str
) -> None:
    with pytest.raises(ScheduleWindowError, match="10 minutes to 30 days ahead") as caught:
        facebook.post_photo(
            client, PAGE, image_url=card(files), caption="x", scheduled_at=T0 + ahead, now=T0
        )
    assert words in str(caught.value)
    with pytest.raises(ScheduleWindowError):
        facebook.post_feed(client, PAGE, "x", scheduled_at=T0 + ahead, now=T0)
    assert len(graph.requests) == 0


def test_schedule_window_edges_and_configurable_maximum(
    client: GraphClient, files: RegistrySandbox
) -> None:
    for ahead in (timedelta(minutes=10), timedelta(days=30)):
        facebook.post_feed(client, PAGE, f"in {ahead}", scheduled_at=T0 + ahead, now=T0)
    with pytest.raises(ScheduleWindowError, match="aware"):
        facebook.check_schedule(datetime(2026, 11, 26), T0)  # naive on purpose
    far = T0 + timedelta(days=60)
    with GraphSandbox([ACCOUNT], clock=lambda: T0, schedule_max_days=75) as graph:
        wide = GraphClient(f"{graph.url}/v25.0", TOKEN)
        post = facebook.post_photo(
            wide,
            PAGE,
            image_url=card(files),
            caption="x",
            scheduled_at=far,
            now=T0,
            schedule_max_days=75,
        )
        assert facebook.read_back(wide, post.post_id).scheduled_publish_time == far


def test_feed_post_and_duplicate(client: GraphClient, graph: GraphSandbox) -> None:
    post_id = facebook.post_feed(client, PAGE, "Sorotan", "https://ifn.id/m/1")
    assert graph.posts()[0].id == post_id
    with pytest.raises(GraphRejected, match="duplicate") as caught:
        facebook.post_feed(client, PAGE, "Sorotan", "https://ifn.id/m/1")
    assert caught.value.code == 506
    assert len(graph.requests.matching(f"/v25.0/{PAGE}/feed", "POST")) == 2


def test_lost_answer_of_a_scheduled_photo_is_reconciled(
    graph: GraphSandbox, files: RegistrySandbox
) -> None:
    client = GraphClient(f"{graph.url}/v25.0", TOKEN, read_timeout=0.3, sleep=lambda s: None)
    when = T0 + timedelta(days=1)
    graph.faults.add(Fault(f"/v25.0/{PAGE}/photos", "slow", delay=0.6))
    with pytest.raises(GraphOutcomeUnknown):
        facebook.post_photo(
            client, PAGE, image_url=card(files), caption=CAPTION, scheduled_at=when, now=T0
        )
    assert len(graph.requests.matching(f"/v25.0/{PAGE}/photos")) == 1
    deadline = time.monotonic() + 3
    while not graph.posts() and time.monotonic() < deadline:
        time.sleep(0.05)
    found = facebook.find_scheduled(client, PAGE, caption=CAPTION, scheduled_at=when)
    assert found == graph.posts()[0].id


def test_dropped_feed_post_is_not_repeated_and_is_not_found(
    client: GraphClient, graph: GraphSandbox
) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "drop"))
    with pytest.raises(GraphOutcomeUnknown):
        facebook.post_feed(client, PAGE, CAPTION)
    assert len(graph.requests.matching(f"/v25.0/{PAGE}/feed")) == 1
    assert facebook.find_published_post(client, PAGE, caption=CAPTION, since=T0) is None


def test_permission_and_token_errors(graph: GraphSandbox) -> None:
    graph.add_token("reader", [PAGE], scopes=["pages_read_engagement", "pages_show_list"])
    reader = GraphClient(f"{graph.url}/v25.0", "reader")
    with pytest.raises(GraphPermissionMissing) as caught:
        facebook.post_feed(reader, PAGE, "x")
    assert set(caught.value.permissions) == {"pages_manage_posts", "pages_read_engagement"}
    assert "pages_manage_posts" in str(caught.value)
    graph.invalidate_token("reader", subcode=492)
    with pytest.raises(GraphTokenInvalid, match="lost their role"):
        facebook.scheduled_posts(reader, PAGE)
