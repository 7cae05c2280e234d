#!/usr/bin/env python3
"""The asyncio Python client: jobs as awaitables, asyncio.wait's
return_when, and a task group whose failing member cancels the others.
In the source tree: PYTHONPATH=client/python."""

import asyncio

import aiojobsd


async def main():
    async with aiojobsd.AsyncClient() as jobs:
        job = await jobs.submit("exec", argv=["echo", "hello"], timeout=600)
        print("result:", (await job)["stdout"].strip())

        sleeps = await jobs.submit_many(
            [aiojobsd.spec("sleep", ms=ms) for ms in (300, 100, 200)])
        done, pending = await jobs.wait(
            sleeps, return_when=asyncio.FIRST_COMPLETED, timeout=10)
        print("first done:", [j.id for j in done])
        async for j in jobs.as_completed(pending, timeout=10):
            print("then:", j.id, (await j)["slept_ms"], "ms")

        try:
            async with jobs.group() as g:
                slow = await g.submit("sleep", ms=60000)
                await g.submit("exec", argv=["false"])
        except ExceptionGroup as eg:
            print("group failed:", [str(e) for e in eg.exceptions])
            print("sibling:", (await jobs.status(slow))["state"])


asyncio.run(main())
