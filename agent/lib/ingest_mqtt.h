// SPDX-License-Identifier: GPL-2.0
/*
 * MQTT ingest of qkd-agent (DESIGN.md §4): a libmosquitto client of the
 * local Mosquitto broker, MQTT 3.1.1, clean_session=false under a fixed
 * client id, subscribed to qkd/telemetry/+ at QoS 1. Each message is one
 * record in the payload format of payload.h; its topic must name the same
 * device as its payload.
 *
 * PUBACKs are held back until the records they acknowledge are durable.
 * libmosquitto 2.0 queues the PUBACK of a QoS 1 message before it calls
 * the message callback; a client that told the library it is "threaded"
 * (mosquitto_threaded_set) has its packets only queued, and written by
 * mosquitto_loop_write(). This module never calls loop_write while a
 * record taken since the last write is not yet durable, so the broker
 * keeps every message that is not in the spool and sends it again after a
 * crash or reconnect (the ledger removes the duplicates). What remains of
 * the window is described in Documentation/ingest.rst.
 *
 * Event loop use (nothing here blocks, but for the TCP connect to the
 * local broker, which on loopback completes or fails at once):
 *
 *	ingest_mqtt_open(&opts, &im, err, sizeof(err));
 *	loop:
 *	  fd = ingest_mqtt_fd(im);          (-1 while disconnected; it
 *	                                     changes on every reconnect)
 *	  poll fd for POLLIN, and POLLOUT if ingest_mqtt_want_write(im);
 *	  timeout: ingest_mqtt_tick(im) returns the ms until it wants a call
 *	  on POLLIN:       ingest_mqtt_on_readable(im);   (calls opts.submit)
 *	  on POLLOUT:      ingest_mqtt_on_writable(im);
 *	  after a commit:  ingest_mqtt_durable(im, spool_durable_seq(sp));
 *	  commit failed:   ingest_mqtt_fail_pending(im);
 *
 * The process must ignore SIGPIPE (a dead broker socket). Not thread-safe:
 * one event loop owns it.
 */
#ifndef QKD_INGEST_MQTT_H
#define QKD_INGEST_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"

struct ingest_mqtt;

struct ingest_mqtt_opts {
	const char *host;		/* NULL: "127.0.0.1" */
	int port;			/* 0: 1883 */
	/* Required, and the same on every start: the broker keeps the
	 * session (subscription and undelivered messages) under it. */
	const char *client_id;
	const char *username;		/* optional */
	const char *password;		/* optional */
	int keepalive;			/* seconds, 0: 30 (5..65535) */
	unsigned int reconnect_min_ms;	/* first retry delay, 0: 250 */
	unsigned int reconnect_max_ms;	/* doubling up to this, 0: 30000 */
	/* Messages read per ingest_mqtt_on_readable() call; 0: 64. */
	unsigned int batch;
	qkd_ingest_submit_fn submit;	/* required */
	qkd_ingest_log_fn log;		/* optional */
	void *ctx;			/* passed to both */
};

struct ingest_mqtt_stats {
	uint64_t received;	/* messages delivered by the broker */
	uint64_t accepted;	/* records handed to submit() and taken */
	uint64_t rejected;	/* bad payload or topic: acked and dropped */
	uint64_t refused;	/* submit() failed: not acked, reconnect */
	uint64_t qos0;		/* delivered at QoS 0 (no redelivery) */
	uint64_t retained;	/* delivered with the retain flag */
	uint64_t connects;	/* CONNACKs accepted */
	uint64_t connect_errors; /* failed connects or refused CONNACKs */
	uint64_t disconnects;	/* connections lost or dropped */
	/* Reconnects where the broker had no session for us: messages
	 * queued for us meanwhile are gone. */
	uint64_t sessions_lost;
	uint64_t by_code[QKD_PL_E_MAX];	/* rejected + refused, per code */
};

/* 0, or a negative errno with a reason in err (if not NULL). Does not
 * connect: the first ingest_mqtt_tick() or ingest_mqtt_connect() does. */
int ingest_mqtt_open(const struct ingest_mqtt_opts *opts,
		     struct ingest_mqtt **out, char *err, size_t errlen);

/*
 * Connects now (if not connected). 0 when the TCP connection is up and
 * CONNECT queued or sent; else a negative errno, and the next attempt is
 * scheduled for ingest_mqtt_tick() with back-off.
 */
int ingest_mqtt_connect(struct ingest_mqtt *im);

/*
 * Closes the connection. If every record whose PUBACK is queued is durable
 * (see ingest_mqtt_durable()), the PUBACKs and a DISCONNECT are sent
 * first; otherwise the socket is closed without writing anything more, and
 * the broker will deliver those messages again.
 */
void ingest_mqtt_close(struct ingest_mqtt *im);

/* The broker socket, or -1 while disconnected. */
int ingest_mqtt_fd(const struct ingest_mqtt *im);

/* True when CONNACK was received and the subscription is in place. */
bool ingest_mqtt_ready(const struct ingest_mqtt *im);

/* True if output is queued and may be written now (no PUBACK of a
 * record that is not yet durable is queued). */
bool ingest_mqtt_want_write(const struct ingest_mqtt *im);

/* Reads and handles up to opts.batch packets; returns how many messages
 * were delivered (>= 0). A lost connection is handled here (reconnect
 * scheduled), not returned. */
int ingest_mqtt_on_readable(struct ingest_mqtt *im);

/* Writes queued output if ingest_mqtt_want_write(). 0. */
int ingest_mqtt_on_writable(struct ingest_mqtt *im);

/* Every record with spool seq <= durable_seq is durable: their PUBACKs may
 * go; writes them at once if the socket takes them. */
void ingest_mqtt_durable(struct ingest_mqtt *im, uint64_t durable_seq);

/*
 * The spool could not make the records taken so far durable: drops the
 * connection without sending their PUBACKs, so that the broker delivers
 * them again after the reconnect.
 */
void ingest_mqtt_fail_pending(struct ingest_mqtt *im);

/* Keepalive and reconnect. Call it when the time it returned has passed
 * (at most 1000 ms) and whenever ingest_mqtt_fd() changed (a lost
 * connection is retried after reconnect_min_ms, doubling). */
int ingest_mqtt_tick(struct ingest_mqtt *im);

void ingest_mqtt_get_stats(const struct ingest_mqtt *im,
			   struct ingest_mqtt_stats *st);

#endif /* QKD_INGEST_MQTT_H */
