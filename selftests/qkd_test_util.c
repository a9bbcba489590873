// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the qkdkey selftests; see qkd_test_util.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "qkd_test_util.h"

int qkd_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

int qkd_write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static void link_path(char *p, size_t len, const char *link, const char *attr)
{
	snprintf(p, len, QKD_LINKS_DIR "/%s/%s", link, attr);
}

int qkd_link_str(const char *link, const char *attr, char *buf, size_t len)
{
	char p[PATH_MAX];

	link_path(p, sizeof(p), link, attr);
	return qkd_read_str(p, buf, len);
}

static long long parse_u64(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > LLONG_MAX)
		return -EPROTO;
	return v;
}

long long qkd_link_u64(const char *link, const char *attr)
{
	char buf[64];
	int r = qkd_link_str(link, attr, buf, sizeof(buf));

	return r < 0 ? r : parse_u64(buf);
}

int qkd_link_set(const char *link, const char *attr, const char *val)
{
	char p[PATH_MAX], v[64];

	link_path(p, sizeof(p), link, attr);
	snprintf(v, sizeof(v), "%s\n", val);
	return qkd_write_str(p, v);
}

int qkd_link_setu(const char *link, const char *attr, unsigned long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", v);
	return qkd_link_set(link, attr, buf);
}

int qkd_sim_set(const char *param, unsigned long long v)
{
	char p[PATH_MAX], buf[32];

	snprintf(p, sizeof(p), QKD_SIM_PARAMS "/%s", param);
	snprintf(buf, sizeof(buf), "%llu\n", v);
	return qkd_write_str(p, buf);
}

int qkd_open(int flags)
{
	int fd = open(QKDKEY_DEVICE_PATH, O_RDONLY | O_CLOEXEC | flags);

	return fd < 0 ? -errno : fd;
}

int qkd_bind(int fd, uint32_t link_id, const char *name, uint32_t dir)
{
	struct qkdkey_bind b;

	memset(&b, 0, sizeof(b));
	b.link_id = link_id;
	b.dir = dir;
	if (name)
		strncpy(b.name, name, sizeof(b.name) - 1);
	return ioctl(fd, QKDKEY_IOC_BIND, &b) ? -errno : 0;
}

int qkd_open_bind(const char *name, uint32_t dir, int flags)
{
	int fd = qkd_open(flags);
	int r;

	if (fd < 0)
		return fd;
	r = qkd_bind(fd, 0, name, dir);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int qkd_info(int fd, uint32_t link_id, struct qkdkey_link_info *info)
{
	memset(info, 0, sizeof(*info));
	info->link_id = link_id;
	return ioctl(fd, QKDKEY_IOC_LINK_INFO, info) ? -errno : 0;
}

ssize_t qkd_read(int fd, void *buf, size_t n)
{
	ssize_t r = read(fd, buf, n);

	return r < 0 ? -errno : r;
}

ssize_t qkd_pread(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(fd, buf, n, (off_t)off);

	return r < 0 ? -errno : r;
}

void qkd_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define WAIT_STEP_MS 20

int qkd_wait_str(const char *link, const char *attr, const char *want, int ms)
{
	char buf[64];

	for (;; ms -= WAIT_STEP_MS) {
		if (qkd_link_str(link, attr, buf, sizeof(buf)) >= 0 &&
		    !strcmp(buf, want))
			return 0;
		if (ms <= 0)
			return -ETIMEDOUT;
		qkd_msleep(WAIT_STEP_MS);
	}
}

int qkd_wait_ge(const char *link, const char *attr, long long min, int ms)
{
	for (;; ms -= WAIT_STEP_MS) {
		if (qkd_link_u64(link, attr) >= min)
			return 0;
		if (ms <= 0)
			return -ETIMEDOUT;
		qkd_msleep(WAIT_STEP_MS);
	}
}

int qkd_wait_ne(const char *link, const char *attr, long long old, int ms)
{
	for (;; ms -= WAIT_STEP_MS) {
		long long v = qkd_link_u64(link, attr);

		if (v >= 0 && v != old)
			return 0;
		if (ms <= 0)
			return -ETIMEDOUT;
		qkd_msleep(WAIT_STEP_MS);
	}
}

int qkd_link_up(const char *link, int ms)
{
	int r;

	for (;; ms -= WAIT_STEP_MS) {
		r = qkd_link_set(link, "state", "up");
		if (r != -EBUSY || ms <= 0)
			return r;
		qkd_msleep(WAIT_STEP_MS);
	}
}

int qkd_reset(void)
{
	struct dirent *de;
	DIR *d;
	int r;

	if ((r = qkd_sim_set("eve", 0)) || (r = qkd_sim_set("qber", SIM_QBER_DEFAULT)) ||
	    (r = qkd_sim_set("rate", SIM_RATE_DEFAULT)))
		return r;
	d = opendir(QKD_LINKS_DIR);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		r = qkd_link_setu(de->d_name, "qber_threshold",
				  QKDKEY_QBER_THRESHOLD_DEFAULT);
		if (!r)
			r = qkd_link_up(de->d_name, 5000);
		if (r)
			break;
	}
	closedir(d);
	if (!r)
		r = qkd_write_str(QKD_SYSFS_DIR "/default_link", "sim0a\n");
	return r;
}

