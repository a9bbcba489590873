// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/qkdkey: key streams as a character device.
 *
 * A file is bound to one stream of one link (QKDKEY_IOC_BIND); an unbound
 * file uses the TX stream of the default link from its first use on.
 * TX reads return a header and the next key bytes, all or nothing; RX reads
 * return the bytes at the file offset (pread). Nothing here sleeps with a
 * lock held or copies to userspace under the link lock: key is reserved
 * under the lock, then copied out and wiped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "qkdkey_internal.h"

struct qkd_file {
	struct qkd_waiter waiter;
	struct file *file;
	struct mutex bind_lock;		/* serialises rebinds */
	spinlock_t lock;		/* the fields below */
	struct qkd_link *link;		/* a reference, or NULL until first use */
	enum qkdkey_dir dir;
	u64 epoch;			/* the link's epoch when bound */
	u32 gen;			/* bumped by every bind */
	bool bound;			/* bound by ioctl, not by default */
	u64 want_offset;		/* what the last EAGAIN read needed */
	u32 want_len;
};

/* A snapshot of a file's binding, holding its own link reference. */
struct qkd_binding {
	struct qkd_link *link;
	enum qkdkey_dir dir;
	u64 epoch;
	u32 gen;
	bool bound;
};

static void qkd_binding_load_locked(struct qkd_file *qf, struct qkd_binding *b)
{
	b->link = qf->link;
	kref_get(&b->link->ref);
	b->dir = qf->dir;
	b->epoch = qf->epoch;
	b->gen = qf->gen;
	b->bound = qf->bound;
}

/*
 * Replaces the file's binding and takes over the caller's link reference.
 * An implicit (!@bound) binding only applies to a still unbound file, so
 * a first read racing with QKDKEY_IOC_BIND cannot undo the explicit bind.
 */
static void qkd_file_rebind(struct qkd_file *qf, struct qkd_link *link,
			    enum qkdkey_dir dir, u64 epoch, bool bound)
{
	struct qkd_link *old;

	/* The waiter can be on one link's list at a time: one rebind at once. */
	mutex_lock(&qf->bind_lock);
	spin_lock(&qf->lock);
	if (link && !bound && qf->link) {
		spin_unlock(&qf->lock);
		mutex_unlock(&qf->bind_lock);
		qkd_link_put(link);
		return;
	}
	old = qf->link;
	qf->link = link;
	qf->dir = dir;
	qf->epoch = epoch;
	qf->bound = bound;
	qf->want_len = 0;
	WRITE_ONCE(qf->gen, qf->gen + 1);
	spin_unlock(&qf->lock);
	if (old)
		qkd_link_detach(old, &qf->waiter);
	if (link)
		qkd_link_attach(link, &qf->waiter);
	mutex_unlock(&qf->bind_lock);
	if (old)
		qkd_link_put(old);
	/* A reader blocked on the old binding retries with the new one. */
	wake_up_interruptible_all(&qf->waiter.wait);
	wake_up_interruptible_poll(&qf->waiter.poll, EPOLLIN | EPOLLRDNORM);
}

static int qkd_file_binding(struct qkd_file *qf, struct qkd_binding *b)
{
	struct qkd_link *link;
	u64 epoch;

	spin_lock(&qf->lock);
	if (qf->link) {
		qkd_binding_load_locked(qf, b);
		spin_unlock(&qf->lock);
		return 0;
	}
	spin_unlock(&qf->lock);

	link = qkd_link_get_default();
	if (!link)
		return -ENODEV;
	spin_lock(&link->lock);
	epoch = link->epoch;
	spin_unlock(&link->lock);

	qkd_file_rebind(qf, link, QKDKEY_DIR_TX, epoch, false);
	return qkd_file_binding(qf, b);
}

/*
 * Reserves @len key bytes for @b (at @offset for RX) into @t, or with a
 * NULL @t only tells whether that would succeed. -EAGAIN means "wait".
 */
static int qkd_try_take_locked(struct qkd_binding *b, u64 offset, u32 len,
			       struct qkd_take *t)
{
	struct qkd_link *link = b->link;
	struct qkd_stream *s = &link->stream[b->dir];
	int ret;

