// wsharness external target: Debian's `ws` (node-ws 8.11) on 127.0.0.1.
// Usage: NODE_PATH=/usr/share/nodejs node server.js [port [deflate]]   (default 9101)
// /echo echoes every message with its type; /broadcast sends every message to
// all open /broadcast connections, the sender included.
// Configuration: ws defaults except as noted - maxPayload 32 MiB (default is
// 100 MiB; 32 MiB matches the other external targets), perMessageDeflate off
// (ws's default) unless "deflate" is given, then on with threshold 0 so that
// every message is compressed, not only those over 1 KiB; UTF-8 validation on
// (default), no automatic pings (ws never sends them).
// Every socket needs an 'error' listener: ws reports protocol errors there
// (after sending its close frame) and Node exits on an unhandled 'error'.
'use strict';
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 9101);
const deflate = process.argv[3] === 'deflate';
const opts = { noServer: true, maxPayload: 32 << 20, perMessageDeflate: deflate ? { threshold: 0 } : false };
const echo = new WebSocketServer(opts);
const bcast = new WebSocketServer(opts);

const quiet = () => {};
echo.on('connection', (ws) => {
  ws.on('error', quiet);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
bcast.on('connection', (ws) => {
  ws.on('error', quiet);
  ws.on('message', (data, isBinary) => {
    for (const c of bcast.clients) {
      if (c.readyState === WebSocket.OPEN) c.send(data, { binary: isBinary });
    }
  });
});

const server = http.createServer((req, res) => {
  res.writeHead(404).end();
});
server.on('upgrade', (req, socket, head) => {
  const path = new URL(req.url, 'http://x').pathname;
  const wss = path === '/echo' ? echo : path === '/broadcast' ? bcast : null;
  if (!wss) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(port, '127.0.0.1', () => console.log(`node-ws listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
