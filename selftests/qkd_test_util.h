// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the qkdkey selftests: sysfs and module parameters,
 * /dev/qkdkey open/bind/read wrappers that return -errno, bounded waits.
 * Everything here returns errors instead of asserting, so it can be used
 * from helper threads; the tests assert on the results.
 */
#ifndef QKD_TEST_UTIL_H
#define QKD_TEST_UTIL_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/qkdkey.h>

#define QKD_LINKS_DIR	"/sys/kernel/qkdkey/links"
#define QKD_SYSFS_DIR	"/sys/kernel/qkdkey"
#define QKD_SIM_PARAMS	"/sys/module/qkd_sim/parameters"
#define QKD_HDR		sizeof(struct qkdkey_tx_hdr)

/* qkd_sim defaults (the values the tests restore) */
#define SIM_RATE_DEFAULT	1048576
#define SIM_QBER_DEFAULT	20000

/* Files: return 0 / length, or -errno. Values are read with the newline cut. */
int qkd_read_str(const char *path, char *buf, size_t len);
int qkd_write_str(const char *path, const char *val);

/* /sys/kernel/qkdkey/links/<link>/<attr> */
int qkd_link_str(const char *link, const char *attr, char *buf, size_t len);
long long qkd_link_u64(const char *link, const char *attr);	/* <0: -errno */
int qkd_link_set(const char *link, const char *attr, const char *val);
int qkd_link_setu(const char *link, const char *attr, unsigned long long v);

/* /sys/module/qkd_sim/parameters/<param> */
int qkd_sim_set(const char *param, unsigned long long v);

/* /dev/qkdkey; all return -errno on failure */
int qkd_open(int flags);
int qkd_bind(int fd, uint32_t link_id, const char *name, uint32_t dir);
int qkd_open_bind(const char *name, uint32_t dir, int flags);
int qkd_info(int fd, uint32_t link_id, struct qkdkey_link_info *info);
ssize_t qkd_read(int fd, void *buf, size_t n);
ssize_t qkd_pread(int fd, void *buf, size_t n, uint64_t off);

/* Bounded waits; 0 when the condition holds, -ETIMEDOUT otherwise. */
int qkd_wait_str(const char *link, const char *attr, const char *want, int ms);
int qkd_wait_ge(const char *link, const char *attr, long long min, int ms);
int qkd_wait_ne(const char *link, const char *attr, long long old, int ms);
void qkd_msleep(int ms);

/* Write "up" to the link's state, retrying while it says EBUSY. */
int qkd_link_up(const char *link, int ms);

/*
 * Restore defaults on every link and sim parameter: rate, qber, eve,
 * qber_threshold, state up, default link sim0a. Returns 0 or -errno.
 */
int qkd_reset(void);

/*
 * Pause the sim (rate=0) and wait until sim0a/sim0b deliver no more (a tick
 * under way when rate was written finishes first). Returns 0 or -errno.
 */
int qkd_sim_pause(void);

/*
 * Pause the sim with qkd_sim_pause(), then start a new epoch (rekey) so
 * that every pool of every pair is empty, and check that sim0a has no TX
 * key left. Files bound for RX before this are stale.
 * Returns 0 or -errno.
 */
int qkd_pause_and_empty(void);

/* Number of io_uring worker threads (comm "iou-wrk-*") in this process. */
int qkd_count_iou_workers(void);

/* Module control for the tests that unload modules themselves. */
const char *qkd_repo_dir(void);
int qkd_module_loaded(const char *name);
int qkd_module_load(const char *ko, const char *params);	/* kernel/<ko>.ko */
int qkd_module_unload(const char *name);			/* O_NONBLOCK */
int qkd_modules_ensure(void);	/* load qkdkey and qkd_sim if missing */

#endif
