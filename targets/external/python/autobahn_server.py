#!/usr/bin/python3
"""wsharness external target: Autobahn|Python 22.7 (Debian), asyncio flavour.

Usage: /usr/bin/python3 autobahn_server.py [port]   (default 9103)
Run with Debian's /usr/bin/python3 (a pyenv python3 does not see dist-packages).

/echo echoes every message with its type; /broadcast sends every message to
all open /broadcast connections, the sender included.

Configuration (setProtocolOptions, and why):
  failByDrop=False           default True drops TCP on protocol errors; we
                             want the "closes politely" behaviour
  echoCloseCodeReason=True   default False always answers close with 1000
  utf8validateIncoming=True  (the default; stated explicitly)
  maxMessagePayloadSize=32 MiB  default 0 = unlimited; same cap as the others
No compression (Autobahn rejects permessage-deflate offers unless configured),
no auto-ping. The event loop is created BEFORE the factory: the factory
captures the loop at construction and handshakes hang otherwise.
"""
import asyncio
import signal
import sys

from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 9103
broadcast = set()


class Server(WebSocketServerProtocol):
    def onConnect(self, request):
        self.path = request.path
        if self.path not in ("/echo", "/broadcast"):
            from autobahn.websocket.types import ConnectionDeny
            raise ConnectionDeny(404, "not found")

    def onOpen(self):
        if self.path == "/broadcast":
            broadcast.add(self)

    def onMessage(self, payload, isBinary):
        if self.path == "/echo":
            self.sendMessage(payload, isBinary)
        else:
            for c in list(broadcast):
                c.sendMessage(payload, isBinary)

    def onClose(self, wasClean, code, reason):
        broadcast.discard(self)


loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
factory = WebSocketServerFactory(f"ws://127.0.0.1:{PORT}", loop=loop)
factory.protocol = Server
factory.setProtocolOptions(failByDrop=False, echoCloseCodeReason=True,
                           utf8validateIncoming=True,
                           maxMessagePayloadSize=32 << 20)
server = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", PORT))
loop.add_signal_handler(signal.SIGTERM, loop.stop)
print(f"autobahn-asyncio listening on 127.0.0.1:{PORT}", flush=True)
try:
    loop.run_forever()
finally:
    server.close()
