// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal TAP-ish reporter for the ledger's host tests: "ok N - name" or
 * "not ok N - name", and a closing "N passed, N failed" line that
 * scripts/check reads.
 */
#ifndef QKD_LEDGER_TAP_H
#define QKD_LEDGER_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_pass, tap_fail;

__attribute__((format(printf, 2, 3), unused))
static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		tap_pass++;
	else
		tap_fail++;
	return cond;
}

__attribute__((unused))
static int tap_done(void)
{
	printf("%d passed, %d failed\n", tap_pass, tap_fail);
	return tap_fail ? 1 : 0;
}

#endif /* QKD_LEDGER_TAP_H */