	lockdep_assert_held(&link->lock);
	if (link->gone) {
		ret = -ENODEV;
	} else if (b->dir == QKDKEY_DIR_RX && b->epoch != link->epoch) {
		ret = -ESTALE;
	} else if (b->dir == QKDKEY_DIR_RX &&
		   qkd_stream_probe_at(s, offset, len) == -ENOKEY) {
		ret = -ENOKEY;
	} else if (qkd_link_state_locked(link) != QKDKEY_LINK_UP) {
		ret = -EAGAIN;
	} else if (!t) {
		if (b->dir == QKDKEY_DIR_TX)
			ret = qkd_stream_has_front(s, len) ? 0 : -EAGAIN;
		else
			ret = qkd_stream_probe_at(s, offset, len);
	} else {
		if (b->dir == QKDKEY_DIR_TX)
			ret = qkd_stream_take_front(s, len, t);
		else
			ret = qkd_stream_take_at(s, offset, len, t);
		t->epoch = link->epoch;
		/* One low-watermark event per crossing; delivery re-arms it. */
		t->low = !ret && b->dir == QKDKEY_DIR_TX && !link->tx_low &&
			 s->avail < link->low_watermark;
		if (t->low)
			link->tx_low = true;
	}
	return ret;
}

static int qkd_try_take(struct qkd_binding *b, u64 offset, u32 len,
			struct qkd_take *t)
{
	int ret;

	spin_lock(&b->link->lock);
	ret = qkd_try_take_locked(b, offset, len, t);
	spin_unlock(&b->link->lock);
	return ret;
}

/* What poll answers for: the read that last waited, else 1 byte at f_pos. */
static void qkd_poll_request(struct qkd_file *qf, u64 *offset, u32 *len)
{
	u32 want = READ_ONCE(qf->want_len);

	*offset = want ? READ_ONCE(qf->want_offset) : READ_ONCE(qf->file->f_pos);
	*len = want ? want : 1;
}

/*
 * Called by the link, under its lock, before waking this file's pollers.
 * io_uring re-issues a polled read on every wakeup, and 6.1 moves it to an
 * iou-wrk thread after 128 fruitless ones, so pollers are woken only when
 * their read would now complete or fail. Lockless reads of the file's
 * fields: a stale answer is corrected by the rebind's own wakeup.
 */
static bool qkd_file_poll_ready(struct qkd_waiter *w, struct qkd_link *link)
{
	struct qkd_file *qf = container_of(w, struct qkd_file, waiter);
	struct qkd_binding b = {
		.link = link,
		.dir = READ_ONCE(qf->dir),
		.epoch = READ_ONCE(qf->epoch),
	};
	u64 offset;
	u32 len;

	qkd_poll_request(qf, &offset, &len);
	return qkd_try_take_locked(&b, offset, len, NULL) != -EAGAIN;
}

static bool qkd_rx_undelivered(struct qkd_binding *b, u64 offset, u32 len)
{
	struct qkd_link *link = b->link;
	bool undelivered;

	spin_lock(&link->lock);
	undelivered = !link->gone && b->epoch == link->epoch &&
		      qkd_stream_probe_at(&link->stream[QKDKEY_DIR_RX], offset, len) == -EAGAIN;
	spin_unlock(&link->lock);
	return undelivered;
}

/*
 * Records what a read waits for (poll answers for it) and, the first time
 * a file waits for a given RX range not yet delivered, tells the monitor
 * group: a pull-model bridge can then fetch that key.
 */
static void qkd_file_want(struct qkd_file *qf, struct qkd_binding *b,
			  u64 offset, u32 len)
{
	bool repeat;

	spin_lock(&qf->lock);
	repeat = qf->want_len == len && qf->want_offset == offset;
	qf->want_offset = offset;
	qf->want_len = len;
	spin_unlock(&qf->lock);
	if (!repeat && b->dir == QKDKEY_DIR_RX && qkd_rx_undelivered(b, offset, len))
		qkd_nl_key_want(b->link, QKDKEY_DIR_RX, b->epoch, offset, len);
}

static bool qkd_wait_done(struct qkd_file *qf, struct qkd_binding *b,
			  u64 offset, u32 len)
{
	return READ_ONCE(qf->gen) != b->gen ||
	       qkd_try_take(b, offset, len, NULL) != -EAGAIN;
}

/* Key that failed to reach userspace was wiped: count it as expired. */
static void qkd_count_lost(struct qkd_link *link, enum qkdkey_dir dir, u32 len)
{
	spin_lock(&link->lock);
	link->stream[dir].taken -= len;
	link->stream[dir].expired += len;
	spin_unlock(&link->lock);
}

static ssize_t qkd_copy_out(struct qkd_binding *b, struct qkd_take *t,
			    struct iov_iter *to)
{
	struct qkdkey_tx_hdr hdr;
	size_t copied = 0;

