// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT ingest: see ingest_mqtt.h and Documentation/ingest.rst.
 *
 * One struct mosquitto per connection: a lost or dropped connection is
 * destroyed with mosquitto_destroy(), which closes the socket without
 * writing what is still queued, and a new one is made for the reconnect.
 * So a held PUBACK can never leave on a later connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "errbuf.h"
#include "ingest_mqtt.h"

enum im_state {
	IM_DOWN,	/* no connection; next attempt at next_attempt_ms */
	IM_CONNECTING,	/* TCP up, CONNECT queued or sent, no CONNACK */
	IM_SUBSCRIBING,	/* CONNACK without session: SUBSCRIBE sent */
	IM_READY,	/* subscribed */
	IM_BROKEN,	/* must be dropped without writing anything more */
};

struct ingest_mqtt {
	struct mosquitto *m;
	enum im_state state;
	char *host, *client_id, *username, *password;
	int port, keepalive;
	unsigned int rmin, rmax, backoff, batch;
	uint64_t next_attempt_ms;
	uint64_t connect_ms;
	/* Highest spool seq taken on this connection: its PUBACK (and every
	 * packet queued after it) waits until durable_seq covers it. */
	uint64_t held_seq;
	uint64_t durable_seq;
	bool had_session;
	qkd_ingest_submit_fn submit;
	qkd_ingest_log_fn log;
	void *ctx;
	struct ingest_mqtt_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void logf_(struct ingest_mqtt *im, int prio, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!im->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	im->log(im->ctx, prio, msg);
}

/* A topic as it may appear in a log line: printable ASCII, bounded. */
static void topic_str(const char *t, char *out, size_t cap)
{
	size_t n = 0;

	if (!t)
		t = "(null)";
	for (; *t && n + 4 < cap; t++)
		out[n++] = (*t >= 0x20 && *t < 0x7f) ? *t : '?';
	if (*t)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
}

static const char *mosq_err(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags)
{
	struct ingest_mqtt *im = obj;

	if (im->state == IM_BROKEN)
		return;
	if (rc) {
		im->st.connect_errors++;
		logf_(im, LOG_ERR, "ingest_mqtt: broker refused connection: %s",
		      mosquitto_connack_string(rc));
		im->state = IM_BROKEN;
		return;
	}
	im->st.connects++;
	im->backoff = im->rmin;
	if (flags & 1) {
		/* The session, and so the subscription, survived. */
		im->state = IM_READY;
		im->had_session = true;
		return;
	}
	if (im->had_session) {
		im->st.sessions_lost++;
		logf_(im, LOG_WARNING,
		      "ingest_mqtt: broker had no session for client %s: messages queued for it meanwhile are lost",
		      im->client_id);
	}
	rc = mosquitto_subscribe(m, NULL, QKD_PL_TOPIC_FILTER, 1);
	if (rc) {
		logf_(im, LOG_ERR, "ingest_mqtt: subscribe: %s", mosq_err(rc));
		im->state = IM_BROKEN;
		return;
	}
	im->state = IM_SUBSCRIBING;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid,
			 int qos_count, const int *granted)
{
	struct ingest_mqtt *im = obj;

	(void)m;
	(void)mid;
	if (im->state != IM_SUBSCRIBING)
		return;
	if (qos_count < 1 || granted[0] < 1 || granted[0] > 2) {
		logf_(im, LOG_ERR,
		      "ingest_mqtt: broker refused subscription %s at QoS 1 (granted %d)",
		      QKD_PL_TOPIC_FILTER, qos_count > 0 ? granted[0] : -1);
		im->state = IM_BROKEN;
		return;
	}
	im->state = IM_READY;
	im->had_session = true;
}

/* Drops the connection at once: nothing queued may reach the broker. */
static void make_broken(struct ingest_mqtt *im)
{
	int fd = im->m ? mosquitto_socket(im->m) : -1;

	im->state = IM_BROKEN;
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void reject(struct ingest_mqtt *im, const struct mosquitto_message *msg,
		   int code, size_t off)
{
	char t[96];

	im->st.rejected++;
	im->st.by_code[code]++;
	topic_str(msg->topic, t, sizeof(t));
	logf_(im, LOG_NOTICE,
	      "ingest_mqtt: rejected %d-byte message on %s: %s (%s at byte %zu)",
	      msg->payloadlen, t, qkd_pl_err_name(code), qkd_pl_strerror(code),
	      off);
}

static void on_message(struct mosquitto *m, void *obj,
		       const struct mosquitto_message *msg)
{
	struct ingest_mqtt *im = obj;
	struct qkd_record rec;
	uint64_t seq = 0;
	size_t off = 0;
	int code, r;

	(void)m;
	/* After a refusal, later messages of the same read are left to the
	 * broker: their PUBACKs will never be written either. */
	if (im->state == IM_BROKEN)
		return;
	im->st.received++;
	if (msg->qos == 0)
		im->st.qos0++;
	if (msg->retain)
		im->st.retained++;
	if (msg->payloadlen < 0) {
		reject(im, msg, QKD_PL_E_TRUNC_HDR, 0);
		return;
	}
	code = qkd_pl_parse(msg->payload, (size_t)msg->payloadlen, &rec, &off);
	if (code) {
		reject(im, msg, code, off);
		return;
	}
	code = qkd_pl_check_topic(msg->topic, &rec);
	if (code) {
		reject(im, msg, code, 0);
		return;
	}
	r = im->submit(im->ctx, &rec, &seq);
	if (r) {
		code = r == -ENOSPC ? QKD_PL_E_SPOOL_FULL : QKD_PL_E_SPOOL;
		im->st.refused++;
		im->st.by_code[code]++;
		logf_(im, r == -ENOSPC ? LOG_WARNING : LOG_ERR,
		      "ingest_mqtt: device %s seq %llu not taken (%s): dropping the connection so that the broker keeps it",
		      rec.device_id, (unsigned long long)rec.device_seq,
		      strerror(-r));
		make_broken(im);
		return;
	}
	im->st.accepted++;
	if (seq > im->held_seq)
		im->held_seq = seq;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
	struct ingest_mqtt *im = obj;

	(void)m;
	if (rc && im->state != IM_BROKEN)
		logf_(im, LOG_WARNING, "ingest_mqtt: connection lost: %s",
		      mosquitto_strerror(rc));
}

static void teardown(struct ingest_mqtt *im)
{
	uint64_t now = now_ms();

	if (!im->m)
		return;
	mosquitto_destroy(im->m);
	im->m = NULL;
	im->st.disconnects++;
	im->state = IM_DOWN;
	/* The queue went with the object: nothing is held any more. */
	im->held_seq = 0;
	im->next_attempt_ms = now + im->backoff;
	im->backoff = im->backoff * 2 > im->rmax ? im->rmax : im->backoff * 2;
}

/* After every call into libmosquitto: drop a broken or lost connection. */
static void check(struct ingest_mqtt *im, int rc)
{
	if (!im->m)
		return;
	if (im->state == IM_BROKEN || rc != MOSQ_ERR_SUCCESS ||
	    mosquitto_socket(im->m) < 0)
		teardown(im);
}

static char *dup_opt(const char *s, bool *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = true;
	return d;
}

int ingest_mqtt_open(const struct ingest_mqtt_opts *o,
		     struct ingest_mqtt **out, char *err, size_t errlen)
{
	static bool lib_ready;
	struct ingest_mqtt *im;
	bool fail = false;

	*out = NULL;
	if (!o || !o->submit || !o->client_id || !o->client_id[0]) {
		qkd_seterr(err, errlen,
		       "ingest_mqtt: client_id and submit are required");
		return -EINVAL;
	}
	if (o->keepalive && (o->keepalive < 5 || o->keepalive > 65535)) {
		qkd_seterr(err, errlen, "ingest_mqtt: keepalive not in 5..65535");
		return -EINVAL;
	}
	if (o->port < 0 || o->port > 65535) {
		qkd_seterr(err, errlen, "ingest_mqtt: bad port %d", o->port);
		return -EINVAL;
	}
	if (!lib_ready) {
		mosquitto_lib_init();
		lib_ready = true;
	}
	im = calloc(1, sizeof(*im));
	if (!im)
		goto nomem;
	im->host = dup_opt(o->host ? o->host : "127.0.0.1", &fail);
	im->client_id = dup_opt(o->client_id, &fail);
	im->username = dup_opt(o->username, &fail);
	im->password = dup_opt(o->password, &fail);
	if (fail)
		goto nomem;
	im->port = o->port ? o->port : 1883;
	im->keepalive = o->keepalive ? o->keepalive : 30;
	im->rmin = o->reconnect_min_ms ? o->reconnect_min_ms : 250;
	im->rmax = o->reconnect_max_ms ? o->reconnect_max_ms : 30000;
	if (im->rmax < im->rmin)
		im->rmax = im->rmin;
	im->backoff = im->rmin;
	im->batch = o->batch ? o->batch : 64;
	im->submit = o->submit;
	im->log = o->log;
	im->ctx = o->ctx;
	im->state = IM_DOWN;
	im->next_attempt_ms = 0;
	*out = im;
	return 0;

nomem:
	if (im) {
		free(im->host);
		free(im->client_id);
		free(im->username);
		free(im->password);
		free(im);
	}
	qkd_seterr(err, errlen, "ingest_mqtt: out of memory");
	return -ENOMEM;
}

static struct mosquitto *new_client(struct ingest_mqtt *im, int *err)
{
	struct mosquitto *m;
	int rc;

	/* clean_session = false: the broker keeps our subscription and
	 * queues QoS 1 messages while we are away. */
	m = mosquitto_new(im->client_id, false, im);
	if (!m) {
		*err = errno ? -errno : -ENOMEM;
		return NULL;
	}
	/* Packets are only queued by the library, never written behind our
	 * back: see the comment in ingest_mqtt.h. */
	rc = mosquitto_threaded_set(m, true);
	if (!rc)
		rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
					  MQTT_PROTOCOL_V311);
	if (!rc)
		rc = mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (!rc && im->username)
		rc = mosquitto_username_pw_set(m, im->username, im->password);
	if (rc) {
		mosquitto_destroy(m);
		*err = rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
		return NULL;
	}
	mosquitto_connect_with_flags_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_disconnect_callback_set(m, on_disconnect);
	return m;
}

static bool may_write(const struct ingest_mqtt *im)
{
	return im->m && im->state != IM_BROKEN && im->state != IM_DOWN &&
	       im->held_seq <= im->durable_seq;
}

bool ingest_mqtt_want_write(const struct ingest_mqtt *im)
{
	return may_write(im) && mosquitto_want_write(im->m);
}

int ingest_mqtt_on_writable(struct ingest_mqtt *im)
{
	if (ingest_mqtt_want_write(im))
		check(im, mosquitto_loop_write(im->m, 1));
	return 0;
}

int ingest_mqtt_connect(struct ingest_mqtt *im)
{
	int rc, err = 0, fd, fl;

	if (im->m)
		return 0;
	im->m = new_client(im, &err);
	if (!im->m)
		goto failed;
	errno = 0;
	rc = mosquitto_connect(im->m, im->host, im->port, im->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		if (rc == MOSQ_ERR_ERRNO && errno)
			err = -errno;
		else if (rc == MOSQ_ERR_NOMEM)
			err = -ENOMEM;
		else if (rc == MOSQ_ERR_EAI)
			err = -EHOSTUNREACH;
		else
			err = -ECONNREFUSED;
		mosquitto_destroy(im->m);
		im->m = NULL;
		goto failed;
	}
	fd = mosquitto_socket(im->m);
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	im->state = IM_CONNECTING;
	im->connect_ms = now_ms();
	im->held_seq = 0;
	ingest_mqtt_on_writable(im);	/* the CONNECT */
	return im->m ? 0 : -ECONNRESET;

failed:
	im->st.connect_errors++;
	logf_(im, LOG_WARNING, "ingest_mqtt: connect to %s:%d: %s (retry in %u ms)",
	      im->host, im->port, strerror(-err), im->backoff);
	im->next_attempt_ms = now_ms() + im->backoff;
	im->backoff = im->backoff * 2 > im->rmax ? im->rmax : im->backoff * 2;
	return err;
}

int ingest_mqtt_fd(const struct ingest_mqtt *im)
{
	return im->m ? mosquitto_socket(im->m) : -1;
}

bool ingest_mqtt_ready(const struct ingest_mqtt *im)
{
	return im->m && im->state == IM_READY;
}

int ingest_mqtt_on_readable(struct ingest_mqtt *im)
{
	uint64_t before = im->st.received;
	int rc = MOSQ_ERR_SUCCESS;

	for (unsigned int i = 0; im->m && i < im->batch; i++) {
		struct pollfd pfd = { .fd = mosquitto_socket(im->m),
				      .events = POLLIN };

		rc = mosquitto_loop_read(im->m, 1);
		if (rc != MOSQ_ERR_SUCCESS || im->state == IM_BROKEN)
			break;
		/* libmosquitto reads one packet per call: go on while more
		 * is waiting, so that one commit covers a burst. */
		pfd.fd = mosquitto_socket(im->m);
		if (pfd.fd < 0 || poll(&pfd, 1, 0) != 1)
			break;
	}
	check(im, rc);
	/* CONNACK or SUBACK handling may have queued packets that need no
	 * durability (SUBSCRIBE, PINGREQ): send them if allowed. */
	ingest_mqtt_on_writable(im);
	return (int)(im->st.received - before);
}

void ingest_mqtt_durable(struct ingest_mqtt *im, uint64_t durable_seq)
{
	if (durable_seq > im->durable_seq)
		im->durable_seq = durable_seq;
	ingest_mqtt_on_writable(im);
}

void ingest_mqtt_fail_pending(struct ingest_mqtt *im)
{
	if (im->m && im->held_seq > im->durable_seq) {
		logf_(im, LOG_ERR,
		      "ingest_mqtt: records up to spool seq %llu not durable: dropping the connection",
		      (unsigned long long)im->held_seq);
		make_broken(im);
		teardown(im);
	}
}

int ingest_mqtt_tick(struct ingest_mqtt *im)
{
	uint64_t now = now_ms();

	if (!im->m) {
		if (now >= im->next_attempt_ms)
			ingest_mqtt_connect(im);
		if (im->m)
			return 1000;
		now = now_ms();
		return im->next_attempt_ms <= now ? 0 :
		       (int)(im->next_attempt_ms - now > 1000 ? 1000 :
			     im->next_attempt_ms - now);
	}
	if (im->state == IM_CONNECTING &&
	    now - im->connect_ms > (uint64_t)im->keepalive * 1000) {
		logf_(im, LOG_WARNING, "ingest_mqtt: no CONNACK from %s:%d",
		      im->host, im->port);
		make_broken(im);
	}
	check(im, im->state == IM_BROKEN ? MOSQ_ERR_SUCCESS :
		  mosquitto_loop_misc(im->m));
	ingest_mqtt_on_writable(im);	/* a PINGREQ */
	return 1000;
}

void ingest_mqtt_close(struct ingest_mqtt *im)
{
	if (!im)
		return;
	if (im->m && (im->state == IM_READY || im->state == IM_SUBSCRIBING) &&
	    im->held_seq <= im->durable_seq) {
		/* Everything queued may go: PUBACKs, then DISCONNECT. */
		if (mosquitto_disconnect(im->m) == MOSQ_ERR_SUCCESS)
			mosquitto_loop_write(im->m, 1);
	}
	if (im->m) {
		mosquitto_destroy(im->m);
		im->m = NULL;
	}
	free(im->host);
	free(im->client_id);
	free(im->username);
	free(im->password);
	free(im);
}

void ingest_mqtt_get_stats(const struct ingest_mqtt *im,
			   struct ingest_mqtt_stats *st)
{
	*st = im->st;
}
