// SPDX-License-Identifier: GPL-2.0
/*
 * qkdctl monitor: join the family's "monitor" multicast group and print each
 * notification as one line (or one JSON object per line), flushed at once,
 * until SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "qkdctl.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const struct {
	const char *human, *json;
} events[QKDKEY_CMD_MAX + 1] = {
	[QKDKEY_CMD_LINK_ADD_NTF]	= { "add", "add" },
	[QKDKEY_CMD_LINK_DEL_NTF]	= { "del", "del" },
	[QKDKEY_CMD_LINK_CHANGE_NTF]	= { "change", "change" },
	[QKDKEY_CMD_ALARM_NTF]		= { "alarm", "alarm" },
	[QKDKEY_CMD_LOW_WATERMARK_NTF]	= { "low-watermark", "low_watermark" },
	[QKDKEY_CMD_KEY_WANT_NTF]	= { "key-want", "key_want" },
};

static void print_event(const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
	const char *h = NULL, *j = NULL;
	char other[32];
	struct qlink l;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*genl) || qlink_parse(nlh, &l))
		return;
	if (genl->cmd <= QKDKEY_CMD_MAX) {
		h = events[genl->cmd].human;
		j = events[genl->cmd].json;
	}
	if (!h) {
		snprintf(other, sizeof(other), "cmd-%u", genl->cmd);
		h = j = other;
	}
	if (opt_json) {
		struct jw w;

		jw_init(&w, stdout);
		jw_open(&w, NULL, '{');
		jw_str(&w, "event", j);
		qlink_json_members(&w, &l);
		jw_close(&w, '}');
	} else {
		printf("%s ", h);
		qlink_print_line(stdout, &l);
	}
	fputc('\n', stdout);
	fflush(stdout);
}

int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	struct pollfd pfd;
	struct qnl nl;
	int ret, rcvbuf = 1 << 20;

	if (argc > 0)
		return usage_error("monitor: unexpected argument '%s'", argv[0]);
	if (opt_dry_run) {
		printf("join multicast group \"%s\" of family \"%s\"\n",
		       QKDKEY_MCGRP_MONITOR, QKDKEY_GENL_NAME);
		return 0;
	}
	ret = qnl_open(&nl);
	if (ret)
		return ret;
	if (!nl.mcgrp_monitor) {
		qnl_close(&nl);
		return fail_errno(ENOENT, "monitor: multicast group %s", QKDKEY_MCGRP_MONITOR);
	}
	/* a burst of events must not overrun us while stdout is slow */
	setsockopt(mnl_socket_get_fd(nl.sk), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_setsockopt(nl.sk, NETLINK_ADD_MEMBERSHIP, &nl.mcgrp_monitor,
				  sizeof(nl.mcgrp_monitor)) < 0) {
		ret = fail("monitor: join multicast group %s", QKDKEY_MCGRP_MONITOR);
		qnl_close(&nl);
		return ret;
	}

	/* signals are only taken inside ppoll(): no lost wake-up */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGTERM);

	pfd.fd = mnl_socket_get_fd(nl.sk);
	pfd.events = POLLIN;
	while (!stop) {
		const struct nlmsghdr *nlh;
		ssize_t n;
		int len;

		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			ret = fail("monitor: poll");
			break;
		}
		n = recv(pfd.fd, nl.rxbuf, nl.rxlen, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				fflush(stdout);
				fprintf(stderr, "qkdctl: monitor: events were lost: %s\n",
					strerror(ENOBUFS));
				continue;
			}
			ret = fail("monitor: receive");
			break;
		}
		len = (int)n;
		for (nlh = nl.rxbuf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_type == nl.family)
				print_event(nlh);
		if (ferror(stdout)) {
			ret = fail_errno(EIO, "stdout");
			break;
		}
	}
	qnl_close(&nl);
	return ret;
}
