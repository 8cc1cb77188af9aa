"""Reading ``git fetch --progress`` output: the phase, its percentage and the bytes received so far.

Git writes progress to stderr as lines ended by ``\\r`` (updates of one line) or ``\\n`` (a phase done):
``Receiving objects:  45% (9/20), 1.20 MiB | 1.19 MiB/s`` and ``Resolving deltas: 100% (3/3), done.``
(``remote: Counting objects…`` comes from the server). The C locale is assumed (the cloner sets it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^(?P<phase>Receiving objects|Resolving deltas|Updating files):\s+(?P<percent>\d{1,3})%")
_SIZE = re.compile(r",\s+(?P<amount>\d+(?:\.\d+)?)\s+(?P<unit>bytes|KiB|MiB|GiB|TiB)\b")
_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}

# How far each phase takes the whole clone: receiving is most of the work.
_SPANS = {"Receiving objects": (0, 85), "Resolving deltas": (85, 95), "Updating files": (95, 100)}


@dataclass(frozen=True, slots=True)
class Progress:
    """One progress line: its ``phase``, the phase's ``percent``, the clone's overall ``percent``
    (0 to 100) and, for received objects, the ``received_bytes`` git reports (None when not shown)."""

    phase: str
    percent: int
    overall: int
    received_bytes: int | None = None


def parse_progress(line: str) -> Progress | None:
    """The progress a stderr line reports, or None for any other line."""
    match = _LINE.match(line.strip())
    if match is None:
        return None
    phase = match.group("phase")
    percent = min(100, int(match.group("percent")))
    start, end = _SPANS[phase]
    received = None
    size = _SIZE.search(line)
    if size is not None and phase == "Receiving objects":
        received = int(float(size.group("amount")) * _UNITS[size.group("unit")])
    return Progress(phase, percent, start + (end - start) * percent // 100, received)


def split_lines(buffer: str) -> tuple[list[str], str]:
    """Complete lines of ``buffer`` (ended by ``\\r`` or ``\\n``) and the incomplete rest."""
    parts = re.split(r"[\r\n]", buffer)
    return [p for p in parts[:-1] if p.strip()], parts[-1]
