/*
 * lws-client: wsharness external client agent on libwebsockets 4.1 (Debian
 * bookworm libwebsockets-dev 4.1.6), driven by Autobahn's fuzzing-server
 * protocol.
 *
 * Usage: lws-client URL AGENT [PARALLEL [deflate]]
 *
 * URL is the fuzzing server's, e.g. ws://127.0.0.1:9001. The driver reads
 * /getCaseCount, runs /runCase?case=N&agent=AGENT for N = 1..count, PARALLEL
 * cases at once (default 4), then calls /updateReports?agent=AGENT and
 * exits 0. If a control connection (getCaseCount, updateReports) fails it
 * says why in one line on stderr and exits 1; a case's connection that fails
 * (a handshake the case answers wrongly on purpose) just ends that case.
 *
 * Configuration as libwebsockets' own Autobahn run (scripts/autobahn-test-
 * client.sh with minimal-examples/ws-client/minimal-ws-client-echo), except
 * that permessage-deflate is offered only with "deflate" (as lws's run
 * offers it: "permessage-deflate; client_no_context_takeover;
 * client_max_window_bits"): with it, 4.1.6's client spins at full CPU on an
 * uncompressed message (wsharness's 11.4.7) and on RSV bits it should
 * refuse (11.4.1-11.4.5, 11.4.9), answering nothing more on any of its
 * connections, so every case after those would go unrun (docs/clients.md).
 * LWS_SERVER_OPTION_VALIDATE_UTF8 on the
 * context (lws's client parser checks text against the context's options),
 * pt_serv_buf_size 32 KiB, rx_buffer_size 1024, lws's default timeouts and
 * keepalive. What the library does by itself, unchanged here: the handshake
 * checks, the frame checks, UTF-8 validation (Close 1007), answering pings
 * and the closing handshake.
 *
 * The echo: every text or binary message is sent back with its type, whole
 * (lws delivers a message in pieces of at most rx_buffer_size; they are
 * reassembled here), up to MAX_MESSAGE bytes; a longer one fails the
 * connection with Close 1009. Reading stops (lws_rx_flow_control) from the
 * end of a message until its echo has left lws's buffers, as in echo.c: it
 * bounds memory and keeps the order of the peer's frames, since lws sends
 * its Close reply before data the application has not written yet. An echo
 * goes out in frames of at most TX_CHUNK bytes, one per CLIENT_WRITEABLE,
 * written from the message's own buffer, which lives until the next
 * WRITEABLE: with permessage-deflate lws keeps deflating from that buffer
 * (tx draining) before it calls WRITEABLE again.
 *
 * Single-threaded (lws_service loop). Connections are started only from the
 * loop in main, never from inside a callback.
 */

#include "common.h"

#include <stdarg.h>
#include <stdio.h>

#define MAX_MESSAGE (32u << 20)  /* largest message echoed, bytes */
#define TX_CHUNK (64u << 10)     /* largest frame written */
#define MAX_PARALLEL 64          /* the fuzzing server's limit */
#define MAX_COUNT_TEXT 32        /* getCaseCount's answer, bytes kept */
#ifndef CONTROL_TIMEOUT_S
#define CONTROL_TIMEOUT_S 60     /* for getCaseCount or updateReports to end */
#endif

enum kind { K_COUNT, K_CASE, K_REPORT };

/* A message: LWS_PRE bytes of headroom, then len bytes of payload. */
struct msg {
	struct msg *next;
	size_t len, cap;
	int binary;
	unsigned char *buf;  /* LWS_PRE + cap bytes */
};

/* One connection; a slot of sessions[], handed to lws as its user data. */
struct session {
	struct lws *wsi;      /* set by lws through pwsi */
	enum kind kind;
	int active;           /* slot in use; cleared once by finish() */
	struct msg *rx;       /* message being received */
	struct msg *q_head, *q_tail;  /* complete messages to echo */
	size_t tx_off;        /* bytes of q_head written */
	int tx_sent;          /* q_head written: freed at the next WRITEABLE */
	int rx_paused;
	char text[MAX_COUNT_TEXT + 1];  /* K_COUNT: the answer */
	size_t text_len;
};

static struct session sessions[MAX_PARALLEL + 1];
static int destroying;  /* lws_context_destroy is closing what is left */

static const char *server_host;  /* address to connect to */
static int server_port;
static char host_header[300];    /* "host:port", also the Origin */
static char base_path[256];      /* the URL's path, no trailing '/' */
static char agent_q[512];        /* the agent, percent-encoded */