	if (b->dir == QKDKEY_DIR_TX) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.link_id = b->link->id;
		hdr.length = t->len;
		hdr.epoch = t->epoch;
		hdr.offset = t->offset;
		if (copy_to_iter(&hdr, sizeof(hdr), to) != sizeof(hdr)) {
			qkd_take_discard(t);
			goto lost;
		}
	}
	copied = qkd_take_copy_out(t, to);
	if (copied == t->len)
		return 0;
lost:
	qkd_count_lost(b->link, b->dir, t->len);
	return -EFAULT;
}

static ssize_t qkd_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct qkd_file *qf = file->private_data;
	size_t count = iov_iter_count(to);
	bool nowait = (iocb->ki_flags & IOCB_NOWAIT) ||
		      (file->f_flags & O_NONBLOCK);
	struct qkd_binding b;
	struct qkd_take t __uninitialized;	/* filled by the take */
	u64 offset = 0;
	u32 len;
	int ret;

	if (!count)
		return 0;
	for (;;) {
		ret = qkd_file_binding(qf, &b);
		if (ret)
			return ret;
		if (b.dir == QKDKEY_DIR_TX) {
			if (count <= sizeof(struct qkdkey_tx_hdr))
				ret = -EINVAL;
			len = count - sizeof(struct qkdkey_tx_hdr);
		} else {
			len = count;
			offset = iocb->ki_pos;
		}
		if (!ret && (len > QKDKEY_READ_MAX ||
			     len > READ_ONCE(b.link->pool_limit)))
			ret = -EINVAL;
		if (!ret)
			ret = qkd_try_take(&b, offset, len, &t);
		if (ret != -EAGAIN)
			break;
		qkd_file_want(qf, &b, offset, len);
		if (nowait)
			break;
		ret = wait_event_interruptible(qf->waiter.wait,
					       qkd_wait_done(qf, &b, offset, len));
		qkd_link_put(b.link);
		if (ret)
			return ret;
	}
	if (!ret) {
		if (READ_ONCE(qf->want_len)) {
			spin_lock(&qf->lock);
			qf->want_len = 0;
			spin_unlock(&qf->lock);
		}
		ret = qkd_copy_out(&b, &t, to);
		if (!ret && b.dir == QKDKEY_DIR_RX)
			iocb->ki_pos = offset + len;
		/* Someone waiting on a range we took must now see ENOKEY. */
		if (b.dir == QKDKEY_DIR_RX)
			qkd_link_wake(b.link);
		if (t.low) {
			struct qkd_link_status st;

			qkd_link_get_status(b.link, &st);
			qkd_nl_low_watermark(b.link, st.tx.avail, st.low_watermark);
		}
	}
	qkd_link_put(b.link);
	return ret ? ret : count;
}

static __poll_t qkd_poll(struct file *file, poll_table *pt)
{
	struct qkd_file *qf = file->private_data;
	struct qkd_binding b;
	__poll_t mask = 0;
	u64 offset;
	u32 len;
	int ret;

	poll_wait(file, &qf->waiter.poll, pt);
	if (qkd_file_binding(qf, &b))
		return EPOLLERR;
	/*
	 * Readable means the read that last returned EAGAIN would now
	 * complete; with none pending, a 1-byte read (RX: at the file
	 * position, for sequential read(2) users).
	 */
	qkd_poll_request(qf, &offset, &len);

	ret = qkd_try_take(&b, offset, len, NULL);
	if (ret != -EAGAIN)
		mask = EPOLLIN | EPOLLRDNORM;
	if (ret == -ENODEV)
		mask |= EPOLLERR | EPOLLHUP;
	qkd_link_put(b.link);
	return mask;
}

static long qkd_ioctl_bind(struct qkd_file *qf, void __user *arg)
{
	struct qkdkey_bind req;
	struct qkd_link *link;
	bool gone;
	u64 epoch;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved ||
	    (req.dir != QKDKEY_DIR_TX && req.dir != QKDKEY_DIR_RX) ||
	    strnlen(req.name, sizeof(req.name)) == sizeof(req.name))
		return -EINVAL;

	if (req.link_id) {
		link = qkd_link_get_by_id(req.link_id);
		if (link && req.name[0] && strcmp(link->name, req.name)) {
			qkd_link_put(link);
			return -EINVAL;
		}
	} else if (req.name[0]) {
		link = qkd_link_get_by_name(req.name);
	} else {
		link = qkd_link_get_default();
	}
	if (!link)
		return -ENODEV;

	spin_lock(&link->lock);
	gone = link->gone;
	epoch = link->epoch;
	spin_unlock(&link->lock);
	if (gone) {
		qkd_link_put(link);
		return -ENODEV;
	}
	qkd_file_rebind(qf, link, req.dir, epoch, true);
	return 0;
}

