/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault injection helpers for fault_inject_test (debug kernel only):
 * fail-nth (fail the Nth allocation or user copy of this thread), the
 * failslab / fail_usercopy debugfs knobs, and a /dev/kmsg reader that
 * finds out which module function each injected fault hit and passes on
 * any kernel report (KASAN, WARNING, BUG...) it sees.
 */
#ifndef QKD_FI_UTIL_H
#define QKD_FI_UTIL_H

#define FI_DEBUGFS	"/sys/kernel/debug"
#define FI_USER		"fik"	/* the user link the key ops use */

/*
 * Checks that the kernel has fail-nth, failslab and fail_usercopy, and
 * sets them up: GFP_KERNEL allocations fail too, a stack trace for every
 * injected fault, kernel notices off the console. 0, or -EOPNOTSUPP.
 */
int fi_setup(void);
/* Puts the knobs and the console log level back. */
void fi_restore(void);

/* This thread: fail its @n-th allocation or user copy from now on. */
int fi_arm(unsigned int n);
/* Disarms; 1 if the fault was injected since fi_arm(), else 0. */
int fi_fired(void);
/* Disarms; how many of the armed count were left (0: injected). */
long fi_left(void);

/* Writes @val to FI_DEBUGFS/@rel: 0 or -errno. */
int fi_knob(const char *rel, const char *val);

/* Module functions hit by injected faults, in order of first hit. */
struct fi_sites {
	int n;
	char fn[48][64];
};

/*
 * Reads what the kernel logged since the last call: adds the first
 * qkdkey/qkd_sim frame of every injected fault's stack to @s (may be
 * NULL), prints kernel reports as "# kernel: ..." and returns how many
 * there were.
 */
int fi_kmsg_scan(struct fi_sites *s);

/*
 * A kmemleak scan: the number of leaks, printed, besides @known ones of
 * the 6.1 kernel's own sysfs_slab_add() error path, which are cleared.
 */
int fi_kmemleak(int *known);

/* "a, b, c" of @s into @buf. */
const char *fi_sites_str(const struct fi_sites *s, char *buf, int len);
/* Faults injected so far, as fi_kmsg_scan() counted them. */
extern long fi_faults;
/* Whether the last one counted hit a function of the modules. */
extern int fi_last_in_module;

/*
 * One operation of the fail-nth sweep (fi_ops.c, fi_keyops.c). For n = 1, 2, ...:
 * setup() unarmed, run() with the n-th fault armed, check() unarmed with
 * run()'s 0 / -errno and whether the fault was injected (1: a violation,
 * explained on stdout), undo() unarmed; until run() succeeds without the
 * fault being reached.
 */
struct fi_op {
	const char *name;
	int (*setup)(void);		/* 0 or -errno */
	int (*run)(void);		/* 0 or -errno */
	int (*check)(int r);		/* 0, or 1 for a violation */
	int (*undo)(void);		/* 0, or 1 for a violation */
	int modules;			/* 0: both loaded; 1: none; 2: qkdkey only */
	/*
	 * Module loads: most of their faults are the module loader's, so
	 * the sweep runs from the last fault back until well past the
	 * module's init function.
	 */
	int from_end;
};

/* a table entry of fi_ops[] or fi_key_ops[] */
#define OP(n, s, r, c, u, m)	{ .name = n, .setup = s, .run = r, .check = c, \
				  .undo = u, .modules = m, .from_end = m != 0 }

/* fi_ops.c: module loads and netlink; fi_keyops.c: key and files */
extern const struct fi_op fi_ops[], fi_key_ops[];
extern const int fi_nops, fi_nkey_ops;
/* The control socket (never armed), a check's "# why" line, no check. */
struct qnl;
extern struct qnl fi_ctl;
int fi_bad(const char *fmt, const char *what);
int fi_no_check(int r);
/* Module files copied to tmpfs, loading from the 9p share would fault 9p. */
extern char fi_ko_dir[];
int fi_load(const char *ko, const char *params);
int fi_modules(int which);	/* 0: both loaded, 1: none, 2: qkdkey only */
/* The key ops' user link: @n unarmed pushes of 8000 TX bytes; their bytes. */
int fi_push_tx(int n);
int fi_pat_ok(const unsigned char *p, unsigned long long off, unsigned long n);

#endif
