// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection helpers: see fi_util.h. The kernel side is
 * Documentation/fault-injection/fault-injection.rst of Linux 6.1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/klog.h>

#include "fi_util.h"

static __thread int nth_fd = -1;
static int kmsg_fd = -1;
static char saved_printk[64];
long fi_faults;
int fi_last_in_module;

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

int fi_knob(const char *rel, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", FI_DEBUGFS, rel);
	return write_file(path, val);
}

int fi_setup(void)
{
	static const char *const knobs[][2] = {
		/* GFP_KERNEL allocations are what the module makes */
		{ "failslab/ignore-gfp-wait", "N" },
		{ "failslab/probability", "0" },
		{ "failslab/task-filter", "N" },
		{ "failslab/cache-filter", "N" },
		/* a stack trace per fault: which function it hit */
		{ "failslab/verbose", "2" },
		{ "fail_usercopy/probability", "0" },
		{ "fail_usercopy/verbose", "2" },
		/*
		 * Page allocations too, of every order: kmalloc() above two
		 * pages, the vmalloc fallback of the large block rings.
		 */
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
		{ "fail_page_alloc/probability", "0" },
		{ "fail_page_alloc/task-filter", "N" },
		{ "fail_page_alloc/verbose", "2" },
	};
	int fd, r;

	if (access("/proc/thread-self/fail-nth", W_OK) ||
	    access(FI_DEBUGFS "/failslab", F_OK) ||
	    access(FI_DEBUGFS "/fail_usercopy", F_OK) ||
	    access(FI_DEBUGFS "/fail_page_alloc", F_OK))
		return -EOPNOTSUPP;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		r = fi_knob(knobs[i][0], knobs[i][1]);
		if (r) {
			fprintf(stderr, "fault_inject_test: %s: %s\n", knobs[i][0], strerror(-r));
			return r;
		}
	}
	/*
	 * The traces stay out of the (slow, serial) console: console level 4
	 * still shows errors (KASAN...), and fi_kmsg_scan() passes on the
	 * warnings it would hide.
	 */
	fd = open("/proc/sys/kernel/printk", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read(fd, saved_printk, sizeof(saved_printk) - 1);
		saved_printk[r > 0 ? r : 0] = '\0';
		close(fd);
		write_file("/proc/sys/kernel/printk", "4");
	}
	/*
	 * With page allocations failing, a page fault of the test's own
	 * memory while a fault is armed would spend it outside the operation
	 * under test: fault everything in now and for later mappings.
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		fprintf(stderr, "fault_inject_test: mlockall: %s\n", strerror(errno));
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		return -errno;
	lseek(kmsg_fd, 0, SEEK_END);
	return 0;
}

void fi_restore(void)
{
	/* the log was scanned: run-in-vm must not read traces as reports */
	fi_kmsg_scan(NULL);
	klogctl(5, NULL, 0);	/* SYSLOG_ACTION_CLEAR */
	fi_knob("failslab/probability", "0");
	fi_knob("failslab/cache-filter", "N");
	fi_knob("failslab/ignore-gfp-wait", "Y");
	fi_knob("failslab/verbose", "1");
	fi_knob("fail_usercopy/probability", "0");
	fi_knob("fail_usercopy/verbose", "1");
	fi_knob("fail_page_alloc/ignore-gfp-wait", "Y");
	fi_knob("fail_page_alloc/ignore-gfp-highmem", "Y");
	fi_knob("fail_page_alloc/min-order", "1");
	fi_knob("fail_page_alloc/verbose", "1");
	if (saved_printk[0])
		write_file("/proc/sys/kernel/printk", saved_printk);
}

int fi_arm(unsigned int n)
{
	char v[16];
	int len = snprintf(v, sizeof(v), "%u", n);

	/* opened before arming: the open allocates */
	if (nth_fd < 0)
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0)
		return -errno;
	return pwrite(nth_fd, v, len, 0) == len ? 0 : -errno;
}

int fi_fired(void)
{
	return fi_left() == 0;
}

long fi_left(void)
{
	char v[16] = "";
	ssize_t r;

	/*
	 * Reads 0 once the fault was injected. The read's own copy to user
	 * counts too: a count of 1 left makes it fail (EFAULT), not fired.
	 */
	r = pread(nth_fd, v, sizeof(v) - 1, 0);
	while (pwrite(nth_fd, "0", 1, 0) != 1 && errno == EFAULT)
		;
	return r > 0 ? (long)strtoul(v, NULL, 10) : 1;
}

