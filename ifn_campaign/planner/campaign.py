"""Campaigns: validated TOML data in templates/campaigns/<name>.toml.

A campaign says which channels and accounts it posts on, at which weekly local times, between
which dates, with which card template and hashtags, and how holidays and blackout dates are
treated. Staff edit these files, so every error names the file and the key path
("channels[1].slots[0].time") and says what to write instead. Times are written in the campaign's
timezone (WIB by default); slots.py turns them into UTC.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ifn_campaign import bundled
from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import CampaignFileError, SettingsError

__all__ = [
    "CAMPAIGNS_DIR",
    "Campaign",
    "CampaignFile",
    "CampaignFileError",
    "ChannelPlan",
    "DateRange",
    "Diversity",
    "HolidayRule",
    "SlotRule",
    "campaign_paths",
    "default_campaigns_dir",
    "load_campaign",
    "load_campaigns",
    "read_campaign_files",
]

CAMPAIGNS_DIR = bundled.templates("campaigns")
SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
TEMPLATE_NAME = r"^[a-z][a-z0-9-]*$"  # as ifn_campaign.cards.template.template_path accepts
HOLIDAY_CATEGORIES: tuple[str, ...] = tuple(holidays_lib.ID.supported_categories)
DIVERSITY_KEYS = ("category", "province", "actor_type")
_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

# Day names staff may write; 0 is Monday, as datetime.date.weekday() counts.
DAY_NAMES: dict[str, int] = {
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        name: i
        for i, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{
        name: i
        for i, name in enumerate(("senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"))
    },
    "jum'at": 4,
    "ahad": 6,
}


class HolidayRule(StrEnum):
    """What happens to a slot on a holiday: dropped, moved to the next working day, or kept."""

    SKIP = "skip"
    MOVE = "move"  # next working day (Mon-Fri, not a holiday, not blackout), same local time
    IGNORE = "ignore"


class _KeyedError(ValueError):
    """A validation error about one part of a value; `key` ("[2]", ".colour") extends the path."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _from_toml(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("source") == "toml"


class SlotRule(_Strict):
    """One weekly rule: these days at this local time."""

    days: Annotated[list[int], Field(min_length=1)]
    time: dt.time

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, list):
            return value  # pydantic says "should be a valid list"
        days: list[int] = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                day = DAY_NAMES.get(item.strip().lower())
                if day is None:
                    raise _KeyedError(
                        f"unknown day {item!r} (write mon..sun or senin..minggu)", f"[{i}]"
                    )
            elif isinstance(item, int) and not isinstance(item, bool) and not _from_toml(info):
                if not 0 <= item <= 6:
                    raise _KeyedError("a day number is 0 (Monday) to 6 (Sunday)", f"[{i}]")
                day = item
            else:
                raise _KeyedError(
                    f"write a day name (mon..sun or senin..minggu), not {item!r}", f"[{i}]"
                )
            if day in days:
                raise _KeyedError(f"day {item!r} is listed twice", f"[{i}]")
            days.append(day)
        return sorted(days)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> dt.time:
        if isinstance(value, str):
            match = _HH_MM.match(value.strip())
            if not match:
                raise ValueError(
                    f'{value!r} is not a time: write "HH:MM" in 24 hours, e.g. "19:00"'
                )
            return dt.time(int(match[1]), int(match[2]))
        if isinstance(value, dt.time):
            if value.tzinfo is not None:
                raise ValueError("write the local time without an offset (set `timezone` instead)")
            if value.second or value.microsecond:
                raise ValueError('slots are whole minutes: write "HH:MM"')
            return value
        raise ValueError(f'write the time as "HH:MM" (e.g. "19:00"), not {value!r}')


class ChannelPlan(_Strict):
    """Where a campaign posts (a channel on one account) and when."""

    channel: Channel
    account: Annotated[str, Field(pattern=SLUG)] = "bpipi"
    slots: Annotated[list[SlotRule], Field(min_length=1)]
    template: Annotated[str, Field(pattern=TEMPLATE_NAME)] | None = None

    @field_validator("slots")
    @classmethod
    def _distinct(cls, value: list[SlotRule]) -> list[SlotRule]:
        seen: set[tuple[int, dt.time]] = set()
        for i, rule in enumerate(value):
            for day in rule.days:
                if (day, rule.time) in seen:
                    raise _KeyedError(
                        f"{_DAY_ABBR[day]} {rule.time:%H:%M} is already in an earlier rule",
                        f"[{i}]",
                    )
                seen.add((day, rule.time))
        return value


_DAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Diversity(_Strict):
    """Limits that keep a feed varied; 0 means no limit. Missing keys keep their defaults."""

    max_in_a_row: dict[str, Annotated[StrictInt, Field(ge=0)]] = {
        "category": 2,
        "province": 2,
        "actor_type": 3,
    }
    max_per_week: dict[str, Annotated[StrictInt, Field(ge=0)]] = {
        "category": 2,
        "province": 2,
        "actor_type": 0,
    }

    @field_validator("max_in_a_row", "max_per_week", mode="after")
    @classmethod
    def _keys(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        for key in value:
            if key not in DIVERSITY_KEYS:
                raise _KeyedError(f"unknown key (use {', '.join(DIVERSITY_KEYS)})", f".{key}")
        defaults = cls.model_fields[str(info.field_name)].default
        return {key: value.get(key, defaults[key]) for key in DIVERSITY_KEYS}


class DateRange(_Strict):
    """Inclusive dates, written `{ from = 2027-03-08, to = 2027-03-14 }`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")

    @field_validator("end")
    @classmethod
    def _ordered(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and value < start:
            raise ValueError(f"`to` ({value}) is before `from` ({start})")
        return value

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def _blackout_kind(value: Any) -> str:
    return "range" if isinstance(value, dict | DateRange) else "date"


Blackout = Annotated[
    Annotated[dt.date, Tag("date")] | Annotated[DateRange, Tag("range")],
    Discriminator(_blackout_kind),
]


class Campaign(_Strict):
    """A named series of features: channels, weekly slots, dates, templates, rules."""

    name: Annotated[str, Field(pattern=SLUG)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = ""
    start: dt.date
    end: dt.date | None = None
    timezone: str = "Asia/Jakarta"
    channels: Annotated[list[ChannelPlan], Field(min_length=1)]
    template: Annotated[str, Field(pattern=TEMPLATE_NAME)] = "sorotan"
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    cooldown_days: Annotated[StrictInt, Field(ge=0)] = 90
    auto_approve: StrictBool = False
    # whoever last edited a post's caption may not approve it: someone else must
    four_eyes: StrictBool = False
    language: Literal["id", "en"] = "id"
    seed: StrictInt = 0
    holidays: HolidayRule = HolidayRule.MOVE
    holiday_categories: list[str] = ["public", "government"]
    blackout: list[Blackout] = []
    diversity: Diversity = Diversity()
    # within a rotation round, who comes first: "posts" (the round's order) or "reach" (members
    # whose earlier features reached fewest people first; ifn_campaign/insights)
    fair_by: Literal["posts", "reach"] = "posts"
    # at the next plan, move the weekly slot the account's own history shows reaching fewest
    # people to the best-supported alternative (ifn_campaign/insights/slot_advice.py)
    replace_weakest_slot: StrictBool = False

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise ValueError(f"end ({value}) is before start ({start})")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a directory
            raise ValueError(
                f"unknown timezone {value!r}: write an IANA name such as Asia/Jakarta (WIB), "
                "Asia/Makassar (WITA) or Asia/Jayapura (WIT)"
            ) from None
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[ChannelPlan]) -> list[ChannelPlan]:
        seen: set[tuple[Channel, str]] = set()
        for i, plan in enumerate(value):
            if (plan.channel, plan.account) in seen:
                raise _KeyedError(
                    f"{plan.channel} on account {plan.account!r} is listed twice: "
                    "put all its slots in one entry",
                    f"[{i}]",
                )
            seen.add((plan.channel, plan.account))
        return value

    @field_validator("holiday_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        for i, category in enumerate(value):
            if category not in HOLIDAY_CATEGORIES:
                raise _KeyedError(
                    f"unknown category {category!r}: use {', '.join(HOLIDAY_CATEGORIES)} "
                    '("government" is cuti bersama)',
                    f"[{i}]",
                )
            if category in value[:i]:
                raise _KeyedError(f"{category!r} is listed twice", f"[{i}]")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_blackout(self, day: dt.date) -> bool:
        """Whether a local date is a blackout date (never posted on, never moved onto)."""
        return any(day in b if isinstance(b, DateRange) else day == b for b in self.blackout)

    def template_for(self, channel: Channel, account: str) -> str:
        """The card template for one channel and account: its own, else the campaign's."""
        for plan in self.channels:
            if plan.channel == channel and plan.account == account:
                return plan.template or self.template
        raise KeyError(f"campaign {self.name!r} does not post on {channel} account {account!r}")


def default_campaigns_dir() -> Path:
    """templates/campaigns in the repository, found the way card templates are."""
    return CAMPAIGNS_DIR


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CampaignFileError(path, ["campaign file not found"]) from None
    except UnicodeDecodeError as exc:
        raise CampaignFileError(
            path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]
        ) from None
    except OSError as exc:
        raise CampaignFileError(path, [f"cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CampaignFileError(path, [f"not valid TOML: {exc}"]) from None


def _key(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 2 and loc[0] == "blackout" and part in ("date", "range"):
            continue  # the union branch's tag is noise for staff
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Any) -> tuple[str, str]:
    """The (key suffix, message) of one pydantic error, worded for staff."""
    source = (err.get("ctx") or {}).get("error")
    if isinstance(source, _KeyedError):
        return source.key, str(source)
    kind = err["type"]
    if kind == "extra_forbidden":
        return "", "unknown key (a typo?)"
    if kind == "missing":
        return "", "missing (required)"
    return "", str(err["msg"]).removeprefix("Value error, ")


def _validation_error(path: Path, exc: ValidationError) -> CampaignFileError:
    problems = []
    for err in exc.errors():
        suffix, message = _message(err)
        key = _key(tuple(err["loc"])) + suffix
        problems.append(f"{key}: {message}" if key else message)
    return CampaignFileError(path, problems)


def load_campaign(path: Path) -> Campaign:
    """Read and validate one campaign; its `name` must equal the file name without .toml."""
    data = _read(path)
    try:
        campaign = Campaign.model_validate(data, context={"source": "toml"})
    except ValidationError as exc:
        raise _validation_error(path, exc) from None
    if campaign.name != path.stem:
        raise CampaignFileError(
            path,
            [
                f"name: {campaign.name!r} must equal the file name ({path.stem!r}): "
                "rename the file or change the name"
            ],
        )
    return campaign


def campaign_paths(
    directory: Path | None = None, *, templates_dir: Path | None = None
) -> dict[str, Path]:
    """The campaign files by campaign name. `directory` (the settings' planner.campaigns_dir),
    when given, holds every campaign and is used alone, so a campaign can be dropped; else the
    shipped campaigns, each replaced or joined by the file of that name in
    `templates_dir/campaigns` (the settings' templates.dir)."""
    if directory is None:
        found = bundled.template_files("campaigns", "*.toml", templates_dir)
        return {Path(name).stem: path for name, path in found.items()}
    if not directory.is_dir():
        raise SettingsError(f"{directory}: campaigns directory not found")
    return {path.stem: path for path in sorted(directory.glob("*.toml"))}


def load_campaigns(
    directory: Path | None = None, *, templates_dir: Path | None = None
) -> dict[str, Campaign]:
    """Every campaign (`campaign_paths`), sorted by name; a broken file is a ConfigError naming
    it."""
    paths = campaign_paths(directory, templates_dir=templates_dir)
    campaigns = [load_campaign(path) for path in paths.values()]
    return {c.name: c for c in sorted(campaigns, key=lambda c: c.name)}


@dataclass(frozen=True)
class CampaignFile:
    """One campaign file as read: the campaign, or the problems that keep it from being used
    (then `campaign` is None). Staff see a broken file with its problems, beside the others."""

    name: str
    path: Path
    campaign: Campaign | None
    problems: tuple[str, ...] = ()


def read_campaign_files(
    directory: Path | None = None, *, templates_dir: Path | None = None
) -> list[CampaignFile]:
    """Every campaign file (`campaign_paths`), by name, each read on its own: unlike
    `load_campaigns`, a broken file does not stop the others. A missing `directory` is a
    ConfigError."""
    files = []
    for name, path in sorted(campaign_paths(directory, templates_dir=templates_dir).items()):
        try:
            files.append(CampaignFile(name, path, load_campaign(path)))
        except CampaignFileError as exc:
            files.append(CampaignFile(name, path, None, exc.problems))
    return files