static unsigned int parallel = 4, case_count, next_case = 1, in_flight;
static enum { P_COUNT, P_CASES, P_REPORT, P_DONE } phase = P_COUNT;
static int control_busy;         /* a K_COUNT or K_REPORT connection is open */
static int count_known;
static int exit_status;
static char failure[512];        /* why the run failed, one line */

/* Ends the run with exit status 1; the first reason given is printed. */
static void fail_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_run(const char *fmt, ...)
{
	va_list ap;

	if (!failure[0]) {
		va_start(ap, fmt);
		vsnprintf(failure, sizeof(failure), fmt, ap);
		va_end(ap);
	}
	exit_status = 1;
	phase = P_DONE;
}

/* The control call a connection of kind k makes, for messages. */
static const char *control_name(enum kind k)
{
	return k == K_COUNT ? "/getCaseCount" : "/updateReports";
}

static void msg_free(struct msg *m)
{
	if (m) {
		free(m->buf);
		free(m);
	}
}

static void session_clear(struct session *s)
{
	struct msg *m, *next;

	msg_free(s->rx);
	for (m = s->q_head; m; m = next) {
		next = m->next;
		msg_free(m);
	}
	s->rx = s->q_head = s->q_tail = NULL;
	s->tx_off = 0;
	s->tx_sent = 0;
	s->rx_paused = 0;
}

/* Appends one piece of a message; 0, or -1 with a close reason set. */
static int receive(struct lws *wsi, struct session *s, const void *in, size_t len)
{
	size_t more = lws_remaining_packet_payload(wsi), have, need;
	struct msg *m = s->rx;

	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return fail(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					 "out of memory");
		m->binary = lws_frame_is_binary(wsi);
		s->rx = m;
	}
	have = m->len;
	/* the cap counts what arrived plus the rest of this frame */
	if (len > MAX_MESSAGE - have || more > MAX_MESSAGE - have - len)
		return fail(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
				 "message too big");
	need = have + len;
	if (need > m->cap || !m->buf) {
		/* grows with the bytes that arrive, never with a declared length */
		size_t cap = m->cap * 2;
		unsigned char *b;

		if (cap < need)
			cap = need;
		if (cap < 1024)
			cap = 1024;
		if (cap > MAX_MESSAGE)
			cap = MAX_MESSAGE;
		b = realloc(m->buf, LWS_PRE + cap);
		if (!b)
			return fail(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
					 "out of memory");
		m->buf = b;
		m->cap = cap;
	}
	if (len)
		memcpy(m->buf + LWS_PRE + have, in, len);
	m->len = need;
	return 0;
}

/* Queues the complete message s->rx for its echo and stops reading. */
static void message_done(struct lws *wsi, struct session *s)
{
	struct msg *m = s->rx;

	s->rx = NULL;
	if (s->q_tail)
		s->q_tail->next = m;
	else
		s->q_head = m;
	s->q_tail = m;
	if (!s->rx_paused) {
		s->rx_paused = 1;
		lws_rx_flow_control(wsi, 0);
	}
	lws_callback_on_writable(wsi);
}

/* Writes one frame of the oldest queued message; -1 to close. */
static int write_next(struct lws *wsi, struct session *s)
{
	struct msg *m = s->q_head;
	size_t n;
	int flags;

	if (m && s->tx_sent) {
		/* lws has flushed and deflated all of it: it can go */
		s->q_head = m->next;
		if (!s->q_head)
			s->q_tail = NULL;
		msg_free(m);
		s->tx_off = 0;
		s->tx_sent = 0;
		m = s->q_head;
	}
	if (!m) {
		if (s->rx_paused) {
			s->rx_paused = 0;
			lws_rx_flow_control(wsi, 1);
		}
		return 0;
	}

	n = m->len - s->tx_off;
	if (n > TX_CHUNK)
		n = TX_CHUNK;
	flags = lws_write_ws_flags(m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT,
				   s->tx_off == 0, s->tx_off + n == m->len);
	/*
	 * lws puts the frame header in the LWS_PRE bytes before the payload it
	 * is given: for a later frame those are bytes already sent.
	 */
	if (lws_write(wsi, m->buf + LWS_PRE + s->tx_off, n,
		      (enum lws_write_protocol)flags) < (int)n)
		return -1;
	s->tx_off += n;
	if (s->tx_off == m->len)
		s->tx_sent = 1;
	lws_callback_on_writable(wsi);
	return 0;
}

