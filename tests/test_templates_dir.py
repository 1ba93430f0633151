"""A user's own templates (the settings' templates.dir) override the shipped ones file by file,
so a wheel install is restyled without touching site-packages; a broken override is an error that
names the user's file, not the shipped one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifn_campaign import bundled
from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.preview import write_preview
from ifn_campaign.cards.shorts import STYLE_FILE, load_style
from ifn_campaign.cards.template import load_all, template_files
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings, load_settings
from ifn_campaign.errors import CaptionTemplateError, ConfigError, TemplateError
from ifn_campaign.planner.campaign import campaign_paths, load_campaigns
from ifn_campaign.reports.page import CampaignReport, LedgerSummary, write_html
from ifn_sandbox.registry import RegistrySandbox
from ifn_sandbox.sample import sample_members
from tests.support.cli import point_cli_at

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
SHIPPED = bundled.templates()


def _settings(tmp_path: Path, *, campaigns_dir: Path | None = None) -> Settings:
    """Settings read from a file naming `tmp_path/mine` as the user's templates folder."""
    lines = ["[templates]", f'dir = "{(tmp_path / "mine").as_posix()}"']
    if campaigns_dir is not None:
        lines += ["[planner]", f'campaigns_dir = "{campaigns_dir.as_posix()}"']
    config = tmp_path / "ifn-campaign.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(config)


