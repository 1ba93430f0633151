"""Check every caption template against the sample members before staff's edit goes live.

Besides template errors and platform limits, the lint reads each caption the way a copywriter
would and flags a phrase of four or more words said twice in one caption (a YouTube title and
description count as one): compared without case and punctuation, hashtags left out, a link or
@handle one word, the member's name one word (naming the member again is not a repeat). The
member's own description is theirs, not the template's: repeats inside it, or of words the
template also uses, are not flagged; the template printing it twice is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError

from ifn_campaign.captions.context import MemberView
from ifn_campaign.captions.writer import CHANNELS, CampaignInfo, Caption, CaptionWriter
from ifn_campaign.errors import CaptionTemplateError
from ifn_campaign.models import Member

PHRASE_WORDS = 4  # the shortest phrase that reads as repeated copy ("sejak 1978" is a fact)
NAME_WORD = "‹name›"  # the member's name stands as one word
_TOKEN = re.compile(
    r"(?P<url>https?://\S+|www\.\S+)|(?P<hashtag>#\w+)|(?P<handle>@[\w.]+)"
    r"|(?P<code>[^\s()\[\],;]*\d[^\s()\[\],;]*)|(?P<word>\w+)"
)
_EDGES = "().,;:!?\"'“”‘’…"


@dataclass(frozen=True)
class LintProblem:
    template: str
    line: int | None
    reason: str
    member: str | None = None


def template_files(writer: CaptionWriter) -> list[tuple[str, str, str]]:
    """(campaign folder, channel, language) of every caption template on disk: the writer's
    folder's and the user's (templates.dir/captions) together."""
    found = set()
    for folder in writer.search_path:
        for path in folder.glob("*/*.j2"):
            channel, _, lang = path.stem.partition(".")
            found.add((path.parent.name, channel, lang))
    return sorted(found)


def lint(writer: CaptionWriter, members: Sequence[Member]) -> list[LintProblem]:
    """Every problem, once per template and reason (the first member that shows it)."""
    problems: dict[tuple[str, str], LintProblem] = {}

    def add(problem: LintProblem) -> None:
        problems.setdefault((problem.template, problem.reason), problem)

    now = writer.clock()
    for folder, channel, lang in template_files(writer):
        name = f"{folder}/{channel}.{lang}.j2"
        if channel not in CHANNELS:
            add(LintProblem(name, None, f"unknown channel {channel!r} in the file name"))
            continue
        try:
            path = writer.source(name) or writer.directory / name
            source = path.read_text(encoding="utf-8")
            writer.env.parse(source, name=name, filename=name)
        except TemplateSyntaxError as exc:
            add(LintProblem(writer.shown(name), exc.lineno, exc.message or "syntax error"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            add(LintProblem(name, None, f"cannot read: {exc}"))
            continue
        for member in members:
            try:
                caption = writer.write(member, channel, lang, campaign=_campaign(folder), at=now)
            except CaptionTemplateError as exc:
                add(LintProblem(name, exc.line, str(exc).split(": ", 1)[-1], member.id))
                continue
            for violation in caption.violations:
                add(LintProblem(name, None, f"{violation.field}: {violation.reason}", member.id))
            for cut in caption.cuts:  # shortening a long description is routine; these are not
                if cut.field == "footer" or cut.reason.startswith("more than"):
                    add(LintProblem(name, None, f"{cut.field}: {cut.reason}", member.id))
            shown = caption.title + caption.text
            if member.business_name not in shown:
                add(LintProblem(name, None, "the caption does not name the member", member.id))
            view = MemberView(member, channel, caption.lang, [], writer.profile_url, now)
            for reason in caption_repeats(caption, view.description, member.business_name):
                add(LintProblem(name, None, reason, member.id))
    return list(problems.values())


def words(text: str, name: str = "") -> list[str]:
    """A text's words as the repeat check compares them: casefolded, punctuation and hashtags
    left out; a link, an @handle, a number or code ('8877:2023', '4051/SJ-IPKK/TKDN/2024') and
    the member's name (NAME_WORD) one word each."""
    text = " ".join(text.split()).casefold()
    name = " ".join(name.split()).casefold()
    parts = re.split(rf"(?<!\w){re.escape(name)}(?!\w)", text) if name else [text]
    found: list[str] = []
    for i, part in enumerate(parts):
        if i:
            found.append(NAME_WORD)
        for token in _TOKEN.finditer(part):
            if token["hashtag"]:
                continue
            if token["word"]:
                found.append(token["word"])
            elif kept := token[0].strip(_EDGES):
                found.append(kept)
    return found


def repeated_phrases(segments: Sequence[Sequence[str]], size: int = PHRASE_WORDS) -> list[str]:
    """Phrases of `size` or more words that occur twice or more across the segments (a phrase
    never runs from one segment into the next), each as long as it runs, first seen first."""
    grams = Counter(
        tuple(seg[i : i + size]) for seg in segments for i in range(len(seg) - size + 1)
    )
    phrases: dict[str, None] = {}
    for seg in segments:
        i = 0
        while i <= len(seg) - size:
            if grams[tuple(seg[i : i + size])] < 2:
                i += 1
                continue
            end = i
            while end + 1 <= len(seg) - size and grams[tuple(seg[end + 1 : end + 1 + size])] > 1:
                end += 1
            phrases.setdefault(" ".join(seg[i : end + size]))
            i = end + 1
    return list(phrases)


def caption_repeats(caption: Caption, description: str, name: str) -> list[str]:
    """Why the caption reads repetitive, as lint reasons; [] when it says each thing once.

    `description` is the member's description as the template saw it (MemberView.description):
    it is set apart, so only what the template itself says twice counts."""
    described = words(description, name)
    segments: list[list[str]] = []
    printed = 0
    for text in (caption.title, caption.text):
        tokens = words(text, name)
        start = 0
        for begin, end, whole in _spans(tokens, described):
            segments.append(tokens[start:begin])
            printed += whole
            start = end
        segments.append(tokens[start:])
    shown = " ".join(name.split())
    reasons = [
        f'says "{phrase.replace(NAME_WORD, shown)}" more than once'
        for phrase in repeated_phrases(segments)
    ]
    if printed > 1 and len(described) >= PHRASE_WORDS:
        reasons.insert(0, "prints the member's description more than once")
    return reasons


def _spans(tokens: list[str], described: list[str]) -> list[tuple[int, int, bool]]:
    """Where the description stands in the tokens: (start, end, whether whole). A shortened
    caption keeps only its beginning, so a match runs as far as the words agree."""
    if not described:
        return []
    head = described[: min(len(described), PHRASE_WORDS)]
    spans = []
    i = 0
    while i <= len(tokens) - len(head):
        if tokens[i : i + len(head)] != head:
            i += 1
            continue
        k = len(head)
        while k < len(described) and i + k < len(tokens) and tokens[i + k] == described[k]:
            k += 1
        spans.append((i, i + k, k == len(described)))
        i += k
    return spans


def _campaign(folder: str) -> CampaignInfo:
    return CampaignInfo(slug=folder)
