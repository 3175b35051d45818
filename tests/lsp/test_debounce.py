"""Debouncing: a burst of schedules for one key runs the last job once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from codegraph.lsp.debounce import Debouncer


async def test_a_burst_runs_the_last_job_only() -> None:
    ran: list[int] = []
    d = Debouncer(0.05)

    def job(i: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            ran.append(i)

        return run

    for i in range(20):
        d.schedule("doc", job(i))
        await asyncio.sleep(0.001)
    d.schedule("other", job(100))
    await asyncio.sleep(0.15)
    assert sorted(ran) == [19, 100]
    assert not d.pending("doc")


async def test_failing_jobs_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("x")

    await Debouncer(0).schedule("doc", boom)
    assert "failed" in caplog.text
