// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd: logging and sd_notify. Log lines carry counters, offsets,
 * lengths, session ids and names, never key bytes and never payloads.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-daemon.h>

#include "ledger.h"
#include "ledgerd.h"

static int log_level = LOG_INFO;
static int journal = -1;

void ld_set_log(int level, bool plain)
{
	log_level = level;
	if (plain)
		journal = 0;
}

void ld_log(int prio, const char *fmt, ...)
{
	const char *name;
	char msg[512];
	va_list ap;

	if (prio > log_level)
		return;
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Under systemd the journal reads the <N> priority prefix. */
	if (journal) {
		fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		name = ledgerd_log_level_name(prio);
		fprintf(stderr, "qkd-ledgerd: %s: %s\n", name ? name : "info", msg);
	}
}

void ld_notify(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		ld_log(LOG_DEBUG, "sd_notify: %s", strerror(-r));
}

void ld_status_update(struct ledgerd *d)
{
	unsigned int n = 0;
	char buf[sizeof(d->status) + 7];	/* "STATUS=" */

	for (unsigned int i = 0; i < d->ngw; i++)
		n += d->gw[i].sess != NULL;
	snprintf(buf, sizeof(buf),
		 "STATUS=ledger: %llu entries; sessions %u/%u; frames %llu, appended %llu, duplicates %llu; events %llu",
		 (unsigned long long)ledger_size(d->l), n, d->ngw,
		 (unsigned long long)d->st.frames,
		 (unsigned long long)d->st.appended,
		 (unsigned long long)d->st.duplicates,
		 (unsigned long long)d->st.events);
	if (!strcmp(buf + 7, d->status))
		return;
	snprintf(d->status, sizeof(d->status), "%s", buf + 7);
	ld_notify(buf);
}
