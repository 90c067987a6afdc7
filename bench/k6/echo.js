// Closed-loop echo for the k6 side of `wsharness bench`: CONNS virtual
// users, one socket each; every socket sends a SIZE-byte text message,
// waits for the echo and sends the next one. Replies are counted in a
// measured window that is the same for every socket: it opens OPEN_S +
// WARMUP_S seconds after the scenario started (time for all sockets to
// connect, then a warm-up) and lasts DURATION_S seconds, after which every
// socket closes. handleSummary writes k6's own end-of-test summary, as
// JSON, to SUMMARY; the counters below are in it next to k6's built-in
// ws_* metrics.
//
//   WS_URL=ws://127.0.0.1:PORT/echo CONNS=1000 SIZE=128 DURATION_S=10 \
//   WARMUP_S=2 OPEN_S=1 SUMMARY=out/k6.json k6 run --no-usage-report echo.js
import { WebSocket } from 'k6/websockets';
import { setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

const url = __ENV.WS_URL || '';
// Loopback only: this script is a local benchmark, never a load on
// someone else's server.
if (!/^ws:\/\/127\.0\.0\.1:[0-9]+\//.test(url)) {
	throw new Error(`WS_URL must be ws://127.0.0.1:PORT/..., got "${url}"`);
}
const num = (name, def) => {
	const v = Number(__ENV[name] === undefined ? def : __ENV[name]);
	if (!Number.isFinite(v) || v < 0) {
		throw new Error(`${name}: want a number >= 0, got "${__ENV[name]}"`);
	}
	return v;
};
const conns = Math.max(1, Math.floor(num('CONNS', 100)));
const size = Math.max(1, Math.floor(num('SIZE', 128)));
const durationMS = num('DURATION_S', 10) * 1000;
const warmupMS = num('WARMUP_S', 2) * 1000;
const openMS = num('OPEN_S', 1) * 1000;
const summaryPath = __ENV.SUMMARY || 'k6-echo-summary.json';

export const options = {
	scenarios: {
		echo: {
			executor: 'per-vu-iterations',
			vus: conns,
			iterations: 1,
			maxDuration: `${Math.ceil((openMS + warmupMS + durationMS) / 1000) + 30}s`,
			gracefulStop: '5s',
		},
	},
	summaryTrendStats: ['min', 'med', 'p(90)', 'p(99)', 'max'],
};

// Replies received inside the measured window, over all sockets.
const measured = new Counter('wsh_echo_measured');
// Sockets that opened, and sockets that opened only after the window began.
const opened = new Counter('wsh_sockets_opened');
const lateOpen = new Counter('wsh_sockets_opened_late');
const errors = new Counter('wsh_socket_errors');

const message = 'x'.repeat(size);

export default function () {
	const from = exec.scenario.startTime + openMS + warmupMS;
	const to = from + durationMS;
	const ws = new WebSocket(url);
	// Counted locally and reported once, so that the measurement adds no
	// metric sample per message on top of k6's own ws_msgs_* ones.
	let count = 0;
	let reported = false;
	const report = () => {
		if (!reported) {
			reported = true;
			measured.add(count);
		}
	};
	ws.onopen = () => {
		opened.add(1);
		if (Date.now() >= from) {
			lateOpen.add(1);
		}
		ws.send(message);
	};
	ws.onmessage = () => {
		const now = Date.now();
		if (now >= to) {
			return;
		}
		if (now >= from) {
			count++;
		}
		ws.send(message);
	};
	ws.onerror = () => {
		errors.add(1);
	};
	ws.onclose = report;
	setTimeout(() => {
		report();
		ws.close();
	}, Math.max(0, to - Date.now()));
}

export function handleSummary(data) {
	return { [summaryPath]: JSON.stringify(data, null, 1) };
}
