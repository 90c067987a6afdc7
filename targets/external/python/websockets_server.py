#!/usr/bin/python3
"""wsharness external target: python3-websockets 10.4 (Debian) on 127.0.0.1.

Usage: /usr/bin/python3 websockets_server.py [port [deflate]]   (default 9102)
Run with Debian's /usr/bin/python3: a pyenv python3 on PATH does not see
/usr/lib/python3/dist-packages.

/echo echoes every message with its type; /broadcast sends every message to
all open /broadcast connections, the sender included.

Configuration (websockets.serve defaults changed, and why):
  max_size=32 MiB      default 1 MiB would close large-message cases with 1009
  ping_interval=None   default 20 s keepalive would send pings the harness
                       did not ask for
  compression=None     default "deflate" negotiates permessage-deflate;
                       the entry python-websockets-deflate passes "deflate"
                       to test that default
Everything else (UTF-8 validation, max_queue 32, close_timeout) is default.
"""
import asyncio
import signal
import sys

import websockets

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9102
COMPRESSION = "deflate" if sys.argv[2:3] == ["deflate"] else None
clients = set()


async def handler(ws, path):  # 10.x signature
    if path == "/echo":
        async for msg in ws:
            await ws.send(msg)  # str -> text, bytes -> binary
    elif path == "/broadcast":
        clients.add(ws)
        try:
            async for msg in ws:
                websockets.broadcast(clients, msg)
        finally:
            clients.discard(ws)
    else:
        await ws.close(1008, "unknown path")


async def main():
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", PORT, max_size=32 << 20,
                                ping_interval=None, compression=COMPRESSION):
        print(f"python-websockets {websockets.__version__} listening on 127.0.0.1:{PORT}", flush=True)
        await stop


asyncio.run(main())