def _mine(tmp_path: Path, *parts: str) -> Path:
    path = tmp_path.joinpath("mine", *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_unset_means_the_shipped_templates(tmp_path: Path) -> None:
    assert Settings().templates.dir is None
    assert template_files() == template_files(None)
    assert bundled.template_dirs("report") == [SHIPPED / "report"]
    # a settings folder without the subfolder changes nothing
    cfg = _settings(tmp_path)
    assert cfg.templates.dir == tmp_path / "mine"
    assert bundled.template_dirs("report", cfg.templates.dir) == [SHIPPED / "report"]
    assert bundled.template_file("shorts", "short.toml", user=cfg.templates.dir) == STYLE_FILE


def test_a_card_template_is_overridden_and_the_others_kept(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    own = _mine(tmp_path, "cards", "sorotan.toml")
    text = (SHIPPED / "cards" / "sorotan.toml").read_text(encoding="utf-8")
    own.write_text(text.replace('title = "Sorotan Anggota (foto)"', 'title = "Milik kami"'))
    extra = _mine(tmp_path, "cards", "kami.toml")
    extra.write_text(text.replace('name = "sorotan"', 'name = "kami"'), encoding="utf-8")
    files = template_files(cfg.templates.dir)
    assert files["sorotan"] == own and files["kami"] == extra
    assert files["sorotan-logo"] == SHIPPED / "cards" / "sorotan-logo.toml"
    assert "formats" not in files
    templates = load_all(templates_dir=cfg.templates.dir)
    assert templates["sorotan"].title == "Milik kami"
    assert templates["sorotan-logo"].path == SHIPPED / "cards" / "sorotan-logo.toml"
    assert load_all()["sorotan"].title == "Sorotan Anggota (foto)"  # without the setting

    own.write_text(text.replace('type = "background"', 'type = "wallpaper"'), encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_all(templates_dir=cfg.templates.dir)
    assert info.value.file == str(own)


def test_a_caption_template_is_overridden_and_the_others_kept(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    member = sample_members()[0]
    own = _mine(tmp_path, "captions", "default", "instagram.id.j2")
    own.write_text(
        "{% block body %}Punya kami: {{ member.name }}{% endblock %}\n"
        "{% block footer %}{% endblock %}\n",
        encoding="utf-8",
    )
    writer = CaptionWriter(templates_dir=cfg.templates.dir)
    mine = writer.write(member, "instagram", at=NOW)
    assert mine.text.startswith(f"Punya kami: {member.business_name}")
    shipped = CaptionWriter()
    assert writer.write(member, "facebook", at=NOW).text == (
        shipped.write(member, "facebook", at=NOW).text
    )
    assert not shipped.write(member, "instagram", at=NOW).text.startswith("Punya kami")

    own.write_text("{% block body %}{{ member.name }{% endblock %}\n", encoding="utf-8")
    with pytest.raises(CaptionTemplateError) as info:
        CaptionWriter(templates_dir=cfg.templates.dir).write(member, "instagram", at=NOW)
    assert info.value.file == str(own) and info.value.line == 1

    titles = _mine(tmp_path, "captions", "titles.toml")
    titles.write_text("[en\n", encoding="utf-8")
    with pytest.raises(CaptionTemplateError) as titles_info:
        CaptionWriter(templates_dir=cfg.templates.dir)
    assert titles_info.value.file == str(titles)
    titles.unlink()
    hashtags = _mine(tmp_path, "captions", "hashtags.toml")
    hashtags.write_text('always = ["KamiIFN"]\n', encoding="utf-8")
    tagged = CaptionWriter(templates_dir=cfg.templates.dir).write(member, "facebook", at=NOW)
    assert "#KamiIFN" in tagged.hashtags


def _empty_report() -> CampaignReport:
    ledger = LedgerSummary(0, [], [], [], 0, [])
    return CampaignReport(None, None, NOW, [], {}, {}, ledger)


def test_the_report_and_preview_pages_are_overridden(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    own = _mine(tmp_path, "report", "report.html.j2")
    own.write_text("<p>Laporan kami {{ made }} {{ name }}</p>\n", encoding="utf-8")
    page = write_html(
        _empty_report(),
        tmp_path / "out",
        display_timezone="Asia/Jakarta",
        made_at=NOW,
        templates_dir=cfg.templates.dir,
    )
    assert page.read_text(encoding="utf-8").startswith("<p>Laporan kami Sen 2026-12-07 10.00 WIB")
    shipped = write_html(_empty_report(), tmp_path / "s", display_timezone="UTC", made_at=NOW)
    assert "Laporan kami" not in shipped.read_text(encoding="utf-8")

    own.write_text("<p>{% if made %}</p>\n", encoding="utf-8")
    with pytest.raises(TemplateError, match="line 1") as info:
        write_html(
            _empty_report(),
            tmp_path / "out",
            display_timezone="UTC",
            made_at=NOW,
            templates_dir=cfg.templates.dir,
        )
    assert info.value.file == str(own)

    sheet = _mine(tmp_path, "preview", "cards.html.j2")
    sheet.write_text("<h1>{{ title }}: {{ members | length }}</h1>\n", encoding="utf-8")
    made = write_preview([], [], {}, tmp_path / "p", title="Kami", templates_dir=tmp_path / "mine")
    assert made.read_text(encoding="utf-8") == "<h1>Kami: 0</h1>\n"


def test_campaigns_are_overridden_unless_campaigns_dir_is_set(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    shipped = SHIPPED / "campaigns"
    own = _mine(tmp_path, "campaigns", "sorotan-anggota.toml")
    text = (shipped / "sorotan-anggota.toml").read_text(encoding="utf-8")
    own.write_text(text.replace("cooldown_days = 90", "cooldown_days = 120"), encoding="utf-8")
    campaigns = load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    assert campaigns["sorotan-anggota"].cooldown_days == 120
    assert set(campaigns) == {p.stem for p in shipped.glob("*.toml")}  # the others are kept
    assert load_campaigns()["sorotan-anggota"].cooldown_days == 90

    own.write_text(text.replace("cooldown_days = 90", "cooldown_days = -1"), encoding="utf-8")
    with pytest.raises(ConfigError, match="cooldown_days") as info:
        load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    assert str(info.value).startswith(f"{own}: ")

    alone = tmp_path / "only"  # planner.campaigns_dir holds every campaign, used alone
    alone.mkdir()
    shutil.copy(shipped / "harbolnas-1212.toml", alone)
    cfg = _settings(tmp_path, campaigns_dir=alone)
    paths = campaign_paths(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    assert paths == {"harbolnas-1212": alone / "harbolnas-1212.toml"}


def test_a_broken_shorts_style_names_the_users_file(tmp_path: Path) -> None:
    cfg = _settings(tmp_path)
    own = _mine(tmp_path, "shorts", "short.toml")
    text = STYLE_FILE.read_text(encoding="utf-8")
    own.write_text(text, encoding="utf-8")
    assert bundled.template_file("shorts", "short.toml", user=cfg.templates.dir) == own
    assert load_style(own).model_dump() == load_style().model_dump()
    own.write_text(text + "\n[colours]\n", encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        load_style(bundled.template_file("shorts", "short.toml", user=cfg.templates.dir))
    assert info.value.file == str(own)


@pytest.mark.slow
def test_the_cli_renders_with_the_settings_templates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`render` from a settings file naming templates.dir: the user's card template is offered
    and drawn, the user's caption shown on the preview sheet; a broken one stops it, named."""
    with RegistrySandbox() as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        _settings(tmp_path)  # ./ifn-campaign.toml, which the CLI reads
        assert main(["db", "upgrade"]) == 0
        assert main(["sync"]) == 0
    card = _mine(tmp_path, "cards", "kami.toml")
    text = (SHIPPED / "cards" / "sorotan.toml").read_text(encoding="utf-8")
    card.write_text(text.replace('name = "sorotan"', 'name = "kami"'), encoding="utf-8")
    _mine(tmp_path, "captions", "default", "instagram.id.j2").write_text(
        "{% block body %}Kapsyen kami untuk {{ member.name }}{% endblock %}\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    capsys.readouterr()
    args = ["render", "-m", "ifn-0002", "--template", "kami", "-f", "ig_square", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr()
    assert (out / "ifn-0002" / "kami-ig_square.jpg").is_file()
    assert "Kapsyen kami untuk" in (out / "preview.html").read_text(encoding="utf-8")

    card.write_text(text.replace('name = "sorotan"', 'name = "kami"\nbogus = 1'), encoding="utf-8")
    capsys.readouterr()
    assert main(args) != 0
    assert str(card) in "".join(capsys.readouterr().err.split())  # rich may fold a long path
