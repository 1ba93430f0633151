"""`ifn-campaign rehearse`: the sample registry, the Graph and YouTube sandboxes, a media host and
a mail server for member notices (SMTP in, IMAP of its Sent folder) on loopback, on the real
clock, with a settings file and an environment file that point the app at them, so an operator
can rehearse the production set-up end to end (Prefect server, `deploy`, process workers,
`doctor`, sync, plan, compose, publish, notices) before going live.

Unlike `demo`, nothing runs here but the stand-ins: the operator runs every command, in other
terminals, exactly as in production. The settings file holds no secret; the sandbox credentials
(not real secrets, but handled as if they were) go only to the environment file, mode 0600, and
are never printed.
"""

from __future__ import annotations

import json
import secrets
import shlex
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ifn_campaign.cli.base import out
from ifn_campaign.config import Settings
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.files import temporary_beside, write_atomically
from ifn_campaign.secrets import env_name
from ifn_sandbox.mail import MailSandbox
from ifn_sandbox.platforms import SECRETS, PlatformSandboxes
from ifn_sandbox.registry import RegistrySandbox

__all__ = ["ENV_FILE", "SETTINGS_FILE", "run"]

SETTINGS_FILE = "ifn-campaign.toml"
ENV_FILE = "rehearse.env"
MAIL_USER = "ifn@bpipi.id"  # the sending mailbox's login, as on a real provider
MAIL_SECRET = "sandbox-mail-password"  # a secret's name, its value in the environment file
_MEMBERS_FAULT = '{"path": "/api/v1/members", "kind": "status", "status": 503, "times": 3}'


def run(folder: Path, members: int | None, ports: dict[str, int]) -> None:
    """Start the stand-ins, write the two files into `folder` and serve until Ctrl+C (or
    SIGTERM), then stop them all, their ports freed."""
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    cards = folder / "var" / "cards"
    token = secrets.token_urlsafe(24)  # the registry's bearer token, new for each rehearsal
    mail_password = secrets.token_urlsafe(18)  # the mail sandbox's, new for each too
    with (
        _started(
            RegistrySandbox(generated=members, port=ports["registry"], token=token), "registry"
        ) as registry,
        _platforms(cards, ports) as platforms,
        _mail(folder / "var" / "mail", ports, mail_password) as mail,
    ):
        cfg = platforms.settings(Settings.model_construct())
        config = _write_settings(folder, registry, platforms, cfg, mail)
        env = _write_env(
            folder,
            config,
            {"IFN_REGISTRY__TOKEN": token, env_name(MAIL_SECRET): mail_password},
        )
        _print_guide(folder, config, env, registry, platforms, mail)
        with _stop_on_signals():
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    out.print("stopped: the sandboxes are down and their ports free")


@contextmanager
def _started(sandbox: RegistrySandbox, role: str) -> Iterator[RegistrySandbox]:
    try:
        sandbox.start()
    except OSError as exc:
        raise _busy(role, sandbox.port, exc) from None
    try:
        yield sandbox
    finally:
        sandbox.stop()


@contextmanager
def _platforms(cards: Path, ports: dict[str, int]) -> Iterator[PlatformSandboxes]:
    """The Graph and YouTube sandboxes and the media host on their ports, the Graph sandbox
    with Meta's own timings (a container is ready after a second, as a real one is after a few)."""
    try:
        platforms = PlatformSandboxes(
            cards,
            graph_port=ports["graph"],
            youtube_port=ports["youtube_api"],
            media_port=ports["media"],
        )
    except OSError as exc:  # the media host binds when made
        raise _busy("media", ports["media"], exc) from None
    try:
        platforms.start()
    except OSError as exc:
        raise InvalidValueError(
            f"the Graph or YouTube sandbox cannot listen on port {ports['graph']} or "
            f"{ports['youtube_api']} ({exc.strerror or exc}): stop what uses it (an earlier "
            "rehearse?) or pass --graph-port 0 --youtube-port 0 for any free ports"
        ) from None
    try:
        yield platforms
    finally:
        platforms.stop()


@contextmanager
def _mail(maildir: Path, ports: dict[str, int], password: str) -> Iterator[MailSandbox]:
    """The mail sandbox members' notices go to, asking the login a real provider would."""
    sandbox = MailSandbox(
        maildir,
        smtp_port=ports["smtp"],
        imap_port=ports["imap"],
        user=MAIL_USER,
        password=password,
    )
    try:
        sandbox.start()
    except OSError as exc:
        raise InvalidValueError(
            f"the mail sandbox cannot listen on port {ports['smtp']} or {ports['imap']} "
            f"({exc.strerror or exc}): stop what uses it (an earlier rehearse?) or pass "
            "--smtp-port 0 --imap-port 0 for any free ports"
        ) from None
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _busy(role: str, port: int, exc: OSError) -> InvalidValueError:
    return InvalidValueError(
        f"the {role} sandbox cannot listen on port {port} ({exc.strerror or exc}): stop what "
        f"uses it (an earlier rehearse or demo?) or pass --{role}-port 0 for any free port"
    )