/* Ends a connection's slot once, whichever callback reports its end. */
static void finish(struct session *s)
{
	if (!s->active)
		return;
	s->active = 0;
	session_clear(s);
	switch (s->kind) {
	case K_COUNT:
		control_busy = 0;
		if (phase == P_DONE)
			break;
		if (!count_known) {
			fail_run("lws-client: ws://%s/getCaseCount: no case count received",
				 host_header);
			break;
		}
		phase = P_CASES;
		break;
	case K_CASE:
		in_flight--;
		break;
	case K_REPORT:
		control_busy = 0;
		phase = P_DONE;
		break;
	}
	if (!destroying)
		lws_cancel_service(context);  /* the loop in main starts what is next */
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct session *s = user;
	long n;

	/*
	 * a wsi whose slot was released (and maybe reused) already: nothing of
	 * ours is left. lws sets s->wsi (pwsi) early in the connect; before
	 * that only this connection can be using the slot.
	 */
	if (s && (!s->active || (s->wsi && s->wsi != wsi)))
		s = NULL;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		/* a case is bounded by the server; a control call only by us */
		if (s && s->kind != K_CASE)
			lws_set_timer_usecs(wsi, (lws_usec_t)CONTROL_TIMEOUT_S *
					    LWS_USEC_PER_SEC);
		return 0;

	case LWS_CALLBACK_TIMER:
		if (!s)
			return 0;
		fail_run("lws-client: ws://%s%s: the server did not close the connection within %d s",
			 host_header, control_name(s->kind), CONTROL_TIMEOUT_S);
		return -1;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!s)
			return 0;
		if (s->kind != K_CASE)
			fail_run("lws-client: ws://%s%s: cannot connect: %s", host_header,
				 control_name(s->kind), in ? (const char *)in : "failed");
		finish(s);
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!s)
			return 0;
		if (s->kind == K_COUNT) {
			if (len > MAX_COUNT_TEXT - s->text_len)
				len = MAX_COUNT_TEXT - s->text_len;
			memcpy(s->text + s->text_len, in, len);
			s->text_len += len;
			s->text[s->text_len] = '\0';
			if (!lws_is_final_fragment(wsi) || count_known)
				return 0;
			n = parse_arg(s->text, 0, 1000000);
			if (n < 0) {
				fail_run("lws-client: ws://%s/getCaseCount answered %s, not a case count",
					 host_header, s->text);
				return -1;
			}
			case_count = (unsigned int)n;
			count_known = 1;
			return 0;
		}
		if (s->kind == K_REPORT)
			return 0;
		if (receive(wsi, s, in, len))
			return -1;
		if (lws_is_final_fragment(wsi))
			message_done(wsi, s);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!s || s->kind != K_CASE)
			return 0;
		return write_next(wsi, s);

	case LWS_CALLBACK_CLIENT_CLOSED:
		if (s)
			finish(s);
		return 0;

	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
	{
		.name = "lws-client",
		.callback = callback,
		.per_session_data_size = 0,  /* user data is a sessions[] slot */
		.rx_buffer_size = 1024,      /* as lws's minimal client echo */
	},
	{ .name = NULL }  /* terminator */
};

/* As lws's own Autobahn client offers it. */
static const struct lws_extension extensions[] = {
	{
		"permessage-deflate",
		lws_extension_callback_pm_deflate,
		"permessage-deflate"
		"; client_no_context_takeover"
		"; client_max_window_bits"
	},
	{ NULL, NULL, NULL }  /* terminator */
};

/* Starts a connection to path in a free slot; 0, or -1 if none could start. */
static int start(enum kind kind, const char *path)
{
	struct lws_client_connect_info i;
	struct session *s = NULL;
	size_t k;

	for (k = 0; k < sizeof(sessions) / sizeof(sessions[0]); k++)
		if (!sessions[k].active) {
			s = &sessions[k];
			break;
		}
	if (!s)
		return -1;
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->active = 1;
	if (kind == K_CASE)
		in_flight++;
	else
		control_busy = 1;

	memset(&i, 0, sizeof(i));
	i.context = context;
	i.address = server_host;
	i.port = server_port;
	i.path = path;
	i.host = host_header;
	i.origin = host_header;
	i.userdata = s;
	i.pwsi = &s->wsi;
	i.ietf_version_or_minus_one = -1;

	if (!lws_client_connect_via_info(&i)) {
		/* it may have reported CONNECTION_ERROR already: finish is once */
		if (s->active && kind != K_CASE)
			fail_run("lws-client: ws://%s%s: cannot connect",
				 host_header, control_name(kind));
		finish(s);
	}
	return 0;
}

