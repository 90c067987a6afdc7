#!/usr/bin/python3
"""wsharness external client agent: Autobahn|Python 22.7 (Debian), asyncio
flavour, as a client driven by Autobahn's fuzzing-server protocol.

Usage: /usr/bin/python3 autobahn_client.py URL AGENT [PARALLEL]
URL is the fuzzing server's (ws://127.0.0.1:9001); PARALLEL cases run at
once (default 4; Autobahn allows several, which keeps the run short).
Run with Debian's /usr/bin/python3 (a pyenv python3 does not see
dist-packages).

Configuration as Autobahn's own testee client (examples/.../testee) sets it:
  failByDrop=False                 close politely on protocol errors
  perMessageCompressionOffers      one permessage-deflate offer, defaults
  perMessageCompressionAccept      accepts the server's deflate response
Everything else default: UTF-8 validation on, no payload limit, pings
answered. Every message is echoed with its type.
"""
import asyncio
import json
import sys
import urllib.parse

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
from autobahn.websocket.compress import (
    PerMessageDeflateOffer,
    PerMessageDeflateResponse,
    PerMessageDeflateResponseAccept,
)


class Echo(WebSocketClientProtocol):
    """Echoes every message; on a control connection, keeps the first."""

    def onMessage(self, payload, isBinary):
        if self.factory.control:
            if self.factory.first is None:
                self.factory.first = payload
        else:
            self.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        if not self.factory.done.done():
            self.factory.done.set_result(None)


def accept(response):
    if isinstance(response, PerMessageDeflateResponse):
        return PerMessageDeflateResponseAccept(response)
    return None


async def connect(url, control=False):
    """Runs one connection to its end; returns a control call's answer."""
    loop = asyncio.get_running_loop()
    factory = WebSocketClientFactory(url, loop=loop)
    factory.protocol = Echo
    factory.control, factory.first, factory.done = control, None, loop.create_future()
    factory.setProtocolOptions(
        failByDrop=False,
        perMessageCompressionOffers=[PerMessageDeflateOffer()],
        perMessageCompressionAccept=accept,
    )
    u = urllib.parse.urlparse(url)
    try:
        transport, _ = await loop.create_connection(factory, u.hostname, u.port)
    except OSError:
        return None
    try:
        await factory.done
    finally:
        transport.close()
    return factory.first


async def main(base, agent, parallel):
    count = json.loads(await connect(f"{base}/getCaseCount", control=True))
    cases = iter(range(1, count + 1))
    quoted = urllib.parse.quote(agent)

    async def worker():
        for n in cases:
            await connect(f"{base}/runCase?case={n}&agent={quoted}")

    await asyncio.gather(*(worker() for _ in range(parallel)))
    await connect(f"{base}/updateReports?agent={quoted}", control=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: autobahn_client.py URL AGENT [PARALLEL]")
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 4))
