#!/usr/bin/python3
"""wsharness external client agent: python3-websockets 10.4 (Debian) as a
client, driven by Autobahn's fuzzing-server protocol.

Usage: /usr/bin/python3 websockets_client.py URL AGENT [PARALLEL]
URL is the fuzzing server's (ws://127.0.0.1:9001); PARALLEL cases run at
once (default 4; Autobahn allows several, which keeps the run short).

Configuration as websockets' own compliance/client.py runs it:
max_size=2**25 (32 MiB; the default 1 MiB would close 9.x with 1009),
everything else default: compression="deflate" offered, UTF-8 validation,
pings answered. Every message is echoed with its type (str -> text,
bytes -> binary).
"""
import asyncio
import json
import sys
import urllib.parse

import websockets


async def control(uri):
    async with websockets.connect(uri) as ws:
        return await ws.recv()


async def run_case(base, agent, n):
    uri = f"{base}/runCase?case={n}&agent={urllib.parse.quote(agent)}"
    try:
        async with websockets.connect(uri, max_size=2**25) as ws:
            async for msg in ws:
                await ws.send(msg)
    except Exception:  # noqa: BLE001
        # The harness judges what happened on the wire. Not only
        # WebSocketException: websockets 10.4 lets zlib's ValueError
        # through when the server answers client_max_window_bits=8 (zlib's
        # raw deflate cannot compress with 8 bits), and one case must not
        # end the driver and the cases still to run.
        pass


async def main(base, agent, parallel):
    count = json.loads(await control(f"{base}/getCaseCount"))
    cases = iter(range(1, count + 1))

    async def worker():
        for n in cases:
            await run_case(base, agent, n)

    await asyncio.gather(*(worker() for _ in range(parallel)))
    async with websockets.connect(f"{base}/updateReports?agent={urllib.parse.quote(agent)}") as ws:
        await ws.wait_closed()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: websockets_client.py URL AGENT [PARALLEL]")
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 4))
