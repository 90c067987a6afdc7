// wsharness external client agent: Debian's `ws` (node-ws 8.11) as a client,
// driven by Autobahn's fuzzing-server protocol.
// Usage: NODE_PATH=/usr/share/nodejs node client.js URL AGENT [PARALLEL]
// (URL is the fuzzing server's, e.g. ws://127.0.0.1:9001; PARALLEL defaults
// to 4 cases at once; Autobahn allows several, which keeps the run short).
// Configuration: ws's client defaults, as ws's own test/autobahn.js runs its
// client: perMessageDeflate offered (the default), maxPayload 100 MiB, UTF-8
// validation on. Every text and binary message is echoed with its type; ws
// answers pings itself. Every socket needs an 'error' listener: ws reports
// protocol errors there and Node exits on an unhandled one.
'use strict';
const WebSocket = require('ws');

const [base, agent, parallelArg] = process.argv.slice(2);
if (!base || !agent) {
  console.error('usage: node client.js URL AGENT [PARALLEL]');
  process.exit(2);
}
const parallel = Number(parallelArg || 4);
const quiet = () => {};

// control opens a control connection and resolves with its first message.
function control(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path);
    let first;
    ws.on('error', reject);
    ws.on('message', (data) => { if (first === undefined) first = data.toString(); });
    ws.on('close', () => resolve(first));
  });
}

// runCase echoes until the case's connection closes.
function runCase(n) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}/runCase?case=${n}&agent=${encodeURIComponent(agent)}`);
    ws.on('error', quiet);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }, quiet));
    ws.on('close', resolve);
  });
}

(async () => {
  const count = JSON.parse(await control('/getCaseCount'));
  let next = 1;
  const worker = async () => {
    while (next <= count) {
      await runCase(next++);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await control(`/updateReports?agent=${encodeURIComponent(agent)}`);
})().catch((err) => {
  console.error(`Error: ${err.message}`);
  process.exit(1);
});
