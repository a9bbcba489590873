// SPDX-License-Identifier: GPL-2.0
/*
 * Part of ledger_test.c (included there, sharing its helpers): malformed
 * input is refused with -EINVAL and a message, and bad key files too.
 */

static bool einval(int rc, const char *what)
{
	bool ok = rc == -EINVAL && err[0];

	if (ok)
		printf("# %s: %s\n", what, err);
	err[0] = 0;
	return ok;
}

static void malformed(void)
{
	char long_gw[80], long_detail[260], path[PATH_MAX + 32];
	struct ledger_result res;
	struct ledger *l, *l2 = NULL;
	struct tl_rec t;
	FILE *f;
	int bad = 0;

	paths("input");
	l = wopen(true, 0, 0);
	if (!l)
		return;
	memset(long_gw, 'g', 65);
	long_gw[65] = 0;
	memset(long_detail, 'x', 201);
	long_detail[201] = 0;
	const char *gws[] = { "", "a b", "x/y", "caf\xc3\xa9", long_gw };

	for (size_t i = 0; i < sizeof(gws) / sizeof(gws[0]); i++) {
		tl_rec(&t, "gw1", "d", 1, 1, 0);
		t.r.gateway = gws[i];
		bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)),
			       "gateway");
	}
	tl_rec(&t, "gw1", "d", 1, 1, 0);
	t.r.gateway = NULL;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)), "NULL gw");
	tap_ok(!bad, "bad gateway names: -EINVAL");

	bad = 0;
	tl_rec(&t, "gw1", "d", 1, 1, 0);
	t.r.device_id_len = 0;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)), "id 0");
	t.r.device_id_len = LEDGER_DEVICE_ID_MAX + 1;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)), "id 65");
	t.r.device_id_len = 1;
	t.r.device_id = NULL;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)), "NULL id");
	tap_ok(!bad, "device id of 0 or 65 bytes, or NULL: -EINVAL");

	bad = 0;
	tl_rec(&t, "gw1", "d", 1, 1, 0);
	t.r.payload = NULL;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)),
		       "NULL payload");
	t.r.payload = t.payload;
	t.r.payload_len = LEDGER_PAYLOAD_MAX + 1;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)),
		       "huge payload");
	tl_rec(&t, "gw1", "d", 1, 1, 0);
	t.r.key_len = 0;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)), "key 0");
	t.r.key_len = 64;
	t.r.key_offset = UINT64_MAX - 10;
	bad += !einval(ledger_append(l, &t.r, &res, err, sizeof(err)),
		       "key wrap");
	bad += ledger_append(l, &t.r, NULL, err, sizeof(err)) != -EINVAL;
	tap_ok(!bad, "NULL payload with a length, oversize payload, bad key range");

	bad = 0;
	bad += !einval(ledger_event(l, LEDGER_EV_PROTOCOL, "gw1", long_detail,
				    err, sizeof(err)), "long detail");
	bad += !einval(ledger_event(l, LEDGER_EV_PROTOCOL, "gw1", "tab\there",
				    err, sizeof(err)), "control char");
	bad += !einval(ledger_event(l, 0, "gw1", "x", err, sizeof(err)), "kind 0");
	bad += !einval(ledger_event(l, 99, "gw1", "x", err, sizeof(err)),
		       "kind 99");
	bad += !einval(ledger_event(l, LEDGER_EV_PROTOCOL, "a b", "x", err,
				    sizeof(err)), "event gw");
	long_detail[200] = 0;
	bad += ledger_event(l, LEDGER_EV_PROTOCOL, "gw1", long_detail, err,
			    sizeof(err)) != 0;
	tap_ok(!bad, "event detail > 200 bytes, unprintable, bad kind: -EINVAL;"
	       " 200 bytes is fine");
	bad = !einval(ledger_device_add(l, "gw1", (const uint8_t *)"x", 0, err,
					sizeof(err)), "add id 0") ||
	      !einval(ledger_device_trust(l, "", (const uint8_t *)"x", 1, err,
					  sizeof(err)), "trust gw");
	tap_ok(!bad, "device add/trust check their arguments");
	tap_ok(ledger_commit(l, err, sizeof(err)) == 1 && ledger_size(l) == 1,
	       "nothing malformed was appended");
	ledger_close(l);

	/* A key file that is not the ledger's, or readable by others. */
	snprintf(path, sizeof(path), "%s/other.key", dir);
	tap_ok(tl_open(&l2, db, path, true, true, 0, 0, err, sizeof(err)) ==
	       -EKEYREJECTED, "another key file is refused: %s", err);
	chmod(path, 0644);
	tap_ok(tl_open(&l2, db, path, true, true, 0, 0, err, sizeof(err)) ==
	       -EPERM, "a key file readable by others is refused: %s", err);
	snprintf(path, sizeof(path), "%s/short.key", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("short", f);
		fclose(f);
	}
	chmod(path, 0600);
	tap_ok(tl_open(&l2, db, path, true, true, 0, 0, err, sizeof(err)) ==
	       -EINVAL, "a key file of the wrong length is refused: %s", err);
	snprintf(path, sizeof(path), "%s/missing.db", dir);
	tap_ok(tl_open(&l2, path, NULL, false, false, 0, 0, err, sizeof(err)) < 0,
	       "a reader does not create a missing ledger: %s", err);
}
