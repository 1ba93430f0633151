"""Files others read: cards, videos and stored media, written whole or not at all, with the
permissions the umask asks for.

`tempfile.mkstemp` makes its file readable by the owner only (0600), and a rename keeps that mode,
so every card would be unreadable to a static web server running as another user (the one
serving `publish.media_base_url`). Files here get what `open()` gives them: 0666 less the umask,
so 0644 under the usual 022 and 0600 under a strict 077.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from functools import cache
from pathlib import Path

__all__ = ["file_mode", "secret_key_file", "temporary_beside", "write_atomically"]


@cache
def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (`os.umask` can only be
    read by setting it, which races with threads creating files)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    found = re.search(r"^Umask:\s*([0-7]+)$", status, re.MULTILINE)
    if found:
        return int(found.group(1), 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a new regular file gets from `open()` in this process."""
    return 0o666 & ~_umask()


def temporary_beside(path: Path, *, prefix: str = ".part-", suffix: str = "") -> Path:
    """An empty file in `path`'s folder (made when missing) with the umask's mode, to be filled
    and renamed onto `path`."""
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    except FileNotFoundError:  # a mkdir for every file costs more than this retry
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    return Path(name)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename, so a reader (or a crash)
    never sees half a file; a failure leaves nothing behind."""
    tmp = temporary_beside(path)
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half file behind
        raise


def secret_key_file(path: Path) -> bytes:
    """The signing key kept in `path` (mode 0600), made on first use (the console's login key,
    the member links' key), so nobody has to choose one and a restart keeps it.

    The key is written whole to a temporary file beside `path` and hard-linked into place: the
    link is created only if `path` is absent, and with its content complete, so of two processes
    starting at once (the console and a flow) one makes the key and the other reads that same
    key; creating `path` first and writing it after let the second read an empty file and fail."""
    try:
        found = path.read_bytes().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(48).encode()
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".key-")  # 0600, the key's mode
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(key + b"\n")
                file.flush()
                os.fsync(file.fileno())
            os.link(name, path)
            return key
        except FileExistsError:
            found = path.read_bytes().strip()  # the other process made it a moment ago
        finally:
            Path(name).unlink()
    if len(found) < 32:
        raise OSError(f"{path} holds no usable key (delete it to make a new one)")
    return found
