"""Background tasks owned by the server: named, guarded (failures logged at once), cancelled on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskSupervisor:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    def spawn(self, name: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self._closing:
            work.close()
            raise RuntimeError("the server is shutting down")
        task = asyncio.get_running_loop().create_task(self._guard(name, work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _guard(name: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            log.info("task %s cancelled", name)
            raise
        except Exception:
            log.exception("task %s failed", name)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        """Cancel every task and wait until each has finished its own clean-up."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
