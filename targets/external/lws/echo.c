/*
 * lws-echo: wsharness external target on libwebsockets 4.1 (Debian bookworm
 * libwebsockets-dev 4.1.6).
 *
 * Usage: lws-echo PORT
 *
 * Listens on 127.0.0.1:PORT only (interface "lo", IPv6 disabled) and serves
 *
 *   /echo       every message is sent back with its type (text or binary),
 *               reassembled, 0 bytes to 32 MiB; a longer one is refused
 *               with Close 1009.
 *   /broadcast  every message a client sends goes to all open /broadcast
 *               clients, the sender included, in the same order for all.
 *               Each client has a bounded queue; a client that falls too
 *               far behind is disconnected (Close 1008 "too slow", best
 *               effort) instead of buffering without bound.
 *
 * and refuses the opening handshake on any other path with 404.
 *
 * What the library does by itself, unchanged here: the handshake checks,
 * the frame checks (reserved bits, opcodes, control frame rules), fail-fast
 * UTF-8 validation of text (LWS_SERVER_OPTION_VALIDATE_UTF8, Close 1007),
 * answering pings, and echoing the peer's Close frame (code and reason;
 * codes it considers invalid, 1012-1014 included, become 1002). Its
 * deviations are left visible on purpose, e.g. it upgrades POST, HTTP/1.0,
 * version 8 or 99, a missing version and an 8-byte key; drops the connection
 * when only unknown subprotocols are offered; accepts unmasked client frames;
 * answers only the first of several pending pings.
 *
 * Design notes
 *
 * - One protocol, bound as the vhost's default, so clients that send no
 *   Sec-WebSocket-Protocol are accepted. Its HTTP reasons go to
 *   lws_callback_http_dummy (plain HTTP requests get 404). The path is
 *   checked in LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, while an HTTP status can
 *   still be returned. The route is by path only: the method and version
 *   checks are the library's.
 * - Messages are reassembled in a buffer that grows with the bytes that
 *   actually arrive (doubling, capped at MAX_MESSAGE); a peer-declared frame
 *   length is only compared with the cap, never allocated.
 * - Writes happen only in LWS_CALLBACK_SERVER_WRITEABLE, one frame per
 *   callback. A message longer than TX_CHUNK goes out as a fragmented
 *   message of TX_CHUNK-byte frames; the payload is copied into one shared
 *   scratch buffer that has the LWS_PRE headroom lws_write() needs (lws
 *   copies whatever the socket does not take at once), so messages can be
 *   shared between broadcast queues.
 * - /echo stops reading (lws_rx_flow_control) from the end of a message until
 *   its echo has been handed to the kernel. That bounds the memory of a
 *   client that sends without reading, and keeps the order of the peer's
 *   frames: libwebsockets sends its Close reply before any queued data, so a
 *   Close that follows a message must not be parsed before the echo is out.
 * - Single-threaded (lws_service loop); no locking.
 */

#include "common.h"

#include <stdio.h>

#define MAX_MESSAGE (32u << 20)      /* largest message accepted, bytes */
#define RX_CHUNK 4096                /* lws receive buffer per connection */
#define TX_CHUNK (64u << 10)         /* largest frame written */
#define QUEUE_MAX_MSGS 1024          /* per /broadcast client */
#define QUEUE_MAX_BYTES (64u << 20)  /* per /broadcast client */
#define EVICT_TIMEOUT_S 5            /* to deliver Close 1008 to an evicted client */

enum endpoint { EP_NONE, EP_ECHO, EP_BROADCAST };

/* A complete message; shared by reference between broadcast queues. */
struct msg {
	size_t refs;
	size_t len;
	int binary;
	unsigned char data[];
};

/* Messages waiting to be written to one connection, oldest first. */
struct queue {
	struct msg **slot;  /* ring of cap entries, grown on demand */
	unsigned int head, count, cap;
	size_t bytes;
};

/* Per-connection state (lws allocates it zeroed). */
struct session {
	struct lws *wsi;
	enum endpoint ep;
	struct session *prev, *next;  /* list of /broadcast members */
	struct msg *rx;               /* message being received, or NULL */
	size_t rx_cap;
	struct queue q;
	size_t tx_off;                /* bytes of the queue head already written */
	int rx_paused;                /* /echo: reading stopped until echo is out */
	int evicted;                  /* /broadcast: too slow, closing */
};

static struct session *members;  /* /broadcast connections */
static unsigned char txbuf[LWS_PRE + TX_CHUNK];

static void msg_release(struct msg *m)
{
	if (--m->refs == 0)
		free(m);
}

