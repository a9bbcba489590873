// SPDX-License-Identifier: GPL-2.0
/* Error messages into a caller's buffer, shared by the agent's libraries. */
#ifndef QKD_ERRBUF_H
#define QKD_ERRBUF_H

#include <stddef.h>

/* Formats into err[errlen]; does nothing when err is NULL or errlen 0. */
void qkd_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* QKD_ERRBUF_H */
