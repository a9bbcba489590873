// SPDX-License-Identifier: GPL-2.0
/* qkd-ledger, the ledger's command-line tool: shared declarations. */
#ifndef QKD_LEDGER_CLI_H
#define QKD_LEDGER_CLI_H

#include <stdio.h>

#include "ledger_read.h"

/* Exit statuses (Documentation/qkd-ledger.8). */
enum { EX_OK = 0, EX_BAD = 1, EX_USAGE = 2 };

struct cli {
	const char *db;
	const char *key;		/* -k: the writer's key file, to pin */
	struct ledger *l;
};

/* Opens cli->l (not the writer); prints the error and returns EX_USAGE. */
int cli_open(struct cli *c);

int cmd_show(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_tree_head(struct cli *c, int argc, char **argv);
int cmd_proof(struct cli *c, int argc, char **argv);
int cmd_device(struct cli *c, int argc, char **argv);

/* qkd_ledger_out.c */
void out_json_str(FILE *f, const char *s, size_t n);
/* Text from the database, non-printables as '?' (it may be tampered). */
void out_text(FILE *f, const char *s);
void out_hex(FILE *f, const uint8_t *p, size_t n);
/* A device id: as text if printable, else "hex:..." */
void out_device(FILE *f, const uint8_t *id, size_t n, bool json);
void out_time(FILE *f, uint64_t ns);
const char *event_name(uint32_t kind);
void out_flags(FILE *f, uint32_t flags, bool json);
/* "hex:..." or text -> bytes; 0 or -1. */
int parse_device(const char *s, uint8_t *id, uint8_t *len);
int parse_u64(const char *s, uint64_t *v);
/* A public key as 64 hex digits, or a file of 32 bytes or 64 hex digits. */
int parse_pubkey(const char *s, uint8_t pk[LEDGER_PK_LEN]);
/* The public key of a seed or secret key file. */
int key_file_pubkey(const char *path, uint8_t pk[LEDGER_PK_LEN]);

#endif /* QKD_LEDGER_CLI_H */