static long long delivered_sum(void)
{
	long long a = qkd_link_u64("sim0a", "tx_delivered");
	long long b = qkd_link_u64("sim0b", "tx_delivered");

	if (a < 0)
		return a;
	return b < 0 ? b : a + b;
}

int qkd_sim_pause(void)
{
	long long last, now;
	int r = qkd_sim_set("rate", 0);

	if (r)
		return r;
	/*
	 * A tick that started before the write may still be delivering (a
	 * tick can carry up to a second of key, slow under TCG): wait until
	 * nothing moves for several ticks.
	 */
	last = delivered_sum();
	for (int ms = 0; ms < 20000; ms += 200) {
		qkd_msleep(200);
		now = delivered_sum();
		if (now < 0 || now == last)
			return now < 0 ? now : 0;
		last = now;
	}
	return -ETIMEDOUT;
}

int qkd_pause_and_empty(void)
{
	static char buf[QKD_HDR + QKDKEY_READ_MAX];
	struct qkdkey_link_info info;
	long long epoch;
	int fd, r;

	r = qkd_sim_pause();
	if (r)
		return r;
	epoch = qkd_link_u64("sim0a", "epoch");
	if (epoch < 0)
		return epoch;
	r = qkd_sim_set("rekey", 1);
	if (!r)
		r = qkd_wait_ne("sim0a", "epoch", epoch, 5000);
	if (!r)
		r = qkd_wait_ne("sim0b", "epoch", epoch, 5000);
	if (r)
		return r;
	/* the rekey wiped the pools; read whatever may still be there */
	fd = qkd_open_bind("sim0a", QKDKEY_DIR_TX, O_NONBLOCK);
	if (fd < 0)
		return fd;
	while (!(r = qkd_info(fd, 0, &info)) && info.tx_avail) {
		size_t n = info.tx_avail < QKDKEY_READ_MAX ? info.tx_avail : QKDKEY_READ_MAX;
		ssize_t got = qkd_read(fd, buf, QKD_HDR + n);

		if (got < 0) {
			r = got;
			break;
		}
	}
	close(fd);
	memset(buf, 0, sizeof(buf));
	return r;
}

int qkd_count_iou_workers(void)
{
	char p[PATH_MAX], comm[64];
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", de->d_name);
		if (qkd_read_str(p, comm, sizeof(comm)) > 0 &&
		    !strncmp(comm, "iou-wrk", 7))
			n++;
	}
	closedir(d);
	return n;
}

const char *qkd_repo_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("QKD_REPO");
	char *p;
	ssize_t n;

	if (env && *env)
		return env;
	/* the binaries live in <repo>/build/selftests/ */
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n < 0)
		return ".";
	dir[n] = '\0';
	for (int i = 0; i < 3; i++) {
		p = strrchr(dir, '/');
		if (p)
			*p = '\0';
	}
	return dir;
}

int qkd_module_loaded(const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "/sys/module/%s/initstate", name);
	return access(p, F_OK) == 0;
}

int qkd_module_load(const char *ko, const char *params)
{
	const char *dir = getenv("QKD_KO_DIR");	/* the debug kernel's modules */
	char p[PATH_MAX];
	int fd, r;

	if (dir && *dir)
		snprintf(p, sizeof(p), "%s/%s.ko", dir, ko);
	else
		snprintf(p, sizeof(p), "%s/kernel/%s.ko", qkd_repo_dir(), ko);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = syscall(__NR_finit_module, fd, params ? params : "", 0) ? -errno : 0;
	close(fd);
	return r;
}

int qkd_module_unload(const char *name)
{
	return syscall(__NR_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

int qkd_modules_ensure(void)
{
	int r = 0;

	if (!qkd_module_loaded("qkdkey"))
		r = qkd_module_load("qkdkey", "");
	if (!r && !qkd_module_loaded("qkd_sim"))
		r = qkd_module_load("qkd_sim", "");
	return r;
}
