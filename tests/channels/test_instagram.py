"""Instagram publishing steps over real HTTP against the Graph sandbox: containers, waiting on
the sandbox clock, publishing exactly once, reconciling a lost answer, quotas and refusals."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from ifn_campaign.channels import instagram
from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.channels.instagram import ContainerStatus, Quota, UserTag
from ifn_campaign.errors import (
    GraphContainerExpired,
    GraphMediaFetchFailed,
    GraphOutcomeUnknown,
    GraphPublishLimit,
    GraphRejected,
    GraphStillProcessing,
)
from ifn_sandbox.graph import GraphAccount, GraphSandbox
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ACCOUNT = GraphAccount()
IG, TOKEN = ACCOUNT.ig_user_id, ACCOUNT.token
CAPTION = "Sorotan Anggota IFN: Sepatu Ciomas, Bogor #IndonesiaMelangkah"


def jpeg(width: int = 1080, height: int = 1080) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files() -> Iterator[RegistrySandbox]:
    with RegistrySandbox(members=[]) as sandbox:
        sandbox.add_file("square.jpg", jpeg(), "image/jpeg")
        sandbox.add_file("tall.jpg", jpeg(750, 1000), "image/jpeg")
        sandbox.add_file("photo.png", b"\x89PNG\r\n\x1a\n", "image/png")
        sandbox.add_file("clip.txt", b"not a video", "video/mp4")
        yield sandbox


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox([ACCOUNT], clock=lambda: T0, container_ready_after=5) as sandbox:
        yield sandbox


@pytest.fixture
def client(graph: GraphSandbox) -> Iterator[GraphClient]:
    sleeps: list[float] = []
    with GraphClient(f"{graph.url}/v25.0", TOKEN, sleep=sleeps.append) as graph_client:
        yield graph_client


def square(files: RegistrySandbox) -> str:
    return f"{files.url}/media/square.jpg"


def publishes(graph: GraphSandbox) -> int:
    return len(graph.requests.matching(f"/v25.0/{IG}/media_publish", "POST"))


def ready(client: GraphClient, graph: GraphSandbox, files: RegistrySandbox, caption: str) -> str:
    container = instagram.create_image_container(client, IG, square(files), caption)
    instagram.wait_until_finished(client, container, sleep=graph.advance)
    return container


# --- the happy path ---------------------------------------------------------------------------


def test_single_image_post_from_container_to_permalink(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    container = instagram.create_image_container(
        client,
        IG,
        square(files),
        CAPTION,
        alt_text="Sepatu kulit cokelat",
        user_tags=[UserTag("sepatu.ciomas", 0.5, 0.4)],
    )
    sent = graph.requests.matching(f"/v25.0/{IG}/media", "POST")[0]
    assert "alt_text=Sepatu+kulit+cokelat" in sent.body.decode()
    assert graph.containers()[0][0].params["user_tags"] == (
        '[{"username": "sepatu.ciomas", "x": 0.5, "y": 0.4}]'
    )
    assert instagram.container_status(client, container) == ContainerStatus(
        "IN_PROGRESS", "In Progress: Media is still being processed."
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        graph.advance(seconds)

    status = instagram.wait_until_finished(client, container, sleep=sleep)
    assert status.code == "FINISHED"
    assert waits == [1, 2, 4]  # 7 s of waiting covers the 5 s of processing
    media_id = instagram.publish(client, IG, container)
    assert [m.id for m in graph.media()] == [media_id]
    link = instagram.permalink(client, media_id)
    assert link == graph.media()[0].permalink and link.startswith("https://www.instagram.com/p/")
    assert instagram.container_status(client, container).code == "PUBLISHED"
    assert instagram.wait_until_finished(client, container, sleep=sleep).code == "PUBLISHED"
    assert instagram.publishing_quota(client, IG) == Quota(usage=1, total=50, duration=86400)


def test_carousel_of_three(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    children = [
        instagram.create_image_container(client, IG, square(files), None, is_carousel_item=True)
        for _ in range(3)
    ]
    for child in children:  # Instagram refuses a carousel of items not FINISHED
        instagram.wait_until_finished(client, child, sleep=graph.advance)
    parent = instagram.create_carousel_container(client, IG, children, CAPTION)
    instagram.wait_until_finished(client, parent, sleep=graph.advance)
    media_id = instagram.publish(client, IG, parent)
    (media,) = graph.media()
    assert (media.id, media.media_type, media.caption) == (media_id, "CAROUSEL_ALBUM", CAPTION)
    assert instagram.publishing_quota(client, IG).remaining == 49


def test_carousel_and_container_arguments_are_checked_before_calling(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    for children in (["1"], [str(i) for i in range(11)], ["1", "1"]):
        with pytest.raises(ValueError, match="carousel"):
            instagram.create_carousel_container(client, IG, children, CAPTION)
    with pytest.raises(ValueError, match="digits"):
        instagram.create_carousel_container(client, IG, ["1", "../2"], CAPTION)
    with pytest.raises(ValueError, match="no caption"):
        instagram.create_image_container(client, IG, square(files), "x", is_carousel_item=True)
    with pytest.raises(ValueError, match="1,000"):
        instagram.create_image_container(client, IG, square(files), "x", alt_text="a" * 1001)
    with pytest.raises(ValueError, match="ig_user_id"):
        instagram.publish(client, f"{IG}/media", "1")
    assert len(graph.requests) == 0


# --- waiting ----------------------------------------------------------------------------------


def test_waiting_is_bounded_and_backs_off_to_max_wait(
    client: GraphClient, files: RegistrySandbox
) -> None:
    with GraphSandbox([ACCOUNT], clock=lambda: T0, container_ready_after=3600) as graph:
        slow = GraphClient(f"{graph.url}/v25.0", TOKEN)
        container = instagram.create_image_container(slow, IG, square(files), CAPTION)
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            graph.advance(seconds)

        with pytest.raises(GraphStillProcessing, match="still IN_PROGRESS after 100 s"):
            instagram.wait_until_finished(slow, container, timeout=100, max_wait=30, sleep=sleep)
        assert waits == [1, 2, 4, 8, 16, 30, 30, 9]
        graph.advance(3600)
        assert instagram.wait_until_finished(slow, container, sleep=sleep).code == "FINISHED"


def test_container_error_raises_with_its_subcode(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    def reel(url: str) -> str:
        return str(client.post(f"/{IG}/media", {"media_type": "REELS", "video_url": url})["id"])

    not_video = reel(f"{files.url}/media/clip.txt")
    with pytest.raises(GraphRejected) as caught:
        instagram.wait_until_finished(client, not_video, sleep=graph.advance)
    assert caught.value.subcode == 2207026
    assert "make a new container" in str(caught.value)
    missing = reel(f"{files.url}/media/gone.mp4")
    with pytest.raises(GraphMediaFetchFailed) as fetch:
        instagram.wait_until_finished(client, missing, sleep=graph.advance)
    assert fetch.value.subcode == 2207052
    assert instagram.container_status(client, missing).error_subcode == 2207052


def test_expired_container_has_its_own_error(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    container = ready(client, graph, files, CAPTION)
    graph.advance(24 * 3600)
    with pytest.raises(GraphContainerExpired, match="nothing went out"):
        instagram.wait_until_finished(client, container, sleep=graph.advance)


# --- exactly once -----------------------------------------------------------------------------


def test_publish_is_not_repeated_after_a_dropped_connection(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    container = ready(client, graph, files, CAPTION)
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "drop"))
    with pytest.raises(GraphOutcomeUnknown):
        instagram.publish(client, IG, container)
    assert publishes(graph) == 1
    # reconcile: the drop happened before Instagram acted, so nothing went out
    assert instagram.find_published(client, IG, caption=CAPTION, since=T0) is None
    assert instagram.container_status(client, container).code == "FINISHED"
    media_id = instagram.publish(client, IG, container)  # now it is safe to publish
    assert [m.id for m in graph.media()] == [media_id]


@pytest.mark.parametrize("kind", ["slow", "truncate"])
def test_a_lost_publish_answer_is_found_by_reconciling(
    graph: GraphSandbox, files: RegistrySandbox, kind: str
) -> None:
    client = GraphClient(f"{graph.url}/v25.0", TOKEN, read_timeout=0.3, sleep=lambda s: None)
    before = ready(client, graph, files, "an older post")
    instagram.publish(client, IG, before)
    graph.advance(60)
    container = ready(client, graph, files, CAPTION)
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", kind, delay=0.6))  # type: ignore[arg-type]
    with pytest.raises(GraphOutcomeUnknown):
        instagram.publish(client, IG, container)
    assert publishes(graph) == 2  # one each, never repeated
    deadline = time.monotonic() + 3
    while len(graph.media()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    found = instagram.find_published(client, IG, caption=CAPTION, since=T0)
    assert found is not None
    published = graph.media()[-1]
    assert (found.id, found.caption, found.permalink) == (
        published.id,
        CAPTION,
        published.permalink,
    )
    assert found.timestamp == published.timestamp
    assert instagram.container_status(client, container).code == "PUBLISHED"
    # a caption that differs by one character is not a match; nor is a post before `since`
    assert instagram.find_published(client, IG, caption=CAPTION + " ", since=T0) is None
    later = published.timestamp + timedelta(seconds=1)
    assert instagram.find_published(client, IG, caption=CAPTION, since=later) is None


def test_publish_server_error_is_an_unknown_outcome(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    container = ready(client, graph, files, CAPTION)
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=503))
    with pytest.raises(GraphOutcomeUnknown) as caught:
        instagram.publish(client, IG, container)
    assert (caught.value.code, caught.value.http_status) == (2, 503)
    assert publishes(graph) == 1


def test_find_published_reads_further_pages_newest_first() -> None:
    with GraphSandbox(
        [ACCOUNT], clock=lambda: T0, container_ready_after=0, publish_quota=100,
        fetch=lambda url: jpeg(),
    ) as graph, GraphClient(f"{graph.url}/v25.0", TOKEN) as client:  # fmt: skip
        for i in range(30):
            container = instagram.create_image_container(
                client, IG, "https://cdn.example/a.jpg", f"post {i}"
            )
            instagram.publish(client, IG, container)
            graph.advance(60)
        oldest = instagram.find_published(client, IG, caption="post 0", since=T0)
        assert oldest is not None and oldest.timestamp == T0
        listing = graph.requests.matching(f"/v25.0/{IG}/media", "GET")
        assert len(listing) == 2 and "after" in listing[1].params
        newest = instagram.find_published(client, IG, caption="post 29", since=T0)
        assert newest is not None and newest.timestamp == T0 + timedelta(minutes=29)
        graph.requests.clear()
        since = T0 + timedelta(minutes=20)
        assert instagram.find_published(client, IG, caption="post 3", since=since) is None
        assert len(graph.requests) == 1  # stops at the first post older than `since`


# --- refusals ---------------------------------------------------------------------------------


def test_publishing_limit(files: RegistrySandbox) -> None:
    with GraphSandbox([ACCOUNT], clock=lambda: T0, publish_quota=1) as graph:
        client = GraphClient(f"{graph.url}/v25.0", TOKEN)
        first, second = (ready(client, graph, files, f"post {i}") for i in range(2))
        instagram.publish(client, IG, first)
        assert instagram.publishing_quota(client, IG) == Quota(1, 1, 86400)
        with pytest.raises(GraphPublishLimit) as caught:
            instagram.publish(client, IG, second)
        assert (caught.value.code, caught.value.subcode) == (9, 2207042)
        assert caught.value.user_title == "Publishing limit reached"


def test_images_instagram_refuses(
    client: GraphClient, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    url = f"{files.url}/media/missing.jpg"
    with pytest.raises(GraphMediaFetchFailed) as fetch:
        instagram.create_image_container(client, IG, url, CAPTION)
    assert (fetch.value.code, fetch.value.subcode, fetch.value.url) == (9004, 2207052, url)
    assert url in str(fetch.value)
    with pytest.raises(GraphRejected, match="re-crop") as shape:
        instagram.create_image_container(client, IG, f"{files.url}/media/tall.jpg", CAPTION)
    assert (shape.value.code, shape.value.subcode) == (36003, 2207009)
    with pytest.raises(GraphRejected, match="sRGB JPEG") as fmt:
        instagram.create_image_container(client, IG, f"{files.url}/media/photo.png", CAPTION)
    assert (fmt.value.code, fmt.value.subcode) == (36001, 2207005)
    with pytest.raises(GraphRejected, match="caption") as long:
        instagram.create_image_container(client, IG, square(files), "x" * 2201)
    assert long.value.subcode == 2207010


@pytest.mark.parametrize(
    "code,subcode,words",
    [(100, 2207051, "spam"), (100, 2207050, "restricted"), (368, None, "policy")],
)
def test_policy_refusals_of_publish_are_final(
    client: GraphClient,
    graph: GraphSandbox,
    files: RegistrySandbox,
    code: int,
    subcode: int | None,
    words: str,
) -> None:
    container = ready(client, graph, files, CAPTION)
    graph.faults.add(
        graph.error_fault(code, subcode=subcode, path=f"/v25.0/{IG}/media_publish", status=400)
    )
    with pytest.raises(GraphRejected, match=words) as caught:
        instagram.publish(client, IG, container)
    assert (caught.value.code, caught.value.subcode) == (code, subcode)
    assert publishes(graph) == 1 and graph.media() == []