def _write_settings(
    folder: Path,
    registry: RegistrySandbox,
    platforms: PlatformSandboxes,
    cfg: Settings,
    mail: MailSandbox,
) -> Path:
    """`<folder>/ifn-campaign.toml`: every setting that points the app at the stand-ins, paths
    absolute (the data folder is `folder`), secrets by name only."""
    registry_host = registry.url.removeprefix("http://")
    sections: dict[str, dict[str, Any]] = {
        "database": {"url": f"sqlite:///{folder / 'ifn-campaign.db'}"},
        "registry": {"base_url": registry.url},
        "media": {"allow_hosts": [registry_host]},
        "cards": {"cache_dir": str(platforms.cards_dir)},
        "instagram": {"graph_url": cfg.instagram.graph_url},
        "facebook": {"graph_url": cfg.facebook.graph_url},
        "youtube": {
            "api_url": cfg.youtube.api_url,
            "upload_url": cfg.youtube.upload_url,
            "token_url": cfg.youtube.token_url,
            "tokeninfo_url": cfg.youtube.tokeninfo_url,
        },
        "publish": {"media_base_url": cfg.publish.media_base_url},
        "notices": {
            "smtp_host": mail.host,
            "smtp_port": mail.smtp_port,
            "smtp_security": "none",  # loopback only: a real provider's is starttls or tls
            "smtp_user": MAIL_USER,
            "smtp_password_secret": MAIL_SECRET,
            "imap_host": mail.host,
            "imap_port": mail.imap_port,
            "imap_security": "none",
            "imap_sent_folder": mail.sent_folder,
        },
    }
    for channel, named in cfg.accounts.items():
        for name, account in named.items():
            sections[f"accounts.{channel}.{name}"] = account.model_dump(exclude_none=True)
    path = folder / SETTINGS_FILE
    lines = [
        "# Written by `ifn-campaign rehearse`: the app pointed at the local stand-ins of the",
        "# registry, Instagram/Facebook (Graph API), YouTube, the media host and a mail server",
        "# for member notices. No secrets here:",
        f"# they are in {folder / ENV_FILE}.",
        "",
        f"data_dir = {json.dumps(str(folder))}",
    ]
    for section, values in sections.items():
        lines += ["", f"[{section}]"]
        # a JSON string or list of strings is a valid TOML value
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    write_atomically(path, ("\n".join(lines) + "\n").encode())
    return path


def _write_env(folder: Path, config: Path, tokens: dict[str, str]) -> Path:
    """`<folder>/rehearse.env`, mode 0600: IFN_CONFIG and the sandbox credentials as the
    environment variables production reads secrets from."""
    values = {
        "IFN_CONFIG": str(config),
        **tokens,
        **{env_name(name): value for name, value in SECRETS.items()},
    }
    lines = [
        "# Written by `ifn-campaign rehearse`: source it (. rehearse.env) in every terminal of the",
        "# rehearsal, the workers' too. Sandbox credentials, not real ones; still keep the file",
        "# to yourself (mode 0600).",
    ]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    path = folder / ENV_FILE
    _write_private(path, "\n".join(lines) + "\n")
    return path


def _write_private(path: Path, text: str) -> None:
    """`text` into `path`, mode 0600 before a byte is written and whatever the umask, through a
    rename: a reader waiting for the file never sees half of it."""
    temporary = temporary_beside(path)
    try:
        temporary.chmod(0o600)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _print_guide(
    folder: Path,
    config: Path,
    env: Path,
    registry: RegistrySandbox,
    platforms: PlatformSandboxes,
    mail: MailSandbox,
) -> None:
    """Where everything is and what to run next (no secret value)."""
    faults = f"{registry.url}/_sandbox/faults"
    lines = [
        "rehearsal stand-ins on the real clock (Ctrl+C to stop):",
        f"  registry    {registry.url}  ({len(registry)} records, bearer token in {ENV_FILE})",
        f"  Graph API   {platforms.graph.url}  (Instagram and Facebook Page)",
        f"  YouTube     {platforms.youtube.url}",
        f"  media host  {platforms.media.url}  (serves {platforms.cards_dir})",
        f"  mail        SMTP {mail.host}:{mail.smtp_port}, IMAP {mail.host}:{mail.imap_port}  "
        f"(member notices, login {MAIL_USER}, password in {ENV_FILE})",
        f"settings: {config}",
        f"credentials: {env} (mode 0600; sandbox values, never printed)",
        "",
        "in each terminal of the rehearsal (workers too):",
        f"  . {shlex.quote(str(env))}",
        "then:",
        "  ifn-campaign db upgrade",
        "  ifn-campaign doctor",
        "  ifn-campaign sync",
        "  ifn-campaign plan",
        "  ifn-campaign compose",
        "  ifn-campaign review; ifn-campaign approve --all",
        "  ifn-campaign publish",
        "what the platforms received:",
        f"  curl -s {platforms.graph.url}/_sandbox/posts",
        f"  curl -s {platforms.youtube.url}/_sandbox/posts",
        f"what members were sent (a Maildir, one file a message): {mail.maildir / 'new'}",
        "registry faults (kinds: slow, status, drop, truncate), e.g. three 503s:",
        f"  curl -s -X POST {faults} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(_MEMBERS_FAULT)}",
        f"  curl -s -X DELETE {faults}",
    ]
    for line in lines:
        out.print(line, soft_wrap=True, markup=False, highlight=False)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM (systemd, `kill`) stops the rehearsal as Ctrl+C does, and so does SIGINT also
    when the shell started it in the background (`&`), which makes it ignore SIGINT."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
