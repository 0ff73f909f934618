# SPDX-License-Identifier: GPL-3.0-or-later
"""The door's worker pool is bounded: when its workers and its waiting
room are taken, the next message is refused at once (451), never queued
behind them."""

import asyncio
import threading

import pytest

from mailman_antibackscatter.runners.lmtp import DoorBusy, DoorPool


def test_full_pool_refuses_at_once_and_frees_its_slots():
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow(n):
        started.release()
        release.wait()
        return n

    async def scenario():
        pool = DoorPool(workers=2, waiting=1)
        tasks = [asyncio.ensure_future(pool.run(slow, n)) for n in range(3)]
        await asyncio.sleep(0)
        for _ in range(2):          # both workers busy, one message waits
            await asyncio.get_running_loop().run_in_executor(
                None, started.acquire)
        assert pool.busy == 3
        with pytest.raises(DoorBusy):
            await pool.run(slow, 99)
        release.set()
        assert await asyncio.gather(*tasks) == [0, 1, 2]
        assert pool.busy == 0
        assert await pool.run(lambda: 'free again') == 'free again'
        pool.shutdown()

    asyncio.run(scenario())
