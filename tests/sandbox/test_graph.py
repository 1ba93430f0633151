"""The Graph API sandbox follows docs/reference/platforms.md over real sockets: Instagram
publishing, Page posts, tokens, limits, usage headers and injected faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ifn_sandbox.graph import (
    RATE_LIMIT_CODES,
    FetchError,
    GraphAccount,
    GraphSandbox,
    loopback_fetch,
)
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox
from tests.support.graph_api import Api, graph_error, jpeg

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ACCOUNT = GraphAccount()
IG, PAGE, TOKEN = ACCOUNT.ig_user_id, ACCOUNT.page_id, ACCOUNT.token
OTHER = GraphAccount(
    page_id="100000000000002",
    page_name="Other Page",
    ig_user_id="17841400000000002",
    ig_username="other",
    token="other-token",
)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@pytest.fixture(scope="module")
def files() -> Iterator[RegistrySandbox]:
    """Where the sandbox fetches image_url / url / video_url from, over loopback HTTP."""
    with RegistrySandbox(members=[]) as sandbox:
        sandbox.add_file("square.jpg", jpeg(), "image/jpeg")
        sandbox.add_file("portrait.jpg", jpeg(1080, 1350), "image/jpeg")
        sandbox.add_file("landscape.jpg", jpeg(1146, 600), "image/jpeg")
        sandbox.add_file("story.jpg", jpeg(1080, 1920), "image/jpeg")
        sandbox.add_file("clip.mp4", MP4, "video/mp4")
        yield sandbox


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox([ACCOUNT, OTHER], clock=lambda: T0, container_ready_after=2) as sandbox:
        yield sandbox


@pytest.fixture
def api(graph: GraphSandbox) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(session, f"{graph.url}/v25.0")


def finished(api: Api, graph: GraphSandbox, url: str, **params: Any) -> str:
    created = api.create(url, **params)
    assert created.status_code == 200, created.text
    graph.advance(2)
    container = str(created.json()["id"])
    assert api.status(container) == "FINISHED"
    return container


# --- paths, versions, tokens ----------------------------------------------------------------


def test_versions_25_26_and_none_are_served_others_refused(graph: GraphSandbox) -> None:
    for prefix in ("/v25.0", "/v26.0", ""):
        answer = requests.get(f"{graph.url}{prefix}/{PAGE}", params={"access_token": TOKEN})
        assert answer.json() == {"id": PAGE, "name": ACCOUNT.page_name}
    old = requests.get(f"{graph.url}/v24.0/{PAGE}", params={"access_token": TOKEN})
    assert "v24.0" in graph_error(old, 400, 2635)["message"]


def test_token_in_query_body_or_bearer_header(api: Api, graph: GraphSandbox) -> None:
    assert api.get(f"/{IG}", params={"fields": "username"}).json() == {
        "id": IG,
        "username": "ifn.bpipi",
    }
    bearer = api.get(f"/{IG}", token=None, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.json() == {"id": IG}
    form = api.post(f"/{PAGE}/feed", token=None, data={"message": "Halo", "access_token": TOKEN})
    assert form.status_code == 200


def test_missing_unknown_expired_and_invalidated_tokens(api: Api, graph: GraphSandbox) -> None:
    graph_error(api.get(f"/{IG}", token=None), 400, 104)
    assert "Cannot parse" in graph_error(api.get(f"/{IG}", token="nope"), 400, 190)["message"]

    graph.add_token("short", [IG], expires_in=3600)
    assert api.get(f"/{IG}", token="short").status_code == 200
    graph.advance(3600)
    expired = graph_error(api.get(f"/{IG}", token="short"), 400, 190, 463)
    assert "Session has expired" in expired["message"]

    graph.add_token("user", [PAGE])
    graph.expire_token("user")
    graph_error(api.get(f"/{PAGE}", token="user"), 400, 190, 463)

    for subcode in (460, 458, 459, 464, 467, 492):
        graph.add_token(f"t{subcode}", [PAGE])
        graph.invalidate_token(f"t{subcode}", subcode=subcode)
        graph_error(api.get(f"/{PAGE}", token=f"t{subcode}"), 400, 190, subcode)
    graph.invalidate_token(TOKEN, subcode=460)
    assert "changed their password" in graph_error(api.get(f"/{IG}"), 400, 190, 460)["message"]
    with pytest.raises(ValueError, match="subcode"):
        graph.invalidate_token("user", subcode=463)


def test_token_of_another_account_and_unknown_objects_are_100_33(api: Api) -> None:
    for path in (f"/{OTHER.ig_user_id}", f"/{OTHER.page_id}/scheduled_posts", "/999", "/x_1"):
        error = graph_error(api.get(path), 400, 100, 33)
        assert "does not exist, cannot be loaded due to missing permissions" in error["message"]
    assert api.get(f"/{OTHER.ig_user_id}", token=OTHER.token).status_code == 200


def test_missing_permissions_are_403(api: Api, graph: GraphSandbox, files: RegistrySandbox) -> None:
    graph.add_token("basic", [IG, PAGE], scopes=["instagram_basic", "pages_read_engagement"])
    square = f"{files.url}/media/square.jpg"
    graph_error(api.create(square, token="basic"), 403, 10)
    no_pages = api.post(f"/{PAGE}/feed", token="basic", data={"message": "x"})
    assert "pages_manage_posts" in graph_error(no_pages, 403, 200)["message"]
    assert api.get(f"/{IG}", token="basic").status_code == 200  # reading needs no publishing


def test_unknown_fields_edges_methods_and_paths(api: Api) -> None:
    nonexisting = api.get(f"/{IG}", params={"fields": "username,followers"})
    assert "(followers) on node type (IGUser)" in graph_error(nonexisting, 400, 100)["message"]
    assert "(stories)" in graph_error(api.get(f"/{IG}/stories"), 400, 100)["message"]
    graph_error(api.get(f"/{IG}/media_publish"), 400, 100, 33)
    graph_error(api.call("DELETE", f"/{IG}"), 400, 100, 33)
    graph_error(api.get(f"/{IG}/media/extra"), 400, 2500)


# --- Instagram ------------------------------------------------------------------------------


def test_single_image_is_created_processed_published_and_linked(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    url = f"{files.url}/media/portrait.jpg"
    fetched_before = len(files.requests.matching("/media/portrait.jpg"))
    tags = json.dumps([{"username": "sepatu.ciomas", "x": 0.5, "y": 0.4}])
    created = api.create(
        url, caption="Sorotan Anggota IFN #IndonesiaMelangkah", alt_text="Sepatu", user_tags=tags
    )
    assert created.status_code == 200
    container = created.json()["id"]
    assert set(created.json()) == {"id"}
    assert len(files.requests.matching("/media/portrait.jpg")) == fetched_before + 1

    polled = api.get(f"/{container}", params={"fields": "status_code,status"}).json()
    assert polled == {
        "id": container,
        "status_code": "IN_PROGRESS",
        "status": "In Progress: Media is still being processed.",
    }
    graph_error(api.publish(container), 400, 9007, 2207027)
    graph.advance(1.9)
    assert api.status(container) == "IN_PROGRESS"
    graph.advance(0.1)
    assert api.status(container) == "FINISHED"

    published = api.publish(container)
    assert published.status_code == 200
    media_id = published.json()["id"]
    assert api.status(container) == "PUBLISHED"
    link = api.get(f"/{media_id}", params={"fields": "permalink"}).json()
    assert link["id"] == media_id
    assert link["permalink"].startswith("https://www.instagram.com/p/")
    details = api.get(f"/{media_id}", params={"fields": "caption,media_type,timestamp"}).json()
    assert details["caption"] == "Sorotan Anggota IFN #IndonesiaMelangkah"
    assert (details["media_type"], details["timestamp"]) == ("IMAGE", "2026-11-25T03:00:02+0000")
    assert api.get(f"/{IG}/media", params={"fields": "permalink"}).json() == {"data": [link]}
    # publishing twice is refused, not a second post
    graph_error(api.publish(container), 400, 9007, 2207027)
    assert [m.id for m in graph.media()] == [media_id]
    record = graph.requests.matching(f"/v25.0/{IG}/media", "POST")[0]
    assert record.body.decode().startswith("image_url=")
    assert record.params["access_token"] == TOKEN


def test_not_ready_error_body_is_exact(api: Api, files: RegistrySandbox) -> None:
    container = api.create(f"{files.url}/media/square.jpg").json()["id"]
    error = graph_error(api.publish(container), 400, 9007, 2207027)
    assert error["message"] == "Media ID is not available"
    assert error["error_user_title"] == "Media not ready for publishing"
    assert error["error_user_msg"] == (
        "The media is not ready for publishing, please wait for a moment"
    )


def test_containers_expire_after_24_hours(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    container = finished(api, graph, f"{files.url}/media/square.jpg")
    graph.advance(24 * 3600 - 3)
    assert api.status(container) == "FINISHED"
    graph.advance(1)
    assert api.status(container) == "EXPIRED"
    graph_error(api.publish(container), 400, -2, 2207020)  # "has expired": make a new one
    assert graph.containers()[0][1] == "EXPIRED"


@pytest.mark.parametrize(
    "size,mode,fmt,code,subcode",
    [
        ((1080, 1080), "RGB", "PNG", 36001, 2207005),
        ((1080, 1080), "CMYK", "JPEG", 36001, 2207005),
        ((750, 1000), "RGB", "JPEG", 36003, 2207009),  # 3:4 is taller than 4:5
        ((1200, 600), "RGB", "JPEG", 36003, 2207009),  # 2:1 is wider than 1.91:1
        ((300, 300), "RGB", "JPEG", 36001, 2207005),  # narrower than 320
        ((1600, 1600), "RGB", "JPEG", 36001, 2207005),  # wider than 1440
    ],
)
def test_image_rules(
    api: Api,
    files: RegistrySandbox,
    size: tuple[int, int],
    mode: str,
    fmt: str,
    code: int,
    subcode: int,
) -> None:
    name = f"bad-{size[0]}x{size[1]}-{mode}.{fmt.lower()}"
    files.add_file(name, jpeg(*size, mode=mode, fmt=fmt), "image/jpeg")
    error = graph_error(api.create(f"{files.url}/media/{name}"), 400, code, subcode)
    assert error["error_user_title"] and error["error_user_msg"]


def test_image_edges_4_5_and_1_91_and_widths_320_1440_pass(
    api: Api, files: RegistrySandbox
) -> None:
    for size in ((1080, 1350), (1146, 600), (320, 400), (1440, 754)):
        name = f"ok-{size[0]}x{size[1]}.jpg"
        files.add_file(name, jpeg(*size), "image/jpeg")
        assert api.create(f"{files.url}/media/{name}").status_code == 200, size


def test_image_over_8_mb_is_36000(files: RegistrySandbox) -> None:
    big = b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024)
    with GraphSandbox(fetch=lambda url: big) as graph:
        answer = requests.post(
            f"{graph.url}/v25.0/{IG}/media",
            data={"image_url": "https://cdn.example/big.jpg", "access_token": TOKEN},
            timeout=5,
        )
        graph_error(answer, 400, 36000, 2207004)


def test_unfetchable_image_url_fails_the_create_call_with_2207052(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    for url in (f"{files.url}/media/missing.jpg", "https://example.com/a.jpg", "file:///etc/x"):
        error = graph_error(api.create(url), 400, 9004, 2207052)
        assert error["error_user_title"] == "Media download has failed"
        assert url in error["error_user_msg"]
    assert graph.containers() == []
    graph_error(api.post(f"/{IG}/media", data={"caption": "no url"}), 400, 100)


def test_fetch_function_can_be_swapped_and_loopback_fetch_follows_checked_redirects(
    files: RegistrySandbox,
) -> None:
    seen: list[str] = []

    def fetch(url: str) -> bytes:
        seen.append(url)
        return jpeg()

    with GraphSandbox(fetch=fetch) as graph:
        answer = requests.post(
            f"{graph.url}/{IG}/media",
            params={"image_url": "https://cdn.example/x.jpg", "access_token": TOKEN},
            timeout=5,
        )
        assert answer.status_code == 200
    assert seen == ["https://cdn.example/x.jpg"]
    target = f"{files.url}/media/square.jpg"
    assert loopback_fetch(f"{files.url}/redirect?to={target}") == jpeg()
    with pytest.raises(FetchError, match="loopback"):
        loopback_fetch(f"{files.url}/redirect?to=http://10.0.0.1/x.jpg")


def test_caption_alt_text_tags_and_location_rules(api: Api, files: RegistrySandbox) -> None:
    url = f"{files.url}/media/square.jpg"
    assert api.create(url, caption="x" * 2200).status_code == 200
    graph_error(api.create(url, caption="x" * 2201), 400, 100, 2207010)
    five = " ".join(f"#tag{i}" for i in range(5))
    assert api.create(url, caption=five).status_code == 200
    graph_error(api.create(url, caption=five + " #six"), 400, 100, 2207010)
    graph_error(api.create(url, caption=" ".join(f"@u{i}" for i in range(21))), 400, 100, 2207010)
    assert api.create(url, alt_text="a" * 1000).status_code == 200
    graph_error(api.create(url, alt_text="a" * 1001), 400, 100)
    graph_error(api.create(url, user_tags='[{"username": "a", "x": 2, "y": 0}]'), 400, 100)
    graph_error(api.create(url, user_tags="not json"), 400, 100)
    assert api.create(url, location_id="213385402").status_code == 200
    graph_error(api.create(url, location_id="Sidoarjo"), 400, 100)


def test_hashtag_limit_is_configurable(files: RegistrySandbox) -> None:
    with GraphSandbox(max_hashtags=30) as graph:
        caption = " ".join(f"#t{i}" for i in range(30))
        answer = requests.post(
            f"{graph.url}/{IG}/media",
            data={"image_url": f"{files.url}/media/square.jpg", "caption": caption},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert answer.status_code == 200


def test_carousel_of_children_counts_as_one_post(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    url = f"{files.url}/media/square.jpg"
    graph_error(api.create(url, is_carousel_item="true", caption="no"), 400, 100)
    children = [api.create(url, is_carousel_item="true").json()["id"] for _ in range(3)]
    single = api.create(url).json()["id"]
    graph_error(
        api.post(f"/{IG}/media", data={"media_type": "CAROUSEL", "children": children[0]}),
        400,
        100,
        2207028,
    )
    graph_error(
        api.post(f"/{IG}/media", data={"media_type": "CAROUSEL", "children": f"{single},x"}),
        400,
        100,
        2207028,
    )
    carousel = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": "Tiga"}
    # items still IN_PROGRESS: Instagram refuses the carousel (carousel_children_not_ready)
    graph_error(api.post(f"/{IG}/media", data=carousel), 400, 100, 2207028)
    graph.advance(2)
    parent = api.post(f"/{IG}/media", data=carousel).json()["id"]
    assert api.status(parent) == "IN_PROGRESS"
    graph.advance(2)
    assert api.status(parent) == "FINISHED"
    graph_error(api.publish(children[0]), 400, 100, 2207028)
    media_id = api.publish(parent).json()["id"]
    assert [api.status(c) for c in children] == ["PUBLISHED"] * 3
    media = api.get(f"/{media_id}", params={"fields": "media_type,caption"}).json()
    assert (media["media_type"], media["caption"]) == ("CAROUSEL_ALBUM", "Tiga")
    limit = api.get(f"/{IG}/content_publishing_limit").json()
    assert limit == {"data": [{"quota_usage": 1}]}
    eleven = [api.create(url, is_carousel_item="true").json()["id"] for _ in range(11)]
    graph_error(
        api.post(f"/{IG}/media", data={"media_type": "CAROUSEL", "children": ",".join(eleven)}),
        400,
        100,
        2207028,
    )


def test_reels_and_stories(api: Api, graph: GraphSandbox, files: RegistrySandbox) -> None:
    reel = api.post(
        f"/{IG}/media", data={"media_type": "REELS", "video_url": f"{files.url}/media/clip.mp4"}
    ).json()["id"]
    graph.advance(2)
    permalink = api.get(f"/{api.publish(reel).json()['id']}", params={"fields": "permalink"})
    assert permalink.json()["permalink"].startswith("https://www.instagram.com/reel/")

    broken = api.post(
        f"/{IG}/media", data={"media_type": "REELS", "video_url": f"{files.url}/media/none.mp4"}
    ).json()["id"]
    not_video = api.post(
        f"/{IG}/media", data={"media_type": "REELS", "video_url": f"{files.url}/media/story.jpg"}
    ).json()["id"]
    status = api.get(f"/{broken}", params={"fields": "status_code,status"}).json()
    assert status["status_code"] == "ERROR"
    assert status["status"].endswith("2207052")
    assert (
        api.get(f"/{not_video}", params={"fields": "status"}).json()["status"].endswith("2207026")
    )
    graph_error(api.publish(broken), 400, 9007, 2207027)

    story = finished(api, graph, f"{files.url}/media/story.jpg", media_type="STORIES")
    story_media = api.publish(story).json()["id"]
    link = api.get(f"/{story_media}", params={"fields": "permalink,media_product_type"}).json()
    assert link["media_product_type"] == "STORY"
    assert "/stories/ifn.bpipi/" in link["permalink"]
    graph_error(api.create(f"{files.url}/media/story.jpg"), 400, 36003, 2207009)  # not a feed shape
    graph_error(api.post(f"/{IG}/media", data={"media_type": "VIDEO"}), 400, 100, 2207023)


def test_publishing_limit_rolls_over_24_hours(files: RegistrySandbox) -> None:
    with (
        GraphSandbox(clock=lambda: T0, publish_quota=2, container_ready_after=0) as graph,
        requests.Session() as session,
    ):
        api = Api(session, f"{graph.url}/v26.0")
        containers = [api.create(f"{files.url}/media/square.jpg").json()["id"] for _ in range(3)]
        limit = api.get(f"/{IG}/content_publishing_limit", params={"fields": "quota_usage,config"})
        assert limit.json() == {
            "data": [{"quota_usage": 0, "config": {"quota_total": 2, "quota_duration": 86400}}]
        }
        assert api.publish(containers[0]).status_code == 200
        graph.advance(3600)
        assert api.publish(containers[1]).status_code == 200
        error = graph_error(api.publish(containers[2]), 400, 9, 2207042)
        assert error["error_user_title"] == "Publishing limit reached"
        assert api.get(f"/{IG}/content_publishing_limit").json()["data"][0]["quota_usage"] == 2
        graph.advance(23 * 3600)  # the first post leaves the window
        assert api.get(f"/{IG}/content_publishing_limit").json()["data"][0]["quota_usage"] == 1
        fresh = api.create(f"{files.url}/media/square.jpg").json()["id"]
        assert api.publish(fresh).status_code == 200
        graph_error(api.get(f"/{IG}/content_publishing_limit", params={"fields": "nope"}), 400, 100)


def test_concurrent_publishes_never_exceed_the_limit(files: RegistrySandbox) -> None:
    with GraphSandbox(clock=lambda: T0, publish_quota=5, container_ready_after=0) as graph:
        base = f"{graph.url}/v25.0/{IG}"
        ids = [
            requests.post(
                f"{base}/media",
                data={"image_url": f"{files.url}/media/square.jpg", "access_token": TOKEN},
                timeout=5,
            ).json()["id"]
            for _ in range(12)
        ]
        statuses: list[int] = []

        def publish(container: str) -> None:
            answer = requests.post(
                f"{base}/media_publish",
                params={"creation_id": container, "access_token": TOKEN},
                timeout=5,
            )
            statuses.append(answer.status_code)

        threads = [threading.Thread(target=publish, args=(c,)) for c in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 5 + [400] * 7
        assert len(graph.media()) == 5


def test_container_cap_per_24_hours(files: RegistrySandbox) -> None:
    with GraphSandbox(clock=lambda: T0, container_cap=3) as graph, requests.Session() as session:
        api = Api(session, graph.url)
        for _ in range(3):
            assert api.create(f"{files.url}/media/square.jpg").status_code == 200
        error = graph_error(api.create(f"{files.url}/media/square.jpg"), 400, 9)
        assert "maximum of 3 media containers in 24 hours" in error["message"]
        graph.advance(24 * 3600)
        assert api.create(f"{files.url}/media/square.jpg").status_code == 200


# --- Facebook Pages -------------------------------------------------------------------------


def test_photo_post_by_url_and_by_multipart_source(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    by_url = api.post(
        f"/{PAGE}/photos", data={"url": f"{files.url}/media/square.jpg", "caption": "Halo"}
    )
    assert by_url.status_code == 200
    body = by_url.json()
    assert set(body) == {"id", "post_id"}
    assert body["post_id"].startswith(f"{PAGE}_")
    post = api.get(
        f"/{body['post_id']}",
        params={"fields": "permalink_url,is_published,scheduled_publish_time,message"},
    ).json()
    assert post["is_published"] is True
    assert "scheduled_publish_time" not in post
    assert post["message"] == "Halo"
    assert post["permalink_url"].startswith(f"https://www.facebook.com/{PAGE}/posts/")
    photo = api.get(f"/{body['id']}", params={"fields": "page_story_id"}).json()
    assert photo == {"id": body["id"], "page_story_id": body["post_id"]}

    by_source = api.post(
        f"/{PAGE}/photos",
        data={"caption": "Unggah"},
        files={"source": ("card.png", jpeg(fmt="PNG"), "image/png")},
    )
    assert by_source.status_code == 200, by_source.text
    assert graph.posts()[-1].message == "Unggah"
    graph_error(api.post(f"/{PAGE}/photos", data={"caption": "none"}), 400, 324)
    graph_error(
        api.post(f"/{PAGE}/photos", files={"source": ("x.jpg", b"not an image", "image/jpeg")}),
        400,
        324,
    )
    graph_error(api.post(f"/{PAGE}/photos", data={"url": f"{files.url}/media/nope.jpg"}), 400, 324)


def test_scheduled_photo_publishes_when_the_clock_passes_its_time(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    when = int((T0 + timedelta(hours=1)).timestamp())
    answer = api.post(
        f"/{PAGE}/photos",
        data={
            "url": f"{files.url}/media/square.jpg",
            "caption": "Besok",
            "published": "false",
            "scheduled_publish_time": str(when),
        },
    ).json()
    fields = {"fields": "is_published,scheduled_publish_time,permalink_url"}
    post = api.get(f"/{answer['post_id']}", params=fields).json()
    assert (post["is_published"], post["scheduled_publish_time"]) == (False, when)
    listed = api.get(f"/{PAGE}/scheduled_posts", params={"fields": "scheduled_publish_time"})
    assert listed.json() == {"data": [{"id": answer["post_id"], "scheduled_publish_time": when}]}
    graph.advance(3599)
    assert api.get(f"/{answer['post_id']}", params=fields).json()["is_published"] is False
    graph.advance(1)
    assert api.get(f"/{answer['post_id']}", params=fields).json()["is_published"] is True
    assert api.get(f"/{PAGE}/scheduled_posts").json() == {"data": []}


def test_scheduling_window_and_iso_times(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    def schedule(when: Any, published: str = "false") -> requests.Response:
        return api.post(
            f"/{PAGE}/feed",
            data={"message": f"at {when}", "published": published, "scheduled_publish_time": when},
        )

    assert schedule(int((T0 + timedelta(minutes=10)).timestamp())).status_code == 200
    assert schedule("2026-12-25T03:00:00Z").status_code == 200  # 30 days exactly
    assert schedule("2026-11-25T10:30:00+07:00").status_code == 200  # ISO with an offset
    for bad in (
        int((T0 + timedelta(minutes=9)).timestamp()),
        "2026-12-25T03:00:01Z",
        "2026-11-20T00:00:00Z",
        "next tuesday",
    ):
        error = graph_error(schedule(bad), 400, 100)
        assert error["message"] == "(#100) The specified scheduled publish time is invalid."
        assert error["error_user_title"] == "Invalid scheduled publish time"
    graph_error(schedule("2026-11-26T00:00:00Z", published="true"), 400, 100)
    graph_error(api.post(f"/{PAGE}/feed", data={"published": "maybe", "message": "x"}), 400, 100)
    listed = api.get(f"/{PAGE}/scheduled_posts").json()["data"]
    assert len(listed) == 3
    assert set(listed[0]) == {"id", "created_time", "message"}


def test_scheduling_window_is_configurable() -> None:
    with GraphSandbox(clock=lambda: T0, schedule_max_days=75) as graph:
        answer = requests.post(
            f"{graph.url}/{PAGE}/feed",
            data={
                "message": "jauh",
                "published": "false",
                "scheduled_publish_time": "2027-02-01T00:00:00Z",
                "access_token": TOKEN,
            },
            timeout=5,
        )
        assert answer.status_code == 200


def test_feed_posts_duplicates_and_delete(api: Api, graph: GraphSandbox) -> None:
    first = api.post(f"/{PAGE}/feed", data={"message": "Sorotan", "link": "https://ifn.id/m/1"})
    assert set(first.json()) == {"id"}
    graph_error(
        api.post(f"/{PAGE}/feed", data={"message": "Sorotan", "link": "https://ifn.id/m/1"}),
        400,
        506,
    )
    graph_error(api.post(f"/{PAGE}/feed", data={}), 400, 100)
    post_id = first.json()["id"]
    assert api.call("DELETE", f"/{post_id}").json() == {"success": True}
    graph_error(api.get(f"/{post_id}"), 400, 100, 33)
    graph_error(api.call("DELETE", f"/{post_id}"), 400, 100, 33)
    assert graph.posts() == []
    assert [p.id for p in graph.posts(deleted=True)] == [post_id]
    # once deleted, the same message is no longer a duplicate
    assert api.post(f"/{PAGE}/feed", data={"message": "Sorotan", "link": "https://ifn.id/m/1"}).ok


def test_cancelling_a_scheduled_post(api: Api, graph: GraphSandbox) -> None:
    post_id = api.post(
        f"/{PAGE}/feed",
        json={"message": "nanti", "published": False, "scheduled_publish_time": "2026-11-26"},
    ).json()["id"]
    assert [p["id"] for p in api.get(f"/{PAGE}/scheduled_posts").json()["data"]] == [post_id]
    assert api.call("DELETE", f"/{post_id}").json() == {"success": True}
    assert api.get(f"/{PAGE}/scheduled_posts").json() == {"data": []}


# --- usage headers and rate limits ----------------------------------------------------------


def usage(response: requests.Response, object_id: str | None = None) -> dict[str, Any]:
    if object_id is None:
        return dict(json.loads(response.headers["x-app-usage"]))
    header = json.loads(response.headers["x-business-use-case-usage"])
    assert list(header) == [object_id]
    (entry,) = header[object_id]
    return dict(entry)


def test_usage_headers_on_every_answer_rise_per_call() -> None:
    with GraphSandbox(clock=lambda: T0, app_calls_per_hour=50, business_calls_per_hour=20) as g:
        base = f"{g.url}/v25.0"
        first = requests.get(f"{base}/{PAGE}", params={"access_token": TOKEN}, timeout=5)
        assert usage(first) == {"call_count": 2, "total_cputime": 2, "total_time": 2}
        assert usage(first, PAGE) == {
            "type": "pages",
            "call_count": 5,
            "total_cputime": 5,
            "total_time": 5,
            "estimated_time_to_regain_access": 0,
        }
        second = requests.get(f"{base}/{IG}", params={"access_token": TOKEN}, timeout=5)
        assert usage(second)["call_count"] == 4
        assert usage(second, IG)["type"] == "instagram"
        assert usage(second, IG)["call_count"] == 5
        # errors carry them too, and a path with no account only the app header
        bad = requests.get(f"{base}/{PAGE}", params={"access_token": "nope"}, timeout=5)
        assert usage(bad, PAGE)["call_count"] == 10
        nowhere = requests.get(f"{g.url}/v24.0/x", timeout=5)
        assert "x-business-use-case-usage" not in nowhere.headers
        assert usage(nowhere)["call_count"] == 8
        assert g.usage() == 8 and g.usage(PAGE) == 10


def test_page_and_instagram_limits_block_and_recover() -> None:
    with GraphSandbox(clock=lambda: T0, business_calls_per_hour=3) as graph:
        page = f"{graph.url}/{PAGE}"
        for _ in range(3):
            assert requests.get(page, params={"access_token": TOKEN}, timeout=5).ok
            graph.advance(60)
        blocked = requests.get(page, params={"access_token": TOKEN}, timeout=5)
        error = graph_error(blocked, 400, 32, transient=True)
        assert error["message"] == "(#32) Page request limit reached"
        assert usage(blocked, PAGE)["call_count"] == 133
        assert usage(blocked, PAGE)["estimated_time_to_regain_access"] == 58
        graph.advance(3600)
        assert requests.get(page, params={"access_token": TOKEN}, timeout=5).ok
        ig = f"{graph.url}/{IG}"
        for _ in range(3):
            requests.get(ig, params={"access_token": TOKEN}, timeout=5)
        graph_error(requests.get(ig, params={"access_token": TOKEN}, timeout=5), 400, 80002,
                    transient=True)  # fmt: skip
    with GraphSandbox(clock=lambda: T0, app_calls_per_hour=2) as graph:
        for _ in range(2):
            requests.get(f"{graph.url}/{PAGE}", params={"access_token": TOKEN}, timeout=5)
        app = requests.get(f"{graph.url}/{IG}", params={"access_token": TOKEN}, timeout=5)
        graph_error(app, 400, 4, transient=True)
        assert usage(app)["call_count"] == 150


@pytest.mark.parametrize("code", RATE_LIMIT_CODES)
def test_rate_limit_faults(api: Api, graph: GraphSandbox, code: int) -> None:
    object_id = IG if code == 80002 else PAGE
    fault = graph.faults.add(graph.rate_limit_fault(code, object_id=object_id, minutes=7))
    limited = api.get(f"/{object_id}")
    error = graph_error(limited, 400, code, transient=True)
    assert error["message"].startswith(f"(#{code}) ")
    assert usage(limited) == {"call_count": 100, "total_cputime": 100, "total_time": 100}
    if code not in (4, 17):
        entry = usage(limited, object_id)
        assert entry["estimated_time_to_regain_access"] == 7
        assert entry["type"] == ("instagram" if code == 80002 else "pages")
    assert fault.fired == 1
    assert api.get(f"/{object_id}").status_code == 200
    with pytest.raises(ValueError, match="object_id"):
        graph.rate_limit_fault(32)
    with pytest.raises(ValueError, match="rate limit"):
        graph.rate_limit_fault(190)


def test_server_error_faults_have_graph_bodies(api: Api, graph: GraphSandbox) -> None:
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=500))
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=503, retry_after=30))
    graph_error(api.publish("1"), 500, 1, transient=True)
    unavailable = api.publish("1")
    graph_error(unavailable, 503, 2, transient=True)
    assert unavailable.headers["Retry-After"] == "30"
    assert "x-app-usage" in unavailable.headers
    graph_error(api.publish("1"), 400, 100, 33)  # faults used up


def test_error_faults_for_policy_spam_and_limit_codes(api: Api, graph: GraphSandbox) -> None:
    graph.faults.add(graph.error_fault(368, message="(#368) Blocked", path=f"/v25.0/{PAGE}/feed"))
    graph.faults.add(graph.error_fault(9, subcode=2207042, path=f"/v25.0/{IG}/media_publish"))
    graph.faults.add(
        graph.error_fault(1, path=f"/v25.0/{IG}", status=500, message="An unknown error occurred")
    )
    graph_error(api.post(f"/{PAGE}/feed", data={"message": "x"}), 400, 368)
    graph_error(api.publish("1"), 400, 9, 2207042)
    graph_error(api.get(f"/{IG}"), 500, 1, transient=True)


def test_latency_and_dropped_connection_faults(api: Api, graph: GraphSandbox) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "slow", delay=0.3))
    started = time.monotonic()
    assert api.get(f"/{PAGE}").status_code == 200
    assert time.monotonic() - started >= 0.3
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "drop"))
    with pytest.raises(requests.ConnectionError):
        api.post(f"/{PAGE}/feed", data={"message": "lost"})
    assert graph.posts() == []  # dropped before it reached the Page
    assert graph.requests[-1].status is None


def test_every_call_is_recorded_with_body_and_status(api: Api, graph: GraphSandbox) -> None:
    api.post(f"/{PAGE}/feed", json={"message": "Halo"})
    api.get("/999")
    posted, missing = list(graph.requests)
    assert (posted.method, posted.path, posted.status) == ("POST", f"/v25.0/{PAGE}/feed", 200)
    assert posted.json() == {"message": "Halo"}
    assert posted.params == {"access_token": TOKEN}
    assert (missing.method, missing.status) == ("GET", 400)
    control = requests.post(f"{graph.url}/_sandbox/faults", json={"path": "/", "kind": "drop"})
    assert control.status_code == 201
    assert len(graph.requests) == 2


# --- listings: paging and published posts -----------------------------------------------------


def test_media_list_is_paged_newest_first_with_cursors_and_time_bounds() -> None:
    with (
        GraphSandbox(clock=lambda: T0, container_ready_after=0, fetch=lambda url: jpeg()) as graph,
        requests.Session() as session,
    ):
        api = Api(session, f"{graph.url}/v25.0")
        for i in range(30):
            container = api.create("https://cdn.example/a.jpg", caption=f"p{i}").json()["id"]
            assert api.publish(container).status_code == 200
            graph.advance(60)
        first = api.get(f"/{IG}/media", params={"fields": "caption"}).json()
        assert [m["caption"] for m in first["data"]] == [f"p{i}" for i in range(29, 4, -1)]
        after = first["paging"]["cursors"]["after"]
        assert first["paging"]["next"].startswith(f"https://graph.facebook.com/v25.0/{IG}/media?")
        next_query = parse_qs(urlsplit(first["paging"]["next"]).query)
        assert next_query["after"] == [after] and next_query["access_token"] == [TOKEN]
        second = api.get(f"/{IG}/media", params={"fields": "caption", "after": after}).json()
        assert [m["caption"] for m in second["data"]] == ["p4", "p3", "p2", "p1", "p0"]
        assert "paging" not in second
        small = api.get(f"/{IG}/media", params={"limit": "2"}).json()
        assert len(small["data"]) == 2 and "paging" in small
        since = int((T0 + timedelta(minutes=27)).timestamp())
        recent = api.get(f"/{IG}/media", params={"fields": "caption", "since": str(since)})
        assert [m["caption"] for m in recent.json()["data"]] == ["p29", "p28", "p27"]
        until = api.get(f"/{IG}/media", params={"fields": "caption", "until": "2026-11-25T03:01Z"})
        assert [m["caption"] for m in until.json()["data"]] == ["p1", "p0"]
        graph_error(api.get(f"/{IG}/media", params={"limit": "101"}), 400, 100)
        graph_error(api.get(f"/{IG}/media", params={"after": "bm9wZQ=="}), 400, 100)
        graph_error(api.get(f"/{IG}/media", params={"since": "soon"}), 400, 100)


def test_published_posts_lists_what_went_out_newest_first(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    first = api.post(f"/{PAGE}/feed", data={"message": "satu"}).json()["id"]
    graph.advance(60)
    photo = api.post(
        f"/{PAGE}/photos", data={"url": f"{files.url}/media/square.jpg", "caption": "dua"}
    ).json()["post_id"]
    later = api.post(
        f"/{PAGE}/feed",
        data={"message": "nanti", "published": "false", "scheduled_publish_time": "2026-11-26"},
    ).json()["id"]
    listed = api.get(f"/{PAGE}/published_posts", params={"fields": "message"}).json()
    assert listed == {"data": [{"id": photo, "message": "dua"}, {"id": first, "message": "satu"}]}
    since = int((T0 + timedelta(seconds=30)).timestamp())
    recent = api.get(f"/{PAGE}/published_posts", params={"since": str(since)}).json()["data"]
    assert [p["id"] for p in recent] == [photo]
    graph.advance(24 * 3600)
    ids = [p["id"] for p in api.get(f"/{PAGE}/published_posts").json()["data"]]
    assert ids == [later, photo, first]
    api.call("DELETE", f"/{photo}")
    assert [p["id"] for p in api.get(f"/{PAGE}/published_posts").json()["data"]] == [later, first]
    graph_error(api.get(f"/{IG}/published_posts"), 400, 100)


def test_an_expired_item_spoils_its_carousel(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    """Instagram's -2/2207020 ("has expired") for a carousel made of, or published with, an
    item older than 24 h; slow items (`carousel_item_ready_after`) are refused while unready."""
    url = f"{files.url}/media/square.jpg"
    with graph._lock:
        graph.carousel_item_ready_after = 600
    old = [api.create(url, is_carousel_item="true").json()["id"] for _ in range(2)]
    graph.advance(300)
    carousel = {"media_type": "CAROUSEL", "children": ",".join(old), "caption": "Dua"}
    graph_error(api.post(f"/{IG}/media", data=carousel), 400, 100, 2207028)  # still processing
    graph.advance(300)
    parent = api.post(f"/{IG}/media", data=carousel).json()["id"]
    graph.advance(24 * 3600 - 600)  # the items are 24 h old, the carousel not yet
    assert api.status(old[0]) == "EXPIRED"
    graph_error(api.publish(parent), 400, -2, 2207020)
    graph_error(api.post(f"/{IG}/media", data=carousel), 400, -2, 2207020)
    assert graph.media() == []