static void qkd_fill_info(struct qkd_link *link, struct qkdkey_link_info *info)
{
	struct qkd_link_status st;

	info->link_id = link->id;
	strscpy(info->name, link->name, sizeof(info->name));
	strscpy(info->peer, link->peer, sizeof(info->peer));
	strscpy(info->kind, link->kind, sizeof(info->kind));
	if (qkd_link_is_default(link))
		info->flags |= QKDKEY_INFO_DEFAULT;

	qkd_link_get_status(link, &st);
	info->state = st.state;
	info->epoch = st.epoch;
	info->tx_avail = st.tx.avail;
	info->tx_next = st.tx_next;
	info->rx_avail = st.rx.avail;
	info->rx_end = st.rx_end;
	info->qber = st.qber;
	info->qber_threshold = st.qber_threshold;
	info->key_rate = st.key_rate;
	info->pool_limit = st.pool_limit;
}

static long qkd_ioctl_info(struct qkd_file *qf, void __user *arg)
{
	struct qkdkey_link_info info;
	struct qkd_binding b;
	struct qkd_link *link;
	bool have_binding;
	u32 req_id;
	int ret;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	if (memchr_inv((u8 *)&info + sizeof(info.link_id), 0,
		       sizeof(info) - sizeof(info.link_id)))
		return -EINVAL;
	req_id = info.link_id;

	ret = qkd_file_binding(qf, &b);
	have_binding = !ret;
	if (!have_binding && !info.link_id)
		return ret;

	memset(&info, 0, sizeof(info));
	if (have_binding && (!req_id || b.link->id == req_id)) {
		qkd_fill_info(b.link, &info);
		info.bound_dir = b.dir;
		if (b.bound)
			info.flags |= QKDKEY_INFO_BOUND;
		if (b.dir == QKDKEY_DIR_RX && b.epoch != info.epoch)
			info.flags |= QKDKEY_INFO_STALE;
		ret = 0;
	} else {
		link = qkd_link_get_by_id(req_id);
		ret = link ? 0 : -ENODEV;
		if (link) {
			qkd_fill_info(link, &info);
			qkd_link_put(link);
		}
	}
	if (!ret && copy_to_user(arg, &info, sizeof(info)))
		ret = -EFAULT;
	if (have_binding)
		qkd_link_put(b.link);
	return ret;
}

static long qkd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct qkd_file *qf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case QKDKEY_IOC_BIND:
		return qkd_ioctl_bind(qf, uarg);
	case QKDKEY_IOC_LINK_INFO:
		return qkd_ioctl_info(qf, uarg);
	default:
		return -ENOTTY;
	}
}

static int qkd_open(struct inode *inode, struct file *file)
{
	struct qkd_file *qf;

	qf = kzalloc(sizeof(*qf), GFP_KERNEL);
	if (!qf)
		return -ENOMEM;
	INIT_LIST_HEAD(&qf->waiter.node);
	init_waitqueue_head(&qf->waiter.wait);
	init_waitqueue_head(&qf->waiter.poll);
	qf->waiter.poll_ready = qkd_file_poll_ready;
	qf->file = file;
	mutex_init(&qf->bind_lock);
	spin_lock_init(&qf->lock);
	file->private_data = qf;
	/* Lets io_uring complete reads inline or arm poll, not punt them. */
	file->f_mode |= FMODE_NOWAIT;
	return 0;
}

static int qkd_release(struct inode *inode, struct file *file)
{
	struct qkd_file *qf = file->private_data;

	qkd_file_rebind(qf, NULL, QKDKEY_DIR_TX, 0, false);
	kfree(qf);
	return 0;
}

static const struct file_operations qkd_fops = {
	.owner = THIS_MODULE,
	.open = qkd_open,
	.release = qkd_release,
	.read_iter = qkd_read_iter,
	.poll = qkd_poll,
	.unlocked_ioctl = qkd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	/* RX files address key by file offset: keep pread, no stream_open(). */
	.llseek = no_seek_end_llseek,
};

static struct miscdevice qkd_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "qkdkey",
	.fops = &qkd_fops,
	.mode = 0660,
};

int qkd_chr_init(void)
{
	return misc_register(&qkd_misc);
}

void qkd_chr_exit(void)
{
	misc_deregister(&qkd_misc);
}
