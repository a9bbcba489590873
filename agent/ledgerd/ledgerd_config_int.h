// SPDX-License-Identifier: GPL-2.0
/*
 * qkd-ledgerd configuration internals: the values only qkd-ledgerd has
 * (ledgerd_config_values.c), for the INI handler (ledgerd_config.c). The
 * generic ones (numbers, sizes, paths, ...) are agent/lib/cfg_value.h's.
 * Each returns NULL, or why the value is bad: a static string or one in
 * why[whylen].
 */
#ifndef QKD_LEDGERD_CONFIG_INT_H
#define QKD_LEDGERD_CONFIG_INT_H

#include <stddef.h>

#include "ledgerd_config.h"

/* "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR"; numeric literals only. */
const char *ld_cfg_parse_listen(const char *v, struct ledgerd_config *cfg,
				char *why, size_t whylen);
/* A local or peer link name: 1-15 of [A-Za-z0-9_.-], into dst. */
const char *ld_cfg_parse_link(const char *v, char *dst, char *why,
			      size_t whylen);

#endif /* QKD_LEDGERD_CONFIG_INT_H */
