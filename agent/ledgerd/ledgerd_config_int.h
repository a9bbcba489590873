// SPDX-License-Identifier: GPL-2.0
/* qkd-ledgerd configuration internals: the value parsers
 * (ledgerd_config_values.c) used by the INI handler (ledgerd_config.c).
 * Each returns NULL, or why the value is bad (a static string). */
#ifndef QKD_LEDGERD_CONFIG_INT_H
#define QKD_LEDGERD_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledgerd_config.h"

bool ld_cfg_set_str(char *dst, size_t size, const char *src);
const char *ld_cfg_parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out);
/* Bytes, with an optional suffix K, M, G (or KiB, MiB, GiB): powers of
 * 1024, as qkd-agent's size keys. */
const char *ld_cfg_parse_size(const char *v, uint32_t lo, uint32_t hi, uint32_t *out);
const char *ld_cfg_parse_bool(const char *v, bool *out);
const char *ld_cfg_parse_path(const char *v, char *dst, size_t size);
/* "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR"; numeric literals only. */
const char *ld_cfg_parse_listen(const char *v, struct ledgerd_config *cfg);
/* 1..max of [A-Za-z0-9_.-] */
bool ld_cfg_name_ok(const char *v, size_t max);
const char *ld_cfg_parse_link(const char *v, char *dst);

#endif /* QKD_LEDGERD_CONFIG_INT_H */