/* Starts whatever the protocol's next step allows. */
static void schedule(void)
{
	char path[1024];

	switch (phase) {
	case P_COUNT:
		if (!control_busy && !count_known) {
			snprintf(path, sizeof(path), "%s/getCaseCount", base_path);
			start(K_COUNT, path);
		}
		break;
	case P_CASES:
		while (phase == P_CASES && in_flight < parallel &&
		       next_case <= case_count) {
			snprintf(path, sizeof(path), "%s/runCase?case=%u&agent=%s",
				 base_path, next_case, agent_q);
			next_case++;
			if (start(K_CASE, path))
				break;
		}
		if (phase == P_CASES && next_case > case_count && !in_flight)
			phase = P_REPORT;
		if (phase != P_REPORT)
			break;
		/* fall through */
	case P_REPORT:
		if (!control_busy) {
			snprintf(path, sizeof(path), "%s/updateReports?agent=%s",
				 base_path, agent_q);
			start(K_REPORT, path);
		}
		break;
	case P_DONE:
		break;
	}
}

/* Percent-encodes everything but RFC 3986's unreserved characters. */
static int encode_query(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (o + 1 >= cap)
				return -1;
			dst[o++] = (char)c;
		} else {
			if (o + 3 >= cap)
				return -1;
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return 0;
}

/* Splits ws://HOST:PORT[/PATH] into the globals; -1 if it is not one. */
static int parse_url(const char *url)
{
	static char copy[512];
	const char *prot, *ads, *path;
	size_t n;

	if (strlen(url) >= sizeof(copy))
		return -1;
	strcpy(copy, url);
	if (lws_parse_uri(copy, &prot, &ads, &server_port, &path) ||
	    strcmp(prot, "ws") || !*ads || server_port < 1 || server_port > 65535)
		return -1;
	server_host = ads;
	snprintf(host_header, sizeof(host_header), "%s:%d", ads, server_port);
	/* lws_parse_uri drops the path's leading '/' */
	n = strlen(path);
	while (n && path[n - 1] == '/')
		n--;
	if (n + 2 > sizeof(base_path))
		return -1;
	if (n) {
		base_path[0] = '/';
		memcpy(base_path + 1, path, n);
		base_path[n + 1] = '\0';
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	long p;

	if (argc < 3 || argc > 5 || (argc == 5 && strcmp(argv[4], "deflate"))) {
		fprintf(stderr, "usage: lws-client URL AGENT [PARALLEL [deflate]]\n");
		return 2;
	}
	if (parse_url(argv[1])) {
		fprintf(stderr, "lws-client: %s: want ws://HOST:PORT\n", argv[1]);
		return 2;
	}
	if (!*argv[2] || encode_query(agent_q, sizeof(agent_q), argv[2])) {
		fprintf(stderr, "lws-client: bad agent name\n");
		return 2;
	}
	if (argc >= 4) {
		p = parse_arg(argv[3], 1, MAX_PARALLEL);
		if (p < 0) {
			fprintf(stderr, "lws-client: PARALLEL %s: want 1 to %d\n",
				argv[3], MAX_PARALLEL);
			return 2;
		}
		parallel = (unsigned int)p;
	}

	lws_set_log_level(LLL_ERR, NULL);

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	if (argc == 5)
		info.extensions = extensions;
	info.pt_serv_buf_size = 32 * 1024;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;

	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws-client: lws_create_context failed\n");
		return 1;
	}

	stop_on_signals();

	while (!interrupted && phase != P_DONE) {
		schedule();
		if (phase == P_DONE)
			break;
		if (lws_service(context, 0) < 0) {
			fail_run("lws-client: lws_service failed");
			break;
		}
	}

	destroying = 1;
	lws_context_destroy(context);  /* closes what is still open */
	if (interrupted) {
		fprintf(stderr, "lws-client: interrupted after %u of %u cases\n",
			next_case - 1 - in_flight, case_count);
		return 1;
	}
	if (exit_status) {
		fprintf(stderr, "%s\n", failure);
		return exit_status;
	}
	return 0;
}
