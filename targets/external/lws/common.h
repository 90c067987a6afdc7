/*
 * What the libwebsockets programs of this directory (echo.c, client.c) share:
 * the context, stopping on SIGTERM/SIGINT, failing a connection with a code
 * and reason, and reading an integer argument. Each program is one
 * translation unit that includes this once, so the definitions are static.
 */
#ifndef WSH_LWS_COMMON_H
#define WSH_LWS_COMMON_H

#include <libwebsockets.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static struct lws_context *context;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
	lws_cancel_service(context);  /* wakes lws_service(); signal-safe */
}

/* Sets interrupted and wakes the service loop on SIGTERM and SIGINT. */
static void stop_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Closes the connection from inside its own callback with code and reason. */
static int fail(struct lws *wsi, enum lws_close_status code, const char *why)
{
	lws_close_reason(wsi, code, (unsigned char *)why, strlen(why));
	return -1;
}

/* The decimal integer s if it is all digits and within [lo, hi]; else -1. */
static long parse_arg(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	return v;
}

#endif
