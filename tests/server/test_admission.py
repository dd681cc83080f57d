"""Admission control: slots, the queue, the pixel and upload budgets, and 503 beyond them."""

import asyncio

import pytest

from agegender.errors import Busy
from agegender.server.admission import Admission, Limits


def _admission(**kw) -> Admission:
    limits = dict(max_active=2, max_waiting=2, pixel_budget=100, upload_budget=1000, max_wait_s=5.0)
    return Admission(Limits(**{**limits, **kw}))


def test_slots_queue_and_refusal_beyond_the_queue():
    async def scenario():
        adm = _admission()
        release = asyncio.Event()
        order = []

        async def job(name):
            async with adm.slot(10):
                order.append(name)
                await release.wait()

        running = [asyncio.create_task(job(i)) for i in range(4)]  # 2 run, 2 queue
        await asyncio.sleep(0.05)
        assert (adm.active, adm.waiting) == (2, 2) and order == [0, 1]
        with pytest.raises(Busy) as refused:
            async with adm.slot(10):
                pass
        assert refused.value.retry_after_s >= 1
        release.set()
        await asyncio.gather(*running)
        assert order == [0, 1, 2, 3] and (adm.active, adm.waiting, adm.pixels) == (0, 0, 0)

    asyncio.run(scenario())


def test_pixel_budget_holds_back_big_images_but_never_starves_one():
    async def scenario():
        adm = _admission(max_active=4)
        release = asyncio.Event()

        async def job(pixels):
            async with adm.slot(pixels):
                await release.wait()

        first = asyncio.create_task(job(70))
        await asyncio.sleep(0.02)
        second = asyncio.create_task(job(70))  # 140 > 100: waits although a slot is free
        await asyncio.sleep(0.02)
        assert (adm.active, adm.waiting, adm.pixels) == (1, 1, 70)
        release.set()
        await asyncio.gather(first, second)
        alone = asyncio.create_task(job(500))  # larger than the whole budget: runs, alone
        await asyncio.wait_for(alone, 1)

    asyncio.run(scenario())


def test_a_queued_request_gives_up_after_max_wait_and_leaves_the_queue():
    async def scenario():
        adm = _admission(max_active=1, max_wait_s=0.1)
        hold = asyncio.Event()

        async def job():
            async with adm.slot(1):
                await hold.wait()

        running = asyncio.create_task(job())
        await asyncio.sleep(0.01)
        with pytest.raises(Busy, match="busy for"):
            async with adm.slot(1):
                pass
        assert adm.waiting == 0
        hold.set()
        await running
        assert adm.active == 0

    asyncio.run(scenario())


def test_upload_budget():
    adm = _admission()
    adm.reserve_upload(900)
    with pytest.raises(Busy, match="uploads"):
        adm.reserve_upload(200)
    adm.release_upload(900)
    adm.reserve_upload(1000)
