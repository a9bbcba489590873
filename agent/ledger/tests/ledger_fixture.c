// SPDX-License-Identifier: GPL-2.0
/*
 * ledger-fixture DB KEY N: writes a ledger of N records for the CLI test
 * (selftests/host/qkd_ledger_cli_test.sh): gateways gw1 and gw2, devices
 * sensor-1..3, gw2's sensor-2 changing its integrity code halfway, one BAD_TAG
 * event, a tree head every 4 entries and one over everything at the end.
 * Payloads are "PAYLOAD#<seq>#<device>#". Not a test itself.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "ledger_testlib.h"

int main(int argc, char **argv)
{
	struct ledger_result res;
	struct ledger *l;
	struct tl_rec t;
	char err[256], dev[16];
	long n;

	if (argc != 4 || (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: ledger-fixture DB KEY N\n");
		return 2;
	}
	if (sodium_init() < 0 ||
	    tl_open(&l, argv[1], argv[2], true, true, 4, 3600 * 1000, err,
		    sizeof(err))) {
		fprintf(stderr, "ledger-fixture: %s\n", err);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		snprintf(dev, sizeof(dev), "sensor-%ld", i % 3 + 1);
		tl_rec(&t, i % 2 ? "gw2" : "gw1", dev, (uint64_t)i,
		       i % 6 == 1 && i >= n / 2 ? 2 : 1, (uint64_t)i * 64);
		if (tl_append(l, &t, &res) < 0)
			return 2;
		if (i == n / 3 &&
		    ledger_event(l, LEDGER_EV_BAD_TAG, "gw1",
				 "tag did not verify on frame 17", err,
				 sizeof(err)))
			return 2;
		if (ledger_commit(l, err, sizeof(err)) < 0) {
			fprintf(stderr, "ledger-fixture: %s\n", err);
			return 2;
		}
	}
	if (ledger_sign_now(l, err, sizeof(err)) < 0) {
		fprintf(stderr, "ledger-fixture: %s\n", err);
		return 2;
	}
	ledger_close(l);
	return 0;
}