/* Appends m to q; -1 when q is full or out of memory. */
static int q_push(struct queue *q, struct msg *m)
{
	if (q->count >= QUEUE_MAX_MSGS || q->bytes + m->len > QUEUE_MAX_BYTES)
		return -1;
	if (q->count == q->cap) {
		unsigned int ncap = q->cap ? q->cap * 2 : 4, i;
		struct msg **ns = malloc(ncap * sizeof(*ns));

		if (!ns)
			return -1;
		for (i = 0; i < q->count; i++)
			ns[i] = q->slot[(q->head + i) % q->cap];
		free(q->slot);
		q->slot = ns;
		q->head = 0;
		q->cap = ncap;
	}
	q->slot[(q->head + q->count) % q->cap] = m;
	q->count++;
	q->bytes += m->len;
	m->refs++;
	return 0;
}

static struct msg *q_front(struct queue *q)
{
	return q->count ? q->slot[q->head] : NULL;
}

static void q_pop(struct queue *q)
{
	struct msg *m = q->slot[q->head];

	q->head = (q->head + 1) % q->cap;
	q->count--;
	q->bytes -= m->len;
	msg_release(m);
}

static void q_clear(struct queue *q)
{
	while (q->count)
		q_pop(q);
	free(q->slot);
	memset(q, 0, sizeof(*q));
}

static void member_unlink(struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else if (members == s)
		members = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* The endpoint named by the request's path (query string excluded). */
static enum endpoint endpoint_of(struct lws *wsi)
{
	char *uri;
	int len;

	if (lws_http_get_uri_and_method(wsi, &uri, &len) < 0)
		return EP_NONE;
	if (len == 5 && !memcmp(uri, "/echo", 5))
		return EP_ECHO;
	if (len == 10 && !memcmp(uri, "/broadcast", 10))
		return EP_BROADCAST;
	return EP_NONE;
}

/*
 * Answers an upgrade request for an unknown path with 404 and returns 1 (we
 * answered; lws then closes the connection). Written by hand because
 * lws_return_http_status() says "HTTP/1.0" at this stage: the request's
 * version is only recorded for requests that are not upgrades.
 */
static int refuse_upgrade(struct lws *wsi)
{
	static const char resp[] = "HTTP/1.1 404 Not Found\r\n"
				   "Content-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	unsigned char buf[LWS_PRE + sizeof(resp)];
	int n = (int)sizeof(resp) - 1;

	memcpy(buf + LWS_PRE, resp, (size_t)n);
	if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS) != n)
		return -1;
	return 1;
}

/*
 * Disconnects a /broadcast client that fell behind: it leaves the hub, its
 * queue is dropped, and its next WRITEABLE sends Close 1008. If the socket
 * never becomes writable again, the timeout closes it.
 */
static void evict(struct session *s)
{
	s->evicted = 1;
	member_unlink(s);
	q_clear(&s->q);
	s->tx_off = 0;
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, EVICT_TIMEOUT_S);
	lws_callback_on_writable(s->wsi);
}

/* /echo: reads again once the echo has left lws's own buffers. */
static void echo_resume(struct session *s)
{
	if (!s->rx_paused)
		return;
	if (lws_partial_buffered(s->wsi)) {
		/* lws flushes it first, then calls WRITEABLE again */
		lws_callback_on_writable(s->wsi);
		return;
	}
	s->rx_paused = 0;
	lws_rx_flow_control(s->wsi, 1);
}

/* Appends one received fragment; 0, or -1 with a close reason set. */
static int receive(struct lws *wsi, struct session *s, const void *in, size_t len)
{
	size_t have, need, more = lws_remaining_packet_payload(wsi);
	struct msg *m;

	have = s->rx ? s->rx->len : 0;

	/* the cap counts what arrived plus the rest of this frame */
	if (len > MAX_MESSAGE - have || more > MAX_MESSAGE - have - len)
		return fail(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
			    "message too big");

	need = have + len;
	if (!s->rx || need > s->rx_cap) {
		/* exact size for a one-frame message, doubling for longer */
		size_t cap = s->rx_cap * 2;

		if (cap < need)
			cap = need;
		if (cap > MAX_MESSAGE)
			cap = MAX_MESSAGE;
		m = realloc(s->rx, sizeof(*m) + cap);
		if (!m)
			return fail(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
				    "out of memory");
		if (!s->rx) {
			m->refs = 0;
			m->len = 0;
		}
		s->rx = m;
		s->rx_cap = cap;
	}
	if (len)
		memcpy(s->rx->data + have, in, len);
	s->rx->len = need;
	s->rx->binary = lws_frame_is_binary(wsi);
	return 0;
}

