"""The watch pool's knobs (every timeout and backoff is one), and the backoff they describe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WatchSettings:
    backoff_initial_seconds: float = 5.0  # the first wait after a failure
    backoff_factor: float = 2.0  # each further failure waits this much longer…
    backoff_max_seconds: float = 60.0  # …up to this
    backoff_jitter: float = 0.2  # a wait is shortened by up to this fraction, at random
    inactivity_timeout_seconds: float = (
        70.0  # a stream silent this long is dropped (bookmarks come every ~60 s)
    )
    server_timeout_seconds: int = 300  # timeoutSeconds of each watch request: the server ends it then
    request_timeout_seconds: float = 10.0  # discovery and list requests
    connect_timeout_seconds: float = 10.0  # opening a watch connection
    list_page_size: int = 500
    # a second stream in a row that ends sooner having sent nothing is followed by a backoff
    min_stream_seconds: float = 1.0

    def __post_init__(self) -> None:
        positive = {
            "backoff_initial_seconds": self.backoff_initial_seconds,
            "backoff_max_seconds": self.backoff_max_seconds,
            "inactivity_timeout_seconds": self.inactivity_timeout_seconds,
            "server_timeout_seconds": self.server_timeout_seconds,
            "request_timeout_seconds": self.request_timeout_seconds,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "list_page_size": self.list_page_size,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        if self.backoff_factor < 1:
            raise ValueError("backoff_factor must be at least 1")
        if self.backoff_max_seconds < self.backoff_initial_seconds:
            raise ValueError("backoff_max_seconds must not be below backoff_initial_seconds")
        if not 0 <= self.backoff_jitter < 1:
            raise ValueError("backoff_jitter must be in [0, 1)")
        if self.min_stream_seconds < 0:
            raise ValueError("min_stream_seconds must not be negative")


class Backoff:
    """Exponential delays with a cap and downward jitter: ``initial · factor^n``, at most ``max``,
    then shortened by a random fraction up to ``jitter`` (so a wait never exceeds the cap, and
    watches that failed together do not retry together). ``reset()`` after a success."""

    def __init__(self, settings: WatchSettings, random: Callable[[], float]) -> None:
        self._settings = settings
        self._random = random
        self._failures = 0

    def next_delay(self) -> float:
        s = self._settings
        base = min(s.backoff_initial_seconds * s.backoff_factor**self._failures, s.backoff_max_seconds)
        if base < s.backoff_max_seconds:
            self._failures += 1
        return base * (1 - s.backoff_jitter * self._random())

    def reset(self) -> None:
        self._failures = 0
