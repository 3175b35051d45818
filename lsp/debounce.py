"""Per-document debouncing on the event loop.

Each key (a document URI) has at most one pending job. Scheduling a job for a key
cancels the one that is still waiting (or running) for it, so a burst of edits
ends with one analysis of the last version. Exceptions are logged, never raised
into the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Debouncer:
    """Runs ``job()`` for a key after ``delay`` seconds of quiet; a newer call for the key replaces it."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = max(0.0, delay)
        self._pending: dict[str, asyncio.Task[None]] = {}

    def schedule(
        self, key: str, job: Callable[[], Awaitable[None]], delay: float | None = None
    ) -> asyncio.Task[None]:
        """Cancel what is pending for ``key``; run ``job`` after ``delay`` (default: the debounce delay)."""
        self.cancel(key)
        wait = self.delay if delay is None else max(0.0, delay)
        task = asyncio.get_running_loop().create_task(self._run(key, job, wait), name=f"debounce:{key}")
        self._pending[key] = task
        return task

    async def _run(self, key: str, job: Callable[[], Awaitable[None]], wait: float) -> None:
        try:
            if wait > 0:
                await asyncio.sleep(wait)
            await job()
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("debounced job for %s failed", key)
        finally:
            if self._pending.get(key) is asyncio.current_task():
                del self._pending[key]

    def pending(self, key: str) -> bool:
        return key in self._pending

    def cancel(self, key: str) -> None:
        task = self._pending.pop(key, None)
        if task is not None and not task.done():
            task.cancel()

    def cancel_all(self) -> None:
        for key in list(self._pending):
            self.cancel(key)
