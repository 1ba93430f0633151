"""The machine a benchmark ran on, one line, for the header of its results (shared by the
bench scripts, which run as `python bench/<name>.py` and so import this as `machine`)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """'host: CPU model, N cores, M GiB' from /proc where Linux has it."""
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores{memory}"