/* Hands the complete message s->rx to its recipients; -1 to close. */
static int deliver(struct lws *wsi, struct session *s)
{
	struct msg *m = s->rx;
	struct session *t, *next;

	s->rx = NULL;
	s->rx_cap = 0;
	m->refs = 1;  /* held by this function until the end */

	if (s->ep == EP_ECHO) {
		/* never full (reading pauses per message): only out of memory */
		if (q_push(&s->q, m)) {
			msg_release(m);
			return fail(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
				    "out of memory");
		}
		s->rx_paused = 1;
		lws_rx_flow_control(wsi, 0);
		lws_callback_on_writable(wsi);
	} else {
		for (t = members; t; t = next) {
			next = t->next;  /* evict() unlinks t */
			if (q_push(&t->q, m))
				evict(t);
			else
				lws_callback_on_writable(t->wsi);
		}
	}
	msg_release(m);
	return 0;
}

/* Writes one frame of the oldest queued message; -1 to close. */
static int write_next(struct lws *wsi, struct session *s)
{
	struct msg *m = q_front(&s->q);
	size_t n;
	int flags;

	if (!m) {
		echo_resume(s);
		return 0;
	}

	n = m->len - s->tx_off;
	if (n > TX_CHUNK)
		n = TX_CHUNK;
	if (s->tx_off == 0)
		flags = m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT;
	else
		flags = LWS_WRITE_CONTINUATION;
	if (s->tx_off + n < m->len)
		flags |= LWS_WRITE_NO_FIN;

	if (n)
		memcpy(txbuf + LWS_PRE, m->data + s->tx_off, n);
	if (lws_write(wsi, txbuf + LWS_PRE, n, (enum lws_write_protocol)flags) < (int)n)
		return -1;

	s->tx_off += n;
	if (s->tx_off == m->len) {
		s->tx_off = 0;
		q_pop(&s->q);
	}
	if (s->q.count)
		lws_callback_on_writable(wsi);
	else
		echo_resume(s);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (endpoint_of(wsi) != EP_NONE)
			return 0;
		return refuse_upgrade(wsi);

	case LWS_CALLBACK_ESTABLISHED:
		s->wsi = wsi;
		s->ep = endpoint_of(wsi);  /* the request headers are still here */
		if (s->ep == EP_NONE)
			return -1;
		if (s->ep == EP_BROADCAST) {
			s->next = members;
			if (members)
				members->prev = s;
			members = s;
		}
		return 0;

	case LWS_CALLBACK_RECEIVE:
		if (s->evicted)
			return 0;
		if (receive(wsi, s, in, len))
			return -1;
		if (lws_is_final_fragment(wsi))
			return deliver(wsi, s);
		return 0;

	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (s->evicted)
			return fail(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
				    "too slow");
		return write_next(wsi, s);

	case LWS_CALLBACK_CLOSED:
		if (!s)
			return 0;
		if (s->ep == EP_BROADCAST)
			member_unlink(s);
		free(s->rx);
		s->rx = NULL;
		q_clear(&s->q);
		return 0;

	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{
		.name = "lws-echo",
		.callback = callback,
		.per_session_data_size = sizeof(struct session),
		.rx_buffer_size = RX_CHUNK,
		.tx_packet_size = TX_CHUNK,  /* one frame per send() call */
	},
	{ .name = NULL }  /* terminator */
};

/* No keepalive pings and no idle hang-up (lws defaults: ping after 300 s). */
static const lws_retry_bo_t no_keepalive = { 0 };

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	long port;

	if (argc != 2) {
		fprintf(stderr, "usage: lws-echo PORT\n");
		return 2;
	}
	port = parse_arg(argv[1], 1, 65535);
	if (port < 0) {
		fprintf(stderr, "lws-echo: bad port %s\n", argv[1]);
		return 2;
	}

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);

	memset(&info, 0, sizeof(info));
	info.port = (int)port;
	info.iface = "lo";  /* an interface name: lo is 127.0.0.1 only */
	info.protocols = protocols;
	info.retry_and_idle_policy = &no_keepalive;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 |
		       LWS_SERVER_OPTION_VALIDATE_UTF8;

	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "lws-echo: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}

	stop_on_signals();

	printf("lws-echo listening on 127.0.0.1:%ld\n", port);
	fflush(stdout);

	while (!interrupted)
		if (lws_service(context, 0) < 0)
			break;

	lws_context_destroy(context);  /* closes every connection (CLOSED) */
	return interrupted ? 0 : 1;
}