/* What selftests/run-in-vm and scripts/check-debug count as a report. */
static const char *const report_pat[] = {
	"BUG", "KASAN", "UBSAN", "WARNING", "general protection", "Oops", "leak",
	"Objects remaining", "possible circular", "INFO: task", "corruption",
	"refcount_t:",
};

static void add_site(struct fi_sites *s, const char *frame)
{
	char fn[64];
	size_t n;

	while (*frame == ' ' || *frame == '?')
		frame++;
	n = strcspn(frame, "+ ");
	if (n >= sizeof(fn))
		n = sizeof(fn) - 1;
	memcpy(fn, frame, n);
	fn[n] = '\0';
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->fn[i], fn))
			return;
	if (s->n < (int)(sizeof(s->fn) / sizeof(s->fn[0])))
		strcpy(s->fn[s->n++], fn);
}

/*
 * An injected fault's stack trace ends with </TASK>; its frames are not
 * reports, even when a function name looks like one (kmemleak_*).
 */
int fi_kmsg_scan(struct fi_sites *s)
{
	static int in_trace;
	char rec[8192], *msg, *nl;
	int bad = 0;
	ssize_t r;

	for (;;) {
		r = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (r <= 0)
			break;
		rec[r] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (strstr(msg, "FAULT_INJECTION: forcing a failure")) {
			fi_faults++;
			fi_last_in_module = 0;
			in_trace = 1;
			continue;
		}
		/* its second line names the fault attribute */
		if (!strncmp(msg, "name fail", 9))
			continue;
		/* the stack of an injected fault, up to its end */
		if (in_trace) {
			/* "? fn": a stale return address, not a caller */
			if (in_trace == 1 && s && msg[strspn(msg, " ")] != '?' &&
			    strncmp(msg, "Workqueue:", 10) &&
			    (strstr(msg, "[qkdkey]") || strstr(msg, "[qkd_sim]"))) {
				add_site(s, msg);
				fi_last_in_module = 1;
				in_trace = 2;
			}
			if (strstr(msg, "</TASK>"))
				in_trace = 0;
			continue;
		}
		/*
		 * kmemleak: its metadata allocations fail too ("Cannot
		 * allocate a scan area"), and its leak summaries are
		 * fi_kmemleak()'s to judge.
		 */
		if (!strncmp(msg, "kmemleak: ", 10))
			continue;
		/*
		 * A page fault of this test's own memory whose page allocation
		 * was the injected fault: the fault path says so and retries.
		 * mlockall() in fi_setup() makes it rare, stack growth can
		 * still meet it; it is the kernel's own recovery, not ours.
		 */
		if (strstr(msg, "Huh VM_FAULT_OOM leaked out to the #PF handler"))
			continue;
		for (size_t i = 0; i < sizeof(report_pat) / sizeof(report_pat[0]); i++) {
			if (strstr(msg, report_pat[i])) {
				printf("# kernel: %s\n", msg);
				bad++;
				break;
			}
		}
	}
	return bad;
}

const char *fi_sites_str(const struct fi_sites *s, char *buf, int len)
{
	int off = 0;

	buf[0] = '\0';
	for (int i = 0; i < s->n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", s->fn[i]);
	if (!s->n)
		snprintf(buf, len, "none in the modules");
	return buf;
}

/*
 * Linux 6.1's sysfs_slab_add() returns errors from kobject_init_and_add()
 * and sysfs_create_group() without kobject_put(): every fault injected
 * there (kmem_cache_create() in qkd_pool_init()) leaks the cache's kobject
 * name. Those leaks are counted and cleared; any other is printed and
 * left for scripts/check-debug's own scan.
 */
int fi_kmemleak(int *known)
{
	static char buf[1 << 20];
	const char *k = FI_DEBUGFS "/kmemleak";
	char *rec, *next;
	int fd, other = 0;
	ssize_t n, len = 0;

	*known = 0;
	if (access(k, W_OK))
		return 0;
	/*
	 * An object is reported once it was 5 s old at the previous scan:
	 * wait, then scan twice.
	 */
	sleep(6);
	if (write_file(k, "scan") || write_file(k, "scan"))
		return 0;
	fd = open(k, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	for (rec = strstr(buf, "unreferenced object"); rec; rec = next) {
		next = strstr(rec + 1, "unreferenced object");
		if (next)
			next[-1] = '\0';
		if (strstr(rec, "sysfs_slab_add")) {
			(*known)++;
			continue;
		}
		other++;
		for (char *line = strtok(rec, "\n"); line; line = strtok(NULL, "\n"))
			printf("# leak: %s\n", line);
	}
	if (!other)
		write_file(k, "clear");
	return other;
}
