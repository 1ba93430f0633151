"""The sandboxes serve insights as the real APIs do (docs/reference/platforms.md, "Reading
results back"), over real sockets: Instagram media insights, Facebook Page post fields and
insights, many objects through `?ids=`, YouTube statistics; every error (retired and unknown
metrics, too many ids, deleted objects, carousel items, lag, permissions, limits, quota); and
figures that grow deterministically over the sandbox clock (ifn_sandbox.metrics)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_sandbox.graph import (
    IG_METRICS,
    IG_RETIRED_METRICS,
    MAX_IDS,
    GraphAccount,
    GraphSandbox,
)
from ifn_sandbox.metrics import BASE, LAG, figures, post_factor, slot_factor
from ifn_sandbox.registry import RegistrySandbox
from ifn_sandbox.youtube import YouTubeSandbox
from tests.support.graph_api import Api, graph_error, jpeg
from tests.support.youtube_api import RESOURCE, google_error, upload

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday 19:00 WIB: a good slot
ACCOUNT = GraphAccount()
IG, PAGE, TOKEN = ACCOUNT.ig_user_id, ACCOUNT.page_id, ACCOUNT.token
IG_ALL = ",".join(IG_METRICS)
FB_FIELDS = (
    "insights.metric(post_total_media_view_unique,post_total_media_view),"
    "reactions.summary(true).limit(0),comments.summary(true).limit(0),shares"
)
HOUR, DAY = 3600, 86400


@pytest.fixture(scope="module")
def files() -> Iterator[RegistrySandbox]:
    with RegistrySandbox(members=[]) as sandbox:
        sandbox.add_file("square.jpg", jpeg(), "image/jpeg")
        yield sandbox


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox(clock=lambda: T0, container_ready_after=0) as sandbox:
        yield sandbox


@pytest.fixture
def api(graph: GraphSandbox) -> Iterator[Api]:
    with requests.Session() as session:
        yield Api(session, f"{graph.url}/v25.0")


def publish_ig(api: Api, files: RegistrySandbox, *, carousel: bool = False) -> str:
    url = f"{files.url}/media/square.jpg"
    if carousel:
        items = [api.create(url, is_carousel_item="true").json()["id"] for _ in range(2)]
        created = api.post(
            f"/{IG}/media", data={"media_type": "CAROUSEL", "children": ",".join(items)}
        )
    else:
        created = api.create(url, caption="Halo")
    assert created.status_code == 200, created.text
    published = api.publish(created.json()["id"])
    assert published.status_code == 200, published.text
    return str(published.json()["id"])


def publish_fb(api: Api, message: str, **params: Any) -> str:
    answer = api.post(f"/{PAGE}/feed", data={"message": message, **params})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def expected_ig(media_id: str, went_live: datetime, now: datetime) -> list[dict[str, Any]]:
    values = figures("instagram", media_id, went_live, now)
    return [
        {
            "name": name,
            "period": "lifetime",
            "values": [{"value": values[name]}],
            "title": IG_METRICS[name][0],
            "description": IG_METRICS[name][1],
            "id": f"{media_id}/insights/{name}/lifetime",
        }
        for name in IG_METRICS
    ]


def fb_body(post_id: str, went_live: datetime | None, now: datetime) -> dict[str, Any]:
    """What the contract says a Page post read with FB_FIELDS answers."""
    values = (
        figures("facebook", post_id, went_live, now)
        if went_live is not None
        else {"reactions": 0, "comments": 0, "shares": 0}
    )
    insights: list[dict[str, Any]] = []
    if went_live is not None:
        insights = [
            {"name": n, "period": "lifetime", "values": [{"value": values[n]}]}
            for n in ("post_total_media_view_unique", "post_total_media_view")
        ]
    body: dict[str, Any] = {
        "id": post_id,
        "insights": {"data": insights},
        "reactions": {
            "data": [],
            "summary": {"total_count": values["reactions"], "viewer_reaction": "NONE"},
        },
        "comments": {
            "data": [],
            "summary": {"order": "ranked", "total_count": values["comments"], "can_comment": True},
        },
    }
    if values["shares"]:
        body["shares"] = {"count": values["shares"]}
    return body


def strip(body: dict[str, Any]) -> dict[str, Any]:
    """A post body with each insight cut to what the contract fixes (name, period, values)."""
    out = dict(body)
    if "insights" in out:
        out["insights"] = {
            "data": [
                {k: e[k] for k in ("name", "period", "values")} for e in out["insights"]["data"]
            ]
        }
    return out


# --- Instagram ------------------------------------------------------------------------------


def test_instagram_media_insights_lag_then_every_metric(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    media_id = publish_ig(api, files)
    went_live = graph.now()
    direct = api.get(f"/{media_id}/insights", params={"metric": IG_ALL})
    error = graph_error(direct, 400, 10)
    assert error["message"] == "(#10) Not enough viewers for the media to show insights"
    expanded = api.get(f"/{media_id}", params={"fields": f"insights.metric({IG_ALL})"})
    assert expanded.json() == {"id": media_id, "insights": {"data": []}}  # empty, never zeros
    many = api.get("/", params={"ids": media_id, "fields": f"insights.metric({IG_ALL})"})
    assert many.json() == {media_id: {"id": media_id, "insights": {"data": []}}}

    graph.advance(LAG.total_seconds())
    for age in (HOUR, DAY, 7 * DAY, 28 * DAY):
        graph.advance(age - (graph.now() - went_live).total_seconds())
        now = graph.now()
        direct = api.get(f"/{media_id}/insights", params={"metric": IG_ALL, "period": "lifetime"})
        assert direct.status_code == 200, direct.text
        assert direct.json() == {"data": expected_ig(media_id, went_live, now)}
        both = api.get(
            "/", params={"ids": media_id, "fields": f"permalink,insights.metric({IG_ALL})"}
        ).json()
        assert both[media_id]["insights"] == direct.json()
        assert both[media_id]["permalink"].startswith("https://www.instagram.com/p/")
    final = {e["name"]: e["values"][0]["value"] for e in direct.json()["data"]}
    assert final["reach"] > 0 and final["views"] >= final["reach"]
    assert final["total_interactions"] == sum(
        final[n] for n in ("likes", "comments", "saved", "shares")
    )
    only = api.get(f"/{media_id}/insights", params={"metric": "saved,reach"}).json()
    assert [e["name"] for e in only["data"]] == ["saved", "reach"]  # the order asked


@pytest.mark.parametrize("metric", IG_RETIRED_METRICS)
def test_retired_instagram_metrics_are_code_100_naming_them(
    api: Api, graph: GraphSandbox, files: RegistrySandbox, metric: str
) -> None:
    media_id = publish_ig(api, files)
    graph.advance(DAY)
    error = graph_error(
        api.get(f"/{media_id}/insights", params={"metric": f"reach,{metric}"}), 400, 100
    )
    assert metric in error["message"] and "v22.0" in error["message"]
    expanded = api.get("/", params={"ids": media_id, "fields": f"insights.metric({metric})"})
    assert metric in graph_error(expanded, 400, 100)["message"]


def test_unknown_missing_and_malformed_instagram_metrics(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    media_id = publish_ig(api, files)
    graph.advance(DAY)
    for params in (
        {"metric": "reach,follower_count"},
        {"metric": "post_total_media_view_unique"},
        {},
        {"metric": " , "},
        {"metric": "reach", "period": "day"},
    ):
        graph_error(api.get(f"/{media_id}/insights", params=params), 400, 100)
    for fields in (
        "insights",
        "insights.metric(reach",
        "insights.metric(reach))",
        "insights.metric(reach).since(1)",
        "insights{values}",
        "reactions.summary(true)",
        "like_count.limit(1)",
    ):
        graph_error(api.get(f"/{media_id}", params={"fields": fields}), 400, 100)


def test_carousel_album_has_insights_its_items_none(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    album = publish_ig(api, files, carousel=True)
    graph.advance(DAY)
    items = api.get(f"/{album}/children").json()["data"]
    assert len(items) == 2
    assert api.get(f"/{album}", params={"fields": "children"}).json()["children"]["data"] == items
    assert api.get(f"/{album}/insights", params={"metric": "reach"}).status_code == 200
    item = items[0]["id"]
    error = graph_error(api.get(f"/{item}/insights", params={"metric": "reach"}), 400, 100)
    assert album in error["message"]
    graph_error(
        api.get("/", params={"ids": f"{album},{item}", "fields": "insights.metric(reach)"}),
        400,
        100,
    )
    assert [m.id for m in graph.media()] == [album]  # items are not listed as posts
    assert [m.parent_id for m in graph.carousel_items(album)] == [album, album]


def test_deleted_media_alone_is_100_33_among_ids_803_listing_them(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    kept, gone, album = (publish_ig(api, files), publish_ig(api, files), publish_ig(api, files))
    post = publish_fb(api, "Akan dihapus")
    graph.advance(DAY)
    graph.delete_in_app(gone)
    control = requests.delete(f"{graph.url}/_sandbox/posts/{post}", timeout=5)
    assert control.json() == {"deleted": post}
    assert requests.delete(f"{graph.url}/_sandbox/posts/nope", timeout=5).status_code == 404
    graph.delete_in_app(album)
    with pytest.raises(KeyError):
        graph.delete_in_app("17899999999999999")
    for object_id in (gone, post, album):
        alone = graph_error(
            api.get(f"/{object_id}/insights", params={"metric": "reach"}), 400, 100, 33
        )
        assert alone["message"].startswith(
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation"
        )
        graph_error(api.get(f"/{object_id}", params={"fields": "id"}), 400, 100, 33)
    many = api.get(
        "/", params={"ids": f"{kept},{gone},{post},404", "fields": "insights.metric(reach)"}
    )
    error = graph_error(many, 404, 803)
    assert error["message"] == (
        f"(#803) Some of the aliases you requested do not exist: {gone},{post},404"
    )
    assert [m.id for m in graph.media()] == [kept]
    assert {m.id for m in graph.media(deleted=True)} == {kept, gone, album}
    assert api.get(f"/{IG}/media").json()["data"] == [{"id": kept}]


# --- Facebook -------------------------------------------------------------------------------


def test_page_post_fields_and_insights_grow_and_shares_appear_only_once_shared(
    api: Api, graph: GraphSandbox
) -> None:
    posts = [publish_fb(api, f"Sorotan {n}") for n in range(4)]
    went_live = graph.now()
    graph.advance(60)
    early = api.get(f"/{posts[0]}", params={"fields": FB_FIELDS}).json()
    assert strip(early) == fb_body(posts[0], went_live, graph.now())
    assert "shares" not in early  # nobody shared yet: absent, as on the real API
    shared = 0
    for age in (HOUR, DAY, 7 * DAY, 28 * DAY):
        graph.advance(age - (graph.now() - went_live).total_seconds())
        for post in posts:
            body = api.get(f"/{post}", params={"fields": FB_FIELDS}).json()
            assert strip(body) == fb_body(post, went_live, graph.now())
            shared += "shares" in body
        entry = body["insights"]["data"][0]
        assert entry["id"] == f"{post}/insights/post_total_media_view_unique/lifetime"
        assert entry["title"] and entry["description"]
    assert shared > 0
    direct = api.get(
        f"/{posts[0]}/insights", params={"metric": "post_total_media_view_unique,post_clicks"}
    ).json()
    values = figures("facebook", posts[0], went_live, graph.now())
    assert [(e["name"], e["values"]) for e in direct["data"]] == [
        ("post_total_media_view_unique", [{"value": values["post_total_media_view_unique"]}]),
        ("post_clicks", [{"value": values["post_clicks"]}]),
    ]
    bare = api.get(f"/{posts[0]}", params={"fields": "reactions,comments.limit(0)"}).json()
    assert bare == {"id": posts[0], "reactions": {"data": []}, "comments": {"data": []}}


@pytest.mark.parametrize(
    "metric",
    ["post_impressions", "post_impressions_unique", "post_impressions_organic", "reach", "x"],
)
def test_retired_and_unknown_page_post_metrics(api: Api, graph: GraphSandbox, metric: str) -> None:
    post = publish_fb(api, "Halo")
    graph.advance(DAY)
    direct = api.get(f"/{post}/insights", params={"metric": f"post_clicks,{metric}"})
    assert graph_error(direct, 400, 100)["message"] == (
        "(#100) The value must be a valid insights metric"
    )
    expanded = api.get(f"/{post}", params={"fields": f"insights.metric({metric})"})
    graph_error(expanded, 400, 100)
    for fields in ("shares.limit(1)", "reactions.summary(maybe)", "comments.limit(x)",
                   "reactions.order(chronological)", "saved"):  # fmt: skip
        graph_error(api.get(f"/{post}", params={"fields": fields}), 400, 100)


def test_scheduled_page_post_has_no_insights_until_it_is_out(api: Api, graph: GraphSandbox) -> None:
    when = T0 + timedelta(hours=2)
    post = publish_fb(
        api, "Nanti", published="false", scheduled_publish_time=str(int(when.timestamp()))
    )
    graph.advance(HOUR)
    body = api.get(f"/{post}", params={"fields": FB_FIELDS}).json()
    assert body == fb_body(post, None, graph.now())
    assert api.get(f"/{post}/insights", params={"metric": "post_clicks"}).json() == {"data": []}
    graph.advance(HOUR + DAY)
    body = api.get(f"/{post}", params={"fields": FB_FIELDS}).json()
    assert strip(body) == fb_body(post, when, graph.now())  # grows from its scheduled time
    assert body["insights"]["data"][0]["values"][0]["value"] > 0


# --- many objects in one call -----------------------------------------------------------------


def test_ids_read_mixes_platforms_counts_each_id_and_stops_at_50(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    media = publish_ig(api, files)
    posts = [publish_fb(api, f"Pos {n}") for n in range(MAX_IDS - 1)]
    went_live = graph.now()
    graph.advance(DAY)
    ig_only = api.get("/", params={"ids": media, "fields": "insights.metric(reach),media_type"})
    assert ig_only.json()[media]["media_type"] == "IMAGE"
    mixed = api.get("/", params={"ids": f"{media},{posts[0]},{media}", "fields": "id"})
    assert mixed.json() == {media: {"id": media}, posts[0]: {"id": posts[0]}}
    read = api.get("/", params={"ids": ",".join(posts), "fields": FB_FIELDS})
    assert read.status_code == 200, read.text
    now = graph.now()
    assert {k: strip(v) for k, v in read.json().items()} == {
        p: fb_body(p, went_live, now) for p in posts
    }
    usage = json.loads(mixed.headers["x-business-use-case-usage"])
    assert set(usage) == {PAGE, IG}
    assert usage[IG][0]["type"] == "instagram" and usage[PAGE][0]["type"] == "pages"
    too_many = api.get("/", params={"ids": ",".join([media, *posts, "1"]), "fields": "id"})
    assert graph_error(too_many, 400, 100)["message"] == "(#100) Too many IDs. Maximum: 50."
    fifty = api.get("/", params={"ids": ",".join([media, *posts]), "fields": "id"})
    assert len(fifty.json()) == MAX_IDS
    graph_error(api.get("/", params={"ids": " , ", "fields": "id"}), 400, 100)
    graph.add_token("other-token", ["100000000000002"])
    hidden = api.get("/", params={"ids": f"{posts[0]},{media}"}, token="other-token")
    assert graph_error(hidden, 404, 803)["message"].endswith(f": {posts[0]},{media}")


def test_insights_need_their_permissions(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    media, post = publish_ig(api, files), publish_fb(api, "Halo")
    graph.advance(DAY)
    scopes = {"pages_show_list", "pages_manage_posts", "pages_read_engagement"}
    graph.add_token("no-ig-insights", [PAGE, IG], scopes=scopes | {"read_insights"})
    graph.add_token("no-page-insights", [PAGE, IG], scopes=scopes | {"instagram_manage_insights"})
    ig = {"metric": "reach"}
    graph_error(api.get(f"/{media}/insights", params=ig, token="no-ig-insights"), 403, 10)
    graph_error(
        api.get(
            "/", params={"ids": media, "fields": "insights.metric(reach)"}, token="no-ig-insights"
        ),
        403,
        10,
    )
    assert api.get(f"/{media}/insights", params=ig, token="no-page-insights").status_code == 200
    fb = {"metric": "post_clicks"}
    graph_error(api.get(f"/{post}/insights", params=fb, token="no-page-insights"), 403, 200)
    graph_error(
        api.get(f"/{post}", params={"fields": FB_FIELDS}, token="no-page-insights"), 403, 200
    )
    assert api.get(f"/{post}/insights", params=fb, token="no-ig-insights").status_code == 200
    plain = api.get(
        f"/{post}", params={"fields": "reactions.summary(true)"}, token="no-page-insights"
    )
    assert plain.status_code == 200  # counts are not insights
    graph.invalidate_token(TOKEN, subcode=460)
    graph_error(api.get("/", params={"ids": post, "fields": "id"}), 400, 190, 460)


def test_limits_blocks_and_faults_apply_to_insight_reads(
    api: Api, graph: GraphSandbox, files: RegistrySandbox
) -> None:
    media, post = publish_ig(api, files), publish_fb(api, "Halo")
    graph.advance(DAY)
    ids = {"ids": f"{media},{post}", "fields": "insights.metric(reach)"}
    graph.faults.add(graph.rate_limit_fault(80002, object_id=IG))
    limited = api.get(f"/{media}/insights", params={"metric": "reach"})
    graph_error(limited, 400, 80002, transient=True)
    assert IG in limited.headers["x-business-use-case-usage"]
    graph.faults.add(
        graph.error_fault(2, status=503, message="(#2) Service temporarily unavailable")
    )
    graph_error(api.get("/", params=ids), 503, 2, transient=True)
    graph.block(IG, minutes=30)
    blocked = api.get("/", params={"ids": f"{post},{media}", "fields": "id"})
    graph_error(blocked, 400, 80002, transient=True)
    assert api.get("/", params={"ids": post, "fields": "id"}).status_code == 200
    graph.advance(31 * 60)
    assert api.get("/", params={"ids": f"{post},{media}", "fields": "id"}).status_code == 200
    graph.block(None, minutes=5)  # the whole app: limits come before a missing id's 803
    graph_error(api.get("/", params={"ids": f"{post},404", "fields": "id"}), 400, 4, transient=True)
    graph.advance(6 * 60)
    graph_error(api.get("/", params={"ids": f"{post},404", "fields": "id"}), 404, 803)


def test_each_id_counts_as_one_call_up_to_the_block(files: RegistrySandbox) -> None:
    """A business capacity of 100 calls an hour makes its percentages call counts (the app's
    200: halves)."""
    graph = GraphSandbox(
        clock=lambda: T0,
        container_ready_after=0,
        app_calls_per_hour=200,
        business_calls_per_hour=100,
    )
    with graph, requests.Session() as session:
        api = Api(session, f"{graph.url}/v25.0")
        media = publish_ig(api, files)  # two calls about the Instagram account
        posts = [publish_fb(api, f"Pos {n}") for n in range(3)]
        assert (graph.usage(), graph.usage(PAGE), graph.usage(IG)) == (5 // 2, 3, 2)
        read = api.get("/", params={"ids": ",".join([media, *posts]), "fields": "id"})
        assert read.status_code == 200
        assert (graph.usage(), graph.usage(PAGE), graph.usage(IG)) == (9 // 2, 6, 3)
        usage = json.loads(read.headers["x-business-use-case-usage"])
        assert (usage[PAGE][0]["call_count"], usage[IG][0]["call_count"]) == (6, 3)
        assert json.loads(read.headers["x-app-usage"])["call_count"] == 9 // 2
        for _ in range(31):  # 93 calls more about the Page
            assert api.get("/", params={"ids": ",".join(posts), "fields": "id"}).status_code == 200
        assert graph.usage(PAGE) == 99
        last = api.get("/", params={"ids": ",".join(posts), "fields": "id"})
        assert last.status_code == 200  # the Page was at 99%: answered, now over
        graph_error(api.get("/", params={"ids": posts[0]}), 400, 32, transient=True)
        graph_error(api.get(f"/{posts[0]}"), 400, 32, transient=True)
        assert api.get("/", params={"ids": media}).status_code == 200  # its own budget


# --- YouTube ----------------------------------------------------------------------------------


@pytest.fixture
def yt() -> Iterator[YouTubeSandbox]:
    with YouTubeSandbox(clock=lambda: T0) as sandbox:
        yield sandbox


def statistics(
    yt: YouTubeSandbox, auth: dict[str, str], ids: list[str], part: str = "statistics"
) -> requests.Response:
    return requests.get(
        f"{yt.url}/youtube/v3/videos",
        params={"part": part, "id": ",".join(ids)},
        headers=auth,
        timeout=5,
    )


def test_youtube_statistics_grow_as_strings_hidden_likes_missing_videos(
    yt: YouTubeSandbox,
) -> None:
    auth = {"Authorization": f"Bearer {yt.issue_access_token(expires_in=60 * DAY)}"}
    with requests.Session() as http:
        public = upload(http, yt, auth)["id"]
        later = T0 + timedelta(days=1)
        scheduled = upload(
            http,
            yt,
            auth,
            {
                "snippet": RESOURCE["snippet"],
                "status": {"privacyStatus": "private", "publishAt": later.isoformat()},
            },
        )["id"]
        gone = upload(http, yt, auth)["id"]
    deleted = requests.delete(
        f"{yt.url}/youtube/v3/videos", params={"id": gone}, headers=auth, timeout=5
    )
    assert deleted.status_code == 204
    yt.advance(HOUR)
    answer = statistics(yt, auth, [public, scheduled, gone, "nope"])
    body = answer.json()
    assert body["kind"] == "youtube#videoListResponse"
    assert body["pageInfo"] == {"totalResults": 2, "resultsPerPage": 2}
    values = figures("youtube", public, T0, yt.now())
    assert [(i["kind"], i["id"], i["statistics"]) for i in body["items"]] == [
        (
            "youtube#video",
            public,
            {
                "viewCount": str(values["views"]),
                "likeCount": str(values["likes"]),
                "favoriteCount": "0",
                "commentCount": str(values["comments"]),
            },
        ),
        (
            "youtube#video",
            scheduled,
            {"viewCount": "0", "likeCount": "0", "favoriteCount": "0", "commentCount": "0"},
        ),
    ]
    yt.advance(DAY)
    yt.hide_likes(public)
    items = statistics(yt, auth, [public, scheduled]).json()["items"]
    assert "likeCount" not in items[0]["statistics"]
    views = [int(i["statistics"]["viewCount"]) for i in items]
    assert views == [
        figures("youtube", public, T0, yt.now())["views"],
        figures("youtube", scheduled, later, yt.now())["views"],
    ]
    assert views[0] > views[1] > 0  # public a day longer
    hidden = requests.post(f"{yt.url}/_sandbox/videos/{scheduled}/hide_likes", timeout=5)
    assert hidden.status_code == 200
    assert "likeCount" not in statistics(yt, auth, [scheduled]).json()["items"][0]["statistics"]
    assert requests.post(f"{yt.url}/_sandbox/videos/nope/hide_likes", timeout=5).status_code == 404
    both = statistics(yt, auth, [public], part="snippet,statistics").json()["items"][0]
    assert {"snippet", "statistics"} <= set(both)


def test_youtube_50_ids_one_unit_more_refused_then_quota_runs_out() -> None:
    with YouTubeSandbox(clock=lambda: T0, daily_units=10) as yt:
        quota_runs_out(yt)


def quota_runs_out(yt: YouTubeSandbox) -> None:
    auth = {"Authorization": f"Bearer {yt.issue_access_token(expires_in=2 * DAY)}"}
    fifty = [f"v{n:010d}" for n in range(50)]
    answer = statistics(yt, auth, fifty)
    assert answer.status_code == 200 and answer.json()["items"] == []
    assert yt.quota_used() == 1  # one unit whatever the number of ids
    item = google_error(statistics(yt, auth, [*fifty, "one-more"]), 400, "invalidFilters",
                        "youtube.parameter")  # fmt: skip
    assert "50" in item["message"]
    for _ in range(9):
        assert statistics(yt, auth, fifty[:1]).status_code == 200
    assert yt.quota_used() == 10
    google_error(statistics(yt, auth, fifty[:1]), 403, "quotaExceeded", "youtube.quota")
    yt.advance(DAY)  # past midnight Pacific
    assert statistics(yt, auth, fifty[:1]).status_code == 200
    yt.faults.add(yt.error_fault(503, "backendError"))
    google_error(statistics(yt, auth, fifty[:1]), 503, "backendError")
    yt.faults.add(yt.rate_limit_fault())
    google_error(statistics(yt, auth, fifty[:1]), 403, "rateLimitExceeded", "usageLimits")


def test_two_sandboxes_serve_the_same_figures_for_the_same_post() -> None:
    """Ids are given in order and figures hash the id: a rerun of the demo sees the same
    numbers at the same sandbox time."""
    seen = []
    for _ in range(2):
        with GraphSandbox(clock=lambda: T0) as graph, requests.Session() as session:
            api = Api(session, f"{graph.url}/v25.0")
            post = publish_fb(api, "Sama")
            graph.advance(3 * DAY)
            seen.append((post, api.get(f"/{post}", params={"fields": FB_FIELDS}).json()))
    assert seen[0] == seen[1]
    assert seen[0][1]["insights"]["data"][0]["values"][0]["value"] > 0


# --- the figures ------------------------------------------------------------------------------

_times = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(
    channel=st.sampled_from(sorted(BASE)),
    remote_id=st.text(min_size=1, max_size=40),
    went_live=_times,
    ages=st.tuples(
        st.floats(min_value=-DAY, max_value=400 * DAY, allow_nan=False),
        st.floats(min_value=0, max_value=400 * DAY, allow_nan=False),
    ),
)
def test_figures_never_decrease_and_repeat(
    channel: str, remote_id: str, went_live: datetime, ages: tuple[float, float]
) -> None:
    t1 = went_live + timedelta(seconds=ages[0])
    t2 = t1 + timedelta(seconds=ages[1])
    first, second = (
        figures(channel, remote_id, went_live, t1),
        figures(channel, remote_id, went_live, t2),
    )
    assert first.keys() == second.keys()
    assert all(0 <= first[k] <= second[k] for k in first)
    assert figures(channel, remote_id, went_live, t2) == second
    assert 0.4 <= post_factor(channel, remote_id) <= 1.6


def test_slot_factors_weekday_evening_best_sunday_night_worst() -> None:
    evening = [slot_factor(day, hour) for day in range(5) for hour in (19, 20, 21)]
    working = [slot_factor(day, hour) for day in range(5) for hour in range(9, 17)]
    late = [slot_factor(day, hour) for day in range(7) for hour in (0, 1, 2, 3)]
    sunday_night = [slot_factor(6, hour) for hour in range(19, 24)]
    assert min(evening) > max(working) > max(late)
    assert max(sunday_night) <= min(late)
    assert min(evening) >= 1.3 and max(evening) <= 1.5
    assert min(sunday_night) >= 0.3 and max(late) <= 0.5
    # the same post, two slots a few days apart: the evening one reaches more people
    tuesday_evening = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)  # 20:00 WIB
    sunday_night_at = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 22:00 WIB
    week = timedelta(days=7)
    high = figures("instagram", "x", tuesday_evening, tuesday_evening + week)["reach"]
    low = figures("instagram", "x", sunday_night_at, sunday_night_at + week)["reach"]
    assert high > 3 * low
    with pytest.raises(ValueError, match="channel"):
        figures("tiktok", "x", T0, T0)


_FIELD_CHARS = st.sampled_from([*"abcdefimnorstu_.,(){}0123456789 ", "\x00", "é", "%"])


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.text(_FIELD_CHARS, max_size=60), ids=st.text(_FIELD_CHARS, max_size=60))
def test_hostile_fields_and_ids_get_a_graph_error_never_a_crash(
    api: Api, graph: GraphSandbox, fields: str, ids: str
) -> None:
    post = publish_fb(api, f"Pos {len(graph.posts())}")
    for path, params in (
        (f"/{post}", {"fields": fields}),
        ("/", {"ids": ids, "fields": fields}),
        (f"/{post}/insights", {"metric": fields}),
    ):
        answer = api.get(path, params=params)
        if answer.status_code != 200:
            error = answer.json()["error"]
            assert answer.status_code in (400, 403, 404), answer.text
            assert error["code"] in (100, 200, 803, 2500), answer.text
