"""MkDocs hook: the reference pages that must not drift are written from the code at build time.

A page asks for a generated part with a marker line of its own, `<!-- generated: NAME -->`:

- `commands`: every command of the Typer app (`ifn_campaign.cli.app:app`), in its `--help`
  panels and order, with usage, help and every argument and option as `--help` shows them.
  mkdocs-typer2 0.4 (its native engine stops on Typer 0.29's own parameter classes, its legacy
  one drops the panels) and mkdocs-click 0.9 (its option table sees no option of Typer 0.29,
  which bundles its own click) do not render this app, so the walk is here, over Click's tree.
- `settings`: every field of the settings model (`ifn_campaign.config.Settings`): key, type,
  default, `IFN_` variable and description.
- `data-model`: every table and column of `SQLModel.metadata`, with the indexes and the values
  of the state enums in `ifn_campaign.models`.
- `errors`: the error tree that `ifn_campaign/errors.py` draws in its docstring.

An unknown marker fails the build, so a typo cannot leave a page silently empty.
"""

from __future__ import annotations

import html
import inspect
import json
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, Literal, get_args, get_origin

MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)
PROG = "ifn-campaign"


# -- commands ---------------------------------------------------------------------------------


def _text(text: str) -> str:
    """Help or description text as markdown: code spans kept, and outside them `<NAME>` shown
    rather than taken for an HTML tag, `*` rather than taken for emphasis."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside code spans
        parts[i] = html.escape(parts[i], quote=False).replace("*", "\\*")
    return "`".join(parts)


def _cell(text: str) -> str:
    """Text for a markdown table cell: one line, pipes escaped."""
    return _text(" ".join(text.split())).replace("|", "\\|")


def _code_cell(text: str) -> str:
    """Code in a table cell: HTML, so a pipe in `[id|en]` cannot split the cell."""
    return "<code>" + html.escape(text).replace("|", "&#124;") + "</code>"


def command_paths() -> Iterator[tuple[list[str], Any, Any]]:
    """(path, command, context) for the root and every command and group below it, in the
    order `--help` lists them (the panels' order: `ifn_campaign.cli.base.ORDER`)."""
    import typer

    from ifn_campaign.cli.app import app

    root = typer.main.get_command(app)
    root_ctx = typer.Context(root, info_name=PROG)

    def walk(cmd: Any, ctx: Any, path: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
        yield path, cmd, ctx
        subs = getattr(cmd, "commands", None)
        if subs:
            for name in cmd.list_commands(ctx):
                sub = subs[name]
                if not sub.hidden:
                    yield from walk(
                        sub, typer.Context(sub, info_name=name, parent=ctx), [*path, name]
                    )

    yield from walk(root, root_ctx, [])


def _params(cmd: Any, ctx: Any) -> list[tuple[str, str]]:
    """(what to type, what it means) per argument and option, as `--help` prints them."""
    rows = []
    for param in cmd.get_params(ctx):
        if param.name == "help":
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        rows.append((record[0], record[1] or ""))
    return rows


def _command_section(path: list[str], cmd: Any, ctx: Any, level: int) -> list[str]:
    full = " ".join([PROG, *path])
    lines = [f"{'#' * level} `{full}`", ""]
    usage = cmd.get_usage(ctx).removeprefix("Usage: ").strip()
    lines += ["```text", usage, "```", ""]
    if cmd.help:
        lines += [_text(inspect.cleandoc(cmd.help)), ""]
    params = _params(cmd, ctx)
    if params:
        lines += ["| Argument or option | What it does |", "|---|---|"]
        lines += [f"| {_code_cell(name)} | {_cell(text)} |" for name, text in params]
        lines.append("")
    subs = getattr(cmd, "commands", None)
    if subs:
        lines += ["| Command | What it does |", "|---|---|"]
        for name in cmd.list_commands(ctx):
            sub = subs[name]
            if not sub.hidden:
                lines.append(f"| `{full} {name}` | {_cell(sub.get_short_help_str(200))} |")
        lines.append("")
    return lines


def commands_markdown() -> str:
    """The command reference: global options, then one section per `--help` panel."""
    lines: list[str] = []
    panel = None
    for path, cmd, ctx in command_paths():
        if not path:  # the root: its options hold for every command
            lines += ["## Global options", ""]
            usage = cmd.get_usage(ctx).removeprefix("Usage: ").strip()
            lines += ["```text", usage, "```", ""]
            lines += ["| Option | What it does |", "|---|---|"]
            lines += [f"| {_code_cell(n)} | {_cell(t)} |" for n, t in _params(cmd, ctx)]
            lines.append("")
            continue
        if len(path) == 1:
            here = getattr(cmd, "rich_help_panel", None) or "Other commands"
            if here != panel:
                panel = here
                lines += [f"## {panel}", ""]
        lines += _command_section(path, cmd, ctx, level=2 + len(path))
    return "\n".join(lines)


# -- settings ---------------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    """A field's type as a settings file author reads it."""
    from datetime import timedelta
    from pathlib import Path

    from pydantic import SecretStr

    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin is Literal:
        return " or ".join(f"`{json.dumps(a)}`" for a in get_args(annotation))
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "table"
    if args and len(args) < len(get_args(annotation)):  # X | None
        return _type_name(args[0]) + " (optional)"
    names = {
        str: "text",
        int: "integer",
        float: "number",
        bool: "true or false",
        Path: "path",
        SecretStr: "secret text",
        timedelta: "duration",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: Any) -> str:
    """The range a number must be in, from the field's constraints ('1..500', 'over 0')."""
    low = high = None
    low_open = False
    for item in field.metadata:
        if getattr(item, "ge", None) is not None:
            low = item.ge
        if getattr(item, "gt", None) is not None:
            low, low_open = item.gt, True
        if getattr(item, "le", None) is not None:
            high = item.le
        if getattr(item, "pattern", None) is not None:
            return f"matching `{item.pattern}`"
    if low is None and high is None:
        return ""
    from datetime import timedelta

    def show(v: Any) -> str:
        return f"{v.total_seconds():g} s" if isinstance(v, timedelta) else f"{v:,}"

    if low_open:
        return f"over {show(low)}" + (f", at most {show(high)}" if high is not None else "")
    if high is None:
        return f"at least {show(low)}"
    if low is None:
        return f"at most {show(high)}"
    return f"{show(low)}..{show(high)}"


def _default(field: Any) -> str:
    """The default as it would be written in the settings file."""
    from pydantic import TypeAdapter

    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "none"
    shown = TypeAdapter(field.annotation).dump_python(value, mode="json")
    return f"`{json.dumps(shown, ensure_ascii=False)}`"


def setting_keys() -> Iterator[tuple[str, str, Any, Any]]:
    """(section, key, field, section model) for every setting; accounts as
    `accounts.<channel>.<name>`."""
    from pydantic import BaseModel

    from ifn_campaign.config import AccountSettings, Settings

    for section, outer in Settings.model_fields.items():
        if section == "accounts":
            for key, field in AccountSettings.model_fields.items():
                yield "accounts.<channel>.<name>", key, field, AccountSettings
            continue
        model = outer.default_factory() if outer.default_factory else outer.default  # type: ignore[call-arg]
        if not isinstance(model, BaseModel):  # a top-level key (data_dir): section ""
            yield "", section, outer, Settings
            continue
        for key, field in type(model).model_fields.items():
            yield section, key, field, type(model)


def env_var(section: str, key: str) -> str:
    """The environment variable that overrides a setting (`IFN_<SECTION>__<KEY>`, or
    `IFN_<KEY>` for a top-level key)."""
    return f"IFN_{section.upper()}__{key.upper()}" if section else f"IFN_{key.upper()}"


def settings_markdown() -> str:
    """One table per section of the settings model, in the model's order."""
    from ifn_campaign.config import SECRET_KEYS

    lines: list[str] = []
    section_now = None
    for section, key, field, model in setting_keys():
        if section != section_now:
            section_now = section
            title = (
                "Accounts"
                if section.startswith("accounts")
                else f"`[{section}]`"
                if section
                else "Top level"
            )
            lines += ["", f"## {title}", ""]
            if not section:
                lines += ["Keys written before the first `[section]` of the settings file.", ""]
            elif model.__doc__:
                lines += [_text(inspect.cleandoc(model.__doc__).replace("\n", " ")), ""]
            if section.startswith("accounts"):
                lines += [
                    "A table per channel and account name (`[accounts.instagram.bpipi]`), named "
                    'by campaigns (`account = "bpipi"`). Accounts live in the settings file; '
                    "their secrets are only named here.",
                    "",
                ]
                lines += ["| Key | Type | Description |", "|---|---|---|"]
            else:
                lines += [
                    "| Key and environment variable | Type and default | Description |",
                    "|---|---|---|",
                ]
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        if bounds:
            kind += f", {bounds}"
        text = _cell(field.description or "")
        if section.startswith("accounts"):
            lines.append(f"| `{section}.{key}` | {kind} | {text} |")
            continue
        env = f"`{env_var(section, key)}`"
        if (section, key) in SECRET_KEYS:
            env += " (environment only: never read from the file)"
        name = f"{section}.{key}" if section else key
        lines.append(f"| `{name}`<br>{env} | {kind}<br>default: {_default(field)} | {text} |")
    return "\n".join(lines).strip() + "\n"


# -- data model -------------------------------------------------------------------------------


def _column_type(column: Any) -> str:
    from sqlalchemy import TypeDecorator

    kind = column.type
    name = type(kind).__name__
    length = getattr(kind, "length", None)
    if name == "AutoString":  # SQLModel's string: VARCHAR(length)
        name = "String"
    elif isinstance(kind, TypeDecorator):
        return name
    return f"{name}({length})" if length else name


def data_model_markdown() -> str:
    """Every table (in dependency order) with its columns, keys and indexes, then the values
    the state columns take."""
    from sqlmodel import SQLModel

    from ifn_campaign import models

    # in the order ifn_campaign.models defines them (members first), then any other table
    classes = {
        value.__table__.name: value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, SQLModel) and hasattr(value, "__table__")
    }
    order = list(classes)
    tables = sorted(
        SQLModel.metadata.sorted_tables,
        key=lambda t: order.index(t.name) if t.name in order else len(order),
    )
    lines: list[str] = []
    for table in tables:
        cls = classes.get(table.name)
        lines += [f"## `{table.name}`", ""]
        if cls is not None and cls.__doc__:
            lines += [_text(inspect.cleandoc(cls.__doc__).replace("\n", " ")), ""]
        lines += ["| Column | Type | Null | Key | Description |", "|---|---|---|---|---|"]
        fields = getattr(cls, "model_fields", {}) if cls is not None else {}
        for column in table.columns:
            keys = []
            if column.primary_key:
                keys.append("primary key")
            keys += [f"→ `{fk.target_fullname}`" for fk in column.foreign_keys]
            if column.unique:
                keys.append("unique")
            if column.index:
                keys.append("indexed")
            field = fields.get(column.name)
            about = getattr(field, "description", None) or ""
            lines.append(
                f"| `{column.name}` | {_column_type(column)} | "
                f"{'yes' if column.nullable else 'no'} | {', '.join(keys)} | {_cell(about)} |"
            )
        extra = []
        for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
            cols = [c.name for c in constraint.columns]
            if type(constraint).__name__ == "UniqueConstraint" and len(cols) > 1:
                extra.append(f"- unique together: {', '.join(f'`{c}`' for c in cols)}")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            cols = [c.name for c in index.columns]
            if len(cols) < 2 and not index.dialect_options["sqlite"].get("where"):
                continue  # one-column indexes are in the table above
            where = index.dialect_options["sqlite"].get("where")
            kind = "unique index" if index.unique else "index"
            line = f"- {kind} `{index.name}` on {', '.join(f'`{c}`' for c in cols)}"
            if where is not None:
                line += f", where `{where}`"
            extra.append(line)
        if extra:
            lines += ["", *extra]
        lines.append("")
    enums = [
        (name, value)
        for name, value in vars(models).items()
        if isinstance(value, type)
        and issubclass(value, StrEnum)
        and value.__module__ == models.__name__
    ]
    if enums:
        lines += ["## Values", ""]
        lines += ["| Enumeration | Values | Meaning |", "|---|---|---|"]
        for name, enum in enums:
            about = inspect.cleandoc(enum.__doc__) if enum.__doc__ else ""
            values = ", ".join(f"`{member.value}`" for member in enum)
            lines.append(f"| `{name}` | {values} | {_cell(about)} |")
        lines.append("")
    return "\n".join(lines)


# -- errors -----------------------------------------------------------------------------------


def errors_markdown() -> str:
    """The error tree as `ifn_campaign/errors.py` draws it in its docstring (a test there keeps
    the drawing and the classes in step)."""
    from ifn_campaign import errors

    doc = inspect.cleandoc(errors.__doc__ or "")
    match = re.search(r"```\n(.*?)\n```", doc, re.DOTALL)
    if match is None:
        raise ValueError("ifn_campaign/errors.py: its docstring no longer draws the error tree")
    return "```text\n" + match.group(1) + "\n```\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "commands": commands_markdown,
    "settings": settings_markdown,
    "data-model": data_model_markdown,
    "errors": errors_markdown,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Put each generated part where its marker stands."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(
                f"{page.file.src_uri}: unknown generated part {name!r}; known: {sorted(GENERATORS)}"
            )
        return GENERATORS[name]()

    return MARKER.sub(fill, markdown)
