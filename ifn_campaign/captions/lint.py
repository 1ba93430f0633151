"""Check every caption template against the sample members before staff's edit goes live."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError

from ifn_campaign.captions.writer import CHANNELS, CampaignInfo, CaptionWriter
from ifn_campaign.errors import CaptionTemplateError
from ifn_campaign.models import Member


@dataclass(frozen=True)
class LintProblem:
    template: str
    line: int | None
    reason: str
    member: str | None = None


def template_files(writer: CaptionWriter) -> list[tuple[str, str, str]]:
    """(campaign folder, channel, language) of every caption template on disk."""
    found = []
    for path in sorted(writer.directory.glob("*/*.j2")):
        channel, _, lang = path.stem.partition(".")
        found.append((path.parent.name, channel, lang))
    return found


def lint(writer: CaptionWriter, members: Sequence[Member]) -> list[LintProblem]:
    """Every problem, once per template and reason (the first member that shows it)."""
    problems: dict[tuple[str, str], LintProblem] = {}

    def add(problem: LintProblem) -> None:
        problems.setdefault((problem.template, problem.reason), problem)

    for folder, channel, lang in template_files(writer):
        name = f"{folder}/{channel}.{lang}.j2"
        if channel not in CHANNELS:
            add(LintProblem(name, None, f"unknown channel {channel!r} in the file name"))
            continue
        try:
            source = (writer.directory / name).read_text(encoding="utf-8")
            writer.env.parse(source, name=name, filename=name)
        except TemplateSyntaxError as exc:
            add(LintProblem(name, exc.lineno, exc.message or "syntax error"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            add(LintProblem(name, None, f"cannot read: {exc}"))
            continue
        for member in members:
            try:
                caption = writer.write(member, channel, lang, campaign=_campaign(folder))
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
    return list(problems.values())


def _campaign(folder: str) -> CampaignInfo:
    return CampaignInfo(slug=folder)
