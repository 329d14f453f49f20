// SPDX-License-Identifier: GPL-2.0
/*
 * rampart's kernel sensor. Every program is a BTF-enabled raw tracepoint (tp_btf): no tracefs,
 * no trampolines (LSM and fentry programs are refused on the machines this was built on, see
 * docs/monitor-sensor.md).
 *   tp_btf/sched_process_exec  exec: path from bprm->file (dentry walk across mounts), argv from
 *                              the new mm's arg area, cwd, tty, exe inode; hold and kill here
 *   tp_btf/sched_process_fork  fork/clone of a new process
 *   tp_btf/sched_process_exit  process exit with its code
 *   tp_btf/sys_exit            file, network and privilege syscalls with their arguments (the
 *                              saved entry registers) and results; an opened file's path is
 *                              walked from the new descriptor's dentry
 * User space owns policy; the kernel filters by event type, host/container and the monitor's
 * own tgid, counts every event it emits or loses, and can hold (SIGSTOP) or kill (SIGKILL).
 */
#include "vmlinux_min.h"
#include "helpers.h"
#include "sensor.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGKILL 9
#define SIGSTOP 19
#define SIGCONT 18
#define AT_FDCWD -100
#define MAX_DEPTH 40

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct config);
} config SEC(".maps");

/* index type*2: events emitted, type*2+1: events lost (ring buffer full, buffer busy) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EV_MAX * 2);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

/* cgroup id -> events lost */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u64);
} drops_by_cgroup SEC(".maps");

/* comm (the exec'd file's basename, cut at 15 bytes) -> kill on exec */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[16]);
	__type(value, u32);
} kill_on_exec SEC(".maps");

/* with CFG_HOLD_LISTED: the only cgroups whose tasks are held */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u32);
} hold_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct open_filter);
} open_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct name_key);
	__type(value, u32);
} open_names SEC(".maps");

/* opens the open filter dropped (no rule can match them) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} filtered SEC(".maps");

/* a syscall's number, type and arguments, read at sys_exit from the saved registers (x86_64
 * keeps the entry registers in pt_regs; orig_ax holds the number) */
struct sysargs {
	u32 nr;
	u32 type;
	u64 args[6];
};

/* per-CPU buffers: the event being built and a path-walk area; busy guards against a
 * preempted program of the same CPU (the loser counts a drop) */
#define WALK_SZ (PATH_SZ * 2)
/* the open filter's work area; loop state lives here, in memory, so that the verifier sees
 * the same state at every iteration and prunes instead of following each value */
struct filt {
	struct name_key base;
	struct name_key parent;
	char raw[OPEN_RAW_SCAN];
	u32 cand;
	u32 need;
	u32 last;
	u32 prev;
};

struct scratch {
	u64 busy;
	struct filt filt;
	char walk[WALK_SZ];
	union {
		struct ev_exec exec;
		struct ev_file file;
		struct ev_sys sys;
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline struct config *get_config(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline void count(u32 type, u32 lost)
{
	u32 idx = type * 2 + lost;
	u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

static __always_inline void count_drop(u32 type, u64 cgroup)
{
	count(type, 1);
	u64 *d = bpf_map_lookup_elem(&drops_by_cgroup, &cgroup);
	if (d) {
		__sync_fetch_and_add(d, 1);
	} else {
		u64 one = 1;
		bpf_map_update_elem(&drops_by_cgroup, &cgroup, &one, BPF_NOEXIST);
	}
}

/*
 * The hot path reads the current task through its BTF pointer (bpf_get_current_task_btf is
 * trusted): the verifier turns these loads into plain, fault-safe loads, far cheaper than a
 * bpf_probe_read_kernel call each. Other tasks' pointers and user memory use the helpers.
 */
static __always_inline u32 current_mntns(struct task_struct *t)
{
	struct nsproxy *ns = t->nsproxy;
	if (!ns)
		return 0;
	struct mnt_namespace *mnt = ns->mnt_ns;
	if (!mnt)
		return 0;
	return mnt->ns.inum;
}

/* Should this event be produced? 0: yes, with *mntns set. */
static __always_inline int wanted(struct config *c, u32 type, struct task_struct *t, u32 *mntns)
{
	if (!(c->enabled & (1ull << type)))
		return -1;
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == (u32)c->self_tgid)
		return -1;
	*mntns = current_mntns(t);
	if (!(c->flags & CFG_WANT_HOST) && *mntns == (u32)c->host_mntns)
		return -1;
	return 0;
}

static __always_inline void fill_hdr(struct hdr *h, u32 type, struct task_struct *t, u32 mntns)
{
	u64 pt = bpf_get_current_pid_tgid();

	h->type = type;
	h->flags = 0;
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->pid = (u32)pt;
	h->tgid = pt >> 32;
	h->ppid = 0;
	struct task_struct *parent = t->real_parent;
	if (parent)
		h->ppid = parent->tgid;
	h->uid = 0;
	h->gid = 0;
	h->euid = 0;
	h->cap_effective = 0;
	h->cap_permitted = 0;
	const struct cred *cred = t->cred;
	if (cred) {
		h->uid = cred->uid.val;
		h->gid = cred->gid.val;
		h->euid = cred->euid.val;
		/* kernel_cap_t: u64 since 6.3, u32[2] before; 8 bytes either way */
		h->cap_effective = *(const u64 *)&cred->cap_effective;
		h->cap_permitted = *(const u64 *)&cred->cap_permitted;
	}
	h->loginuid = t->loginuid.val;
	h->mntns = mntns;
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->start_boottime = t->start_boottime;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Hold (SIGSTOP) container tasks for held event types: the signal is taken on the way back
 * to user space, so the task runs no further user instruction until SIGCONT. */
static __always_inline void maybe_hold(struct config *c, struct hdr *h)
{
	if (!(c->held & (1ull << h->type)))
		return;
	if (h->mntns == (u32)c->host_mntns)
		return;
	if (c->flags & CFG_HOLD_LISTED) {
		u64 cg = h->cgroup_id;
		if (!bpf_map_lookup_elem(&hold_cgroups, &cg))
			return;
	}
	if (bpf_send_signal(SIGSTOP) == 0)
		h->flags |= F_HELD;
}

/*
 * Waking the reader costs more than the rest of an event (an interrupt and, in a VM, an IPI:
 * about 4 us measured here), so it is batched: the reader is woken when the pending data
 * crosses wakeup_bytes, or at once for a held task (it waits for a verdict). A reader that is
 * busy never sleeps (poll returns at once while data is pending); one that sleeps is woken by
 * its poll timeout at the latest.
 */
static __always_inline void emit(struct config *c, void *data, u64 size, struct hdr *h)
{
	u64 flags = 0;
	if (h->flags & F_HELD)
		flags = BPF_RB_FORCE_WAKEUP;
	else if (c->wakeup_bytes) {
		/* wake when this event crosses the threshold, not for every event above it (a
		 * reader that is away would otherwise be woken by each one) */
		u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		flags = avail < c->wakeup_bytes && avail + size >= c->wakeup_bytes ? BPF_RB_FORCE_WAKEUP
										   : BPF_RB_NO_WAKEUP;
	}
	if (bpf_ringbuf_output(&events, data, size, flags) == 0) {
		count(h->type, 0);
	} else {
		count_drop(h->type, h->cgroup_id);
		/* nobody will hear of this hold: undo it (SIGCONT discards the pending SIGSTOP; the
		 * task has not stopped yet, it is still in the kernel) rather than leave it stopped */
		if (h->flags & F_HELD)
			bpf_send_signal(SIGCONT);
	}
}

static __always_inline struct scratch *take_scratch(u32 type)
{
	u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	if (__sync_fetch_and_add(&s->busy, 1) != 0) {
		__sync_fetch_and_add(&s->busy, -1);
		count_drop(type, bpf_get_current_cgroup_id());
		return 0;
	}
	return s;
}

static __always_inline void release_scratch(struct scratch *s)
{
	__sync_fetch_and_add(&s->busy, -1);
}

/*
 * The full path of (mnt, dentry), walked up dentries and across mounts to the root of the
 * task's mount namespace, as d_path does (without " (deleted)"). Written backwards into
 * walk[0..PATH_SZ), then copied to out (PATH_SZ bytes). Returns the length without the NUL.
 */
struct pathbuf {
	char b[PATH_SZ];
};

struct walkbuf {
	char b[WALK_SZ];
};

/*
 * A global function: the verifier checks it once, not at every call site (the walk is the
 * bulk of the program). Kernel pointers come as integers; buffers as sized structs.
 */
__noinline u32 walk_path(u64 vm_addr, u64 d_addr, struct walkbuf *wb, struct pathbuf *ob, u32 *flags)
{
	if (!wb || !ob || !flags)
		return 0;
	char *walk = wb->b;
	char *out = ob->b;
	struct vfsmount *vm = (struct vfsmount *)vm_addr;
	struct dentry *d = (struct dentry *)d_addr;
	u64 off = __builtin_preserve_field_info(((struct mount *)0)->mnt, 0);
	struct mount *m = (struct mount *)((char *)vm - off);
	/* the write position lives in memory, not a register: the verifier then sees the same
	 * state at every iteration and prunes, instead of tracking one range per iteration */
	volatile u32 *posp = (volatile u32 *)(walk + WALK_SZ - 8);
	*posp = PATH_SZ - 1;
	walk[PATH_SZ - 1] = 0;
	if (!vm || !d) {
		out[0] = 0;
		return 0;
	}
	/* d_parent and d_name (hash_len, name) are adjacent in every kernel's struct dentry: one
	 * read for the three when the relocated offsets say so */
	u64 off_parent = __builtin_preserve_field_info(((struct dentry *)0)->d_parent, 0);
	u64 off_name = __builtin_preserve_field_info(((struct dentry *)0)->d_name, 0);
	struct dentry *root = 0;
	CORE_READ_INTO(&root, vm->mnt_root);
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (d == root) {
			struct mount *mp = 0;
			CORE_READ_INTO(&mp, m->mnt_parent);
			if (!mp || mp == m)
				break;
			CORE_READ_INTO(&d, m->mnt_mountpoint);
			m = mp;
			vm = (struct vfsmount *)((char *)mp + off);
			CORE_READ_INTO(&root, vm->mnt_root);
			continue;
		}
		struct {
			struct dentry *parent;
			u64 hash_len;
			const unsigned char *name;
		} dn = {};
		if (off_name == off_parent + 8) {
			bpf_probe_read_kernel(&dn, sizeof(dn), (char *)d + off_parent);
		} else {
			CORE_READ_INTO(&dn.parent, d->d_parent);
			u32 l = 0;
			CORE_READ_INTO(&l, d->d_name.len);
			dn.hash_len = (u64)l << 32;
			CORE_READ_INTO(&dn.name, d->d_name.name);
		}
		struct dentry *parent = dn.parent;
		if (!parent)
			break;
		/* parent == d: a filesystem root reached without its mount (done above), or a
		 * pseudo file (memfd, pipe): its name is the path, as d_path's d_dname gives */
		u32 len = (u32)(dn.hash_len >> 32) & (NAME_SZ - 1);
		const unsigned char *name = dn.name;
		u32 pos = *posp & (PATH_SZ - 1);
		if (len + 1 > pos) {
			*flags |= F_TRUNCATED;
			break;
		}
		pos -= len;
		bpf_probe_read_kernel(&walk[pos & (PATH_SZ - 1)], len, name);
		pos -= 1;
		walk[pos & (PATH_SZ - 1)] = '/';
		*posp = pos;
		if (parent == d)
			break;
		d = parent;
	}
	u32 pos = *posp & (PATH_SZ - 1);
	if (pos == PATH_SZ - 1) {
		pos -= 1;
		walk[pos] = '/';
	}
	u32 n = PATH_SZ - pos; /* with the NUL */
	if (n > PATH_SZ)
		n = PATH_SZ;
	bpf_probe_read_kernel(out, n, &walk[pos & (PATH_SZ - 1)]);
	return n - 1;
}

static __always_inline u32 walk_struct_path(struct path *p, char *walk, char *out, u32 *flags)
{
	struct vfsmount *vm = 0;
	struct dentry *d = 0;
	CORE_READ_INTO(&vm, p->mnt);
	CORE_READ_INTO(&d, p->dentry);
	return walk_path((u64)vm, (u64)d, (struct walkbuf *)walk, (struct pathbuf *)out, flags);
}

static __always_inline struct file *fd_file(struct task_struct *t, s64 fd)
{
	struct files_struct *files = 0;
	struct fdtable *fdt = 0;
	struct file **fdarr = 0;
	struct file *f = 0;
	unsigned int max = 0;
	if (fd < 0)
		return 0;
	CORE_READ_INTO(&files, t->files);
	if (!files)
		return 0;
	CORE_READ_INTO(&fdt, files->fdt);
	if (!fdt)
		return 0;
	CORE_READ_INTO(&max, fdt->max_fds);
	if ((u64)fd >= max)
		return 0;
	CORE_READ_INTO(&fdarr, fdt->fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fdarr[fd]) != 0)
		return 0;
	return f;
}

/* ---------------------------------------------------------------- exec, fork, exit */

SEC("tp_btf/sched_process_exec")
int BPF_exec(u64 *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
	struct task_struct *t = bpf_get_current_task_btf();
	struct config *c = get_config();
	u32 mntns = 0;
	if (!c)
		return 0;

	/* the kill list applies whatever the filters say */
	char comm[16] = {};
	bpf_get_current_comm(comm, sizeof(comm));
	u32 *kill = bpf_map_lookup_elem(&kill_on_exec, comm);
	u32 killed = 0;
	if (kill && *kill && bpf_send_signal(SIGKILL) == 0)
		killed = 1;

	if (wanted(c, EV_EXEC, t, &mntns) != 0)
		return 0;
	struct scratch *s = take_scratch(EV_EXEC);
	if (!s)
		return 0;
	struct ev_exec *e = &s->exec;
	fill_hdr(&e->h, EV_EXEC, t, mntns);
	if (killed)
		e->h.flags |= F_KILLED;

	struct file *file = 0;
	CORE_READ_INTO(&file, bprm->file);
	e->path_len = 0;
	e->path[0] = 0;
	if (file)
		e->path_len = walk_struct_path(&file->f_path, s->walk, e->path, &e->h.flags);
	{
		struct fs_struct *fs = 0;
		CORE_READ_INTO(&fs, t->fs);
		e->cwd_len = 0;
		e->cwd[0] = 0;
		if (fs)
			e->cwd_len = walk_struct_path(&fs->pwd, s->walk, e->cwd, &e->h.flags);
	}

	/* the exec'd file */
	struct inode *inode = 0;
	struct super_block *sb = 0;
	e->exe_mode = 0;
	e->exe_ino = 0;
	e->exe_dev = 0;
	e->exe_flags = 0;
	if (file)
		CORE_READ_INTO(&inode, file->f_inode);
	if (inode) {
		u16 mode = 0;
		u32 nlink = 1;
		unsigned long magic = 0;
		CORE_READ_INTO(&mode, inode->i_mode);
		e->exe_mode = mode;
		CORE_READ_INTO(&e->exe_ino, inode->i_ino);
		CORE_READ_INTO(&nlink, inode->i_nlink);
		if (nlink == 0)
			e->exe_flags |= X_UNLINKED;
		CORE_READ_INTO(&sb, inode->i_sb);
		if (sb) {
			CORE_READ_INTO(&e->exe_dev, sb->s_dev);
			CORE_READ_INTO(&magic, sb->s_magic);
		}
		if (magic == 0x794c7630) { /* OVERLAYFS_SUPER_MAGIC */
			e->exe_flags |= X_OVERLAY;
			u64 off = __builtin_preserve_field_info(((struct ovl_inode *)0)->vfs_inode, 0);
			struct ovl_inode *oi = (struct ovl_inode *)((char *)inode - off);
			struct dentry *upper = 0;
			CORE_READ_INTO(&upper, oi->__upperdentry);
			if (upper)
				e->exe_flags |= X_UPPER;
		}
		/* memfd: the file's name is "memfd:<name>" */
		struct dentry *d = 0;
		const unsigned char *dname = 0;
		char pre[8] = {};
		CORE_READ_INTO(&d, file->f_path.dentry);
		if (d) {
			CORE_READ_INTO(&dname, d->d_name.name);
			bpf_probe_read_kernel(pre, 6, dname);
			if (pre[0] == 'm' && pre[1] == 'e' && pre[2] == 'm' && pre[3] == 'f' && pre[4] == 'd' &&
			    pre[5] == ':')
				e->exe_flags |= X_MEMFD;
		}
	}

	/* tty */
	e->tty_nr = 0;
	e->tty[0] = 0;
	{
		struct signal_struct *sig = 0;
		struct tty_struct *tty = 0;
		CORE_READ_INTO(&sig, t->signal);
		if (sig)
			CORE_READ_INTO(&tty, sig->tty);
		if (tty) {
			struct tty_driver *drv = 0;
			int major = 0, minor_start = 0, index = 0;
			CORE_READ_INTO(&index, tty->index);
			CORE_READ_INTO(&drv, tty->driver);
			if (drv) {
				CORE_READ_INTO(&major, drv->major);
				CORE_READ_INTO(&minor_start, drv->minor_start);
			}
			u32 minor = (u32)(minor_start + index);
			/* new_encode_dev, as /proc/<pid>/stat's tty_nr */
			e->tty_nr = (minor & 0xff) | ((u32)major << 8) | ((minor & ~0xffu) << 12);
			bpf_probe_read_kernel_str(e->tty, sizeof(e->tty), tty->name);
		}
	}

	/* pid namespace view: vpid, process group and session */
	e->vpid = 0;
	e->vpgid = 0;
	e->pgid = 0;
	e->sid = 0;
	e->pad = 0;
	{
		u64 nums = __builtin_preserve_field_info(((struct pid *)0)->numbers, 0);
		struct pid *tp = 0;
		unsigned int level = 0;
		CORE_READ_INTO(&tp, t->thread_pid);
		if (tp) {
			CORE_READ_INTO(&level, tp->level);
			level &= 31;
			bpf_probe_read_kernel(&e->vpid, 4, (char *)tp + nums + level * 16);
		}
		struct signal_struct *sig = 0;
		struct pid *pg = 0, *ss = 0;
		CORE_READ_INTO(&sig, t->signal);
		if (sig) {
			CORE_READ_INTO(&pg, sig->pids[2]);
			CORE_READ_INTO(&ss, sig->pids[3]);
		}
		if (pg) {
			unsigned int pl = 0;
			bpf_probe_read_kernel(&e->pgid, 4, (char *)pg + nums);
			CORE_READ_INTO(&pl, pg->level);
			if (pl >= level)
				bpf_probe_read_kernel(&e->vpgid, 4, (char *)pg + nums + level * 16);
		}
		if (ss)
			bpf_probe_read_kernel(&e->sid, 4, (char *)ss + nums);
	}

	/* argv: the new mm's arg area (written by the kernel during exec: present in memory) */
	struct mm_struct *mm = 0;
	unsigned long as = 0, ae = 0;
	int argc = 0;
	CORE_READ_INTO(&argc, bprm->argc);
	e->argc = argc;
	CORE_READ_INTO(&mm, t->mm);
	if (mm) {
		CORE_READ_INTO(&as, mm->arg_start);
		CORE_READ_INTO(&ae, mm->arg_end);
	}
	u64 n = ae > as ? ae - as : 0;
	if (n > ARGS_SZ) {
		n = ARGS_SZ;
		e->h.flags |= F_TRUNCATED;
	}
	e->args_len = 0;
	if (n > 0 && bpf_probe_read_user(e->args, n, (void *)as) == 0)
		e->args_len = n;
	/* the environment, the same way */
	unsigned long es = 0, ee = 0;
	if (mm) {
		CORE_READ_INTO(&es, mm->env_start);
		CORE_READ_INTO(&ee, mm->env_end);
	}
	u64 en = ee > es ? ee - es : 0;
	if (en > ARGS_SZ) {
		en = ARGS_SZ;
		e->h.flags |= F_TRUNCATED;
	}
	e->env_len = 0;
	if (en > 0 && bpf_probe_read_user(e->env, en, (void *)es) == 0)
		e->env_len = en;

	maybe_hold(c, &e->h);
	u64 size = __builtin_offsetof(struct ev_exec, args) + (e->args_len & (ARGS_SZ * 2 - 1));
	if (size > sizeof(*e))
		size = sizeof(*e);
	emit(c, e, size, &e->h);
	release_scratch(s);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_fork(u64 *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx[1];
	struct task_struct *t = bpf_get_current_task_btf();
	struct config *c = get_config();
	u32 mntns = 0;
	if (!c)
		return 0;
	struct ev_fork e = {};
	CORE_READ_INTO(&e.child_pid, child->pid);
	CORE_READ_INTO(&e.child_tgid, child->tgid);
	if (e.child_pid != e.child_tgid) /* a new thread, not a process */
		return 0;
	if (wanted(c, EV_FORK, t, &mntns) != 0)
		return 0;
	CORE_READ_INTO(&e.child_start_boottime, child->start_boottime);
	fill_hdr(&e.h, EV_FORK, t, mntns);
	emit(c, &e, sizeof(e), &e.h);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_exit(u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct config *c = get_config();
	u32 mntns = 0;
	if (!c)
		return 0;
	u64 pt = bpf_get_current_pid_tgid();
	if ((u32)pt != (u32)(pt >> 32)) /* only the thread-group leader */
		return 0;
	if (wanted(c, EV_EXIT, t, &mntns) != 0)
		return 0;
	struct ev_exit e = {};
	fill_hdr(&e.h, EV_EXIT, t, mntns);
	CORE_READ_INTO(&e.exit_code, t->exit_code);
	emit(c, &e, sizeof(e), &e.h);
	return 0;
}

/* ---------------------------------------------------------------- syscalls */

#define NR_open 2
#define NR_dup 32
#define NR_dup2 33
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_bind 49
#define NR_listen 50
#define NR_rename 82
#define NR_mkdir 83
#define NR_rmdir 84
#define NR_creat 85
#define NR_link 86
#define NR_unlink 87
#define NR_symlink 88
#define NR_chmod 90
#define NR_fchmod 91
#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_capset 126
#define NR_mount 165
#define NR_umount2 166
#define NR_init_module 175
#define NR_openat 257
#define NR_mkdirat 258
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_fchmodat 268
#define NR_unshare 272
#define NR_accept4 288
#define NR_dup3 292
#define NR_setns 308
#define NR_finit_module 313
#define NR_renameat2 316
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_userfaultfd 323
#define NR_openat2 437
#define NR_fchmodat2 452

static __always_inline u32 type_of_nr(long nr)
{
	switch (nr) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat: return EV_OPEN;
	case NR_unlink:
	case NR_unlinkat:
	case NR_rmdir: return EV_UNLINK;
	case NR_mkdir:
	case NR_mkdirat: return EV_MKDIR;
	case NR_rename:
	case NR_renameat:
	case NR_renameat2: return EV_RENAME;
	case NR_chmod:
	case NR_fchmod:
	case NR_fchmodat:
	case NR_fchmodat2: return EV_CHMOD;
	case NR_link:
	case NR_linkat: return EV_LINK;
	case NR_symlink:
	case NR_symlinkat: return EV_SYMLINK;
	case NR_connect: return EV_CONNECT;
	case NR_accept:
	case NR_accept4: return EV_ACCEPT;
	case NR_bind: return EV_BIND;
	case NR_listen: return EV_LISTEN;
	case NR_sendto:
	case NR_sendmsg: return EV_SEND;
	case NR_setuid:
	case NR_setreuid:
	case NR_setresuid: return EV_SETUID;
	case NR_setgid:
	case NR_setregid:
	case NR_setresgid: return EV_SETGID;
	case NR_capset: return EV_CAPSET;
	case NR_ptrace: return EV_PTRACE;
	case NR_mount: return EV_MOUNT;
	case NR_umount2: return EV_UMOUNT;
	case NR_init_module:
	case NR_finit_module: return EV_MODULE;
	case NR_bpf: return EV_BPF;
	case NR_unshare: return EV_UNSHARE;
	case NR_setns: return EV_SETNS;
	case NR_memfd_create: return EV_MEMFD;
	case NR_dup:
	case NR_dup2:
	case NR_dup3: return EV_DUP;
	case NR_socket: return EV_SOCKET;
	case NR_userfaultfd: return EV_USERFAULTFD;
	case NR_recvfrom:
	case NR_recvmsg: return EV_RECV;
	}
	return 0;
}

/*
 * A path argument resolved as the kernel did: an absolute user string as is; a relative one
 * after the directory (dirfd's file, or the cwd for AT_FDCWD), both walked in kernel memory.
 * The user string is read at sys_exit, after the kernel copied it (its page is present).
 * out has PATH2_SZ bytes. Returns the length.
 */
static __always_inline u32 resolve_at(struct task_struct *t, s64 dirfd, const char *upath, char *walk,
				      char *out, u32 *flags)
{
	char first = 0;
	bpf_probe_read_user(&first, 1, upath);
	u32 len = 0;
	if (first != '/') {
		if (dirfd == AT_FDCWD) {
			struct fs_struct *fs = 0;
			CORE_READ_INTO(&fs, t->fs);
			if (fs)
				len = walk_struct_path(&fs->pwd, walk, out, flags);
		} else {
			struct file *f = fd_file(t, dirfd);
			if (f)
				len = walk_struct_path(&f->f_path, walk, out, flags);
		}
		len &= PATH_SZ - 1;
		if (len == 0 || out[(len - 1) & (PATH_SZ - 1)] != '/') {
			out[len & (PATH_SZ - 1)] = '/';
			len += 1;
		}
		len &= PATH_SZ - 1;
		long n = bpf_probe_read_user_str(&out[len], NAME_SZ, upath);
		if (n <= 0) {
			*flags |= F_PATH_ERR;
			return len;
		}
		if (n == NAME_SZ)
			*flags |= F_TRUNCATED;
		return len + (u32)(n - 1);
	}
	long n = bpf_probe_read_user_str(out, PATH_SZ, upath);
	if (n <= 0) {
		out[0] = 0;
		*flags |= F_PATH_ERR;
		return 0;
	}
	if (n == PATH_SZ)
		*flags |= F_TRUNCATED;
	return (u32)(n - 1);
}

static __always_inline void inode_ids(struct ev_file *e, struct inode *inode)
{
	struct super_block *sb = 0;
	u16 mode = 0;
	if (!inode)
		return;
	CORE_READ_INTO(&mode, inode->i_mode);
	e->mode = mode;
	CORE_READ_INTO(&e->ino, inode->i_ino);
	CORE_READ_INTO(&sb, inode->i_sb);
	if (sb)
		CORE_READ_INTO(&e->dev, sb->s_dev);
}

/* an open's caller string, directory descriptor and flags, from its arguments */
static __always_inline u32 open_args(struct sysargs *p, const char **up, s64 *dirfd)
{
	u64 *a = p->args;
	u32 flags = 0;
	*dirfd = AT_FDCWD;
	*up = (const char *)a[0];
	if (p->nr == NR_open)
		flags = (u32)a[1];
	else if (p->nr == NR_creat)
		flags = 0x241; /* O_CREAT|O_WRONLY|O_TRUNC */
	else {
		*dirfd = (s64)(int)a[0];
		*up = (const char *)a[1];
		if (p->nr == NR_openat)
			flags = (u32)a[2];
		else
			bpf_probe_read_user(&flags, 4, (void *)a[2]); /* open_how.flags */
	}
	return flags;
}

/* ---------------------------------------------------------------- the open filter */

/* key->name = bytes [start, end) of the caller's string; 0 when it is not a usable name */
static __always_inline int key_from_raw(struct name_key *key, const char *raw, u32 start, u32 end)
{
	if (end <= start)
		return 0;
	u32 len = end - start;
	if (len > OPEN_NAME - 1)
		return 0;
	__builtin_memset(key->name, 0, OPEN_NAME);
	if (bpf_probe_read_kernel(key->name, len, raw + (start & (OPEN_RAW_SCAN - 1))) != 0)
		return 0;
	if (key->name[0] == '.' && (len == 1 || (len == 2 && key->name[1] == '.')))
		return 0;
	return 1;
}

/* key->name = a dentry's name; 0 when it is a mount's root (its name is not the path's) or
 * too long */
static __always_inline int key_from_dentry(struct name_key *key, struct dentry *d, struct dentry *root)
{
	if (!d || d == root)
		return 0;
	u32 len = 0;
	const unsigned char *name = 0;
	CORE_READ_INTO(&len, d->d_name.len);
	CORE_READ_INTO(&name, d->d_name.name);
	if (len == 0 || len > OPEN_NAME - 1)
		return 0;
	__builtin_memset(key->name, 0, OPEN_NAME);
	if (bpf_probe_read_kernel(key->name, len, name) != 0)
		return 0;
	return 1;
}

static __always_inline u32 name_mask(struct name_key *key, u32 which)
{
	key->which = which;
	u32 *m = bpf_map_lookup_elem(&open_names, key);
	return m ? *m : 0;
}

/* Whether the last component (f->base, base_len bytes) ends with clause k's suffix. */
__noinline int base_has_suffix(struct filt *f, struct open_clause *k, u32 base_len)
{
	if (!f || !k)
		return 1;
	u32 sl = k->suffix_len;
	if (sl > OPEN_SUFFIX - 1 || sl > base_len || base_len > OPEN_NAME - 1)
		return 0;
	u32 off = base_len - sl;
	for (u32 j = 0; j < OPEN_SUFFIX - 1; j++) {
		if (j >= sl)
			break;
		u32 at = off + j;
		if (at >= OPEN_NAME)
			return 0;
		/* an opaque index: clang must not fold the bound check into the pointer */
		asm volatile("" : "+r"(at));
		if (f->base.name[at & 63] != k->suffix[j & (OPEN_SUFFIX - 1)])
			return 0;
	}
	return 1;
}

/*
 * Whether the caller's string (f->raw, rlen bytes) contains clause k's substring (at most 8
 * bytes): one pass with the last 8 bytes in a word, no inner loop for the verifier to walk.
 */
__noinline int raw_has(struct filt *f, struct open_clause *k, u32 rlen)
{
	if (!f || !k)
		return 1;
	u32 nl = k->raw_len;
	if (nl == 0 || nl > 8)
		return 1;
	u64 want = 0;
	for (u32 j = 0; j < 8; j++) {
		if (j >= nl)
			break;
		want = (want << 8) | (u8)k->raw[j];
	}
	u64 mask = nl == 8 ? ~0ull : ((1ull << (nl * 8)) - 1);
	u64 w = 0;
	for (u32 i = 0; i < OPEN_RAW_SCAN; i++) {
		if (i >= rlen)
			break;
		w = (w << 8) | (u8)f->raw[i];
		if (i + 1 >= nl && (w & mask) == want)
			return 1;
	}
	return 0;
}

/*
 * The clauses an open's flags, result and place allow: their bits in f->cand, the tests they
 * still need in f->need. Returns 1 when one of them needs nothing more (the open is kept).
 */
__noinline int open_candidates(struct open_filter *of, struct filt *f, u32 flags, u32 res_place, u64 caps)
{
	if (!of || !f)
		return 1;
	u32 acc = flags & 3;
	u32 res = res_place & 3, place = (res_place >> 2) & 3;
	volatile u32 *candp = &f->cand, *needp = &f->need;
	*candp = 0;
	*needp = 0;
	u32 n = of->n;
	for (u32 i = 0; i < OPEN_CLAUSES; i++) {
		if (i >= n)
			break;
		struct open_clause *k = &of->c[i];
		if (!(k->access & (1u << acc)) || !(k->result & res) || !(k->place & place))
			continue;
		if ((flags & k->flags_all) != k->flags_all || (flags & k->flags_none))
			continue;
		if ((caps & k->caps_all) != k->caps_all)
			continue;
		if (!k->use)
			return 1;
		*candp |= 1u << i;
		*needp |= k->use;
	}
	return 0;
}

/* The last two '/' of the caller's string (rlen bytes): f->last, f->prev (OPEN_RAW_SCAN: none) */
__noinline int raw_slashes(struct filt *f, u32 rlen)
{
	if (!f)
		return 0;
	volatile u32 *lastp = &f->last, *prevp = &f->prev;
	*lastp = OPEN_RAW_SCAN;
	*prevp = OPEN_RAW_SCAN;
	for (u32 i = 0; i < OPEN_RAW_SCAN; i++) {
		if (i >= rlen)
			break;
		if (f->raw[i] == '/') {
			*prevp = *lastp;
			*lastp = i;
		}
	}
	return 0;
}

/*
 * Whether a candidate clause holds. known: bit 0 the last component is in f->base (base_len
 * bytes), bit 1 the one before is in f->parent; rlen: the caller's string's length (0: unknown).
 */
__noinline int open_decide(struct open_filter *of, struct filt *f, u32 known, u32 base_len, u32 rlen)
{
	if (!of || !f)
		return 1;
	u32 cand = f->cand, need = f->need;
	u32 base_known = known & 1, parent_known = known & 2;
	u32 base_mask = base_known && (need & USE_BASE) ? name_mask(&f->base, 0) : 0;
	u32 parent_mask = parent_known && (need & USE_PARENT) ? name_mask(&f->parent, 1) : 0;
	u32 n = of->n;
	for (u32 i = 0; i < OPEN_CLAUSES; i++) {
		if (i >= n)
			break;
		u32 bit = 1u << i;
		if (!(cand & bit))
			continue;
		struct open_clause *k = &of->c[i];
		if ((k->use & USE_BASE) && base_known && !(base_mask & bit))
			continue;
		if ((k->use & USE_PARENT) && parent_known && !(parent_mask & bit))
			continue;
		if ((k->use & USE_SUFFIX) && base_known && !base_has_suffix(f, k, base_len))
			continue;
		if ((k->use & USE_RAW) && rlen && !raw_has(f, k, rlen))
			continue;
		return 1;
	}
	return 0;
}

/* The directory (mnt, dentry) a relative name is looked up from: the cwd or dirfd's file. */
static __always_inline void lookup_dir(struct task_struct *t, s64 dirfd, struct vfsmount **vm, struct dentry **d)
{
	if (dirfd == AT_FDCWD) {
		struct fs_struct *fs = 0;
		CORE_READ_INTO(&fs, t->fs);
		if (fs) {
			CORE_READ_INTO(vm, fs->pwd.mnt);
			CORE_READ_INTO(d, fs->pwd.dentry);
		}
	} else {
		struct file *df = fd_file(t, dirfd);
		if (df) {
			CORE_READ_INTO(vm, df->f_path.mnt);
			CORE_READ_INTO(d, df->f_path.dentry);
		}
	}
}

/* Whether an open may match a rule (1) or can be dropped (0). Global: verified on its own. */
__noinline int open_kept(struct open_filter *of, struct filt *f, struct sysargs *p, long ret, u32 container)
{
	if (!of || !f || !p)
		return 1;
	struct task_struct *t = bpf_get_current_task_btf();
	const char *up = 0;
	s64 dirfd = AT_FDCWD;
	u32 flags = open_args(p, &up, &dirfd);
	u32 res_place = (ret >= 0 ? 1 : 2) | ((container ? 2 : 1) << 2);
	u64 caps = 0;
	const struct cred *cred = t->cred;
	if (cred)
		caps = *(const u64 *)&cred->cap_effective;
	if (open_candidates(of, f, flags, res_place, caps))
		return 1;
	u32 need = f->need;
	if (!f->cand)
		return 0;

	/* the caller's string (the kernel copied it: its page is present) */
	long rn = bpf_probe_read_user_str(f->raw, OPEN_RAW_SCAN, up);
	u32 rlen = rn > 1 && rn < OPEN_RAW_SCAN ? (u32)(rn - 1) : 0;
	u32 known = 0, base_len = 0;
	if (rlen && (need & (USE_BASE | USE_PARENT | USE_SUFFIX))) {
		if (f->raw[0] == '/' || ret < 0) {
			/* fd.name is the caller's string normalised: its last two components */
			raw_slashes(f, rlen);
			u32 last = f->last, prev = f->prev;
			if (last >= OPEN_RAW_SCAN) {
				/* one relative component (a failed open): its directory's name */
				if (key_from_raw(&f->base, f->raw, 0, rlen)) {
					known |= 1;
					base_len = rlen;
				}
				struct vfsmount *vm = 0;
				struct dentry *d = 0, *root = 0;
				lookup_dir(t, dirfd, &vm, &d);
				if (vm) {
					CORE_READ_INTO(&root, vm->mnt_root);
					if (key_from_dentry(&f->parent, d, root))
						known |= 2;
				}
			} else {
				if (key_from_raw(&f->base, f->raw, last + 1, rlen)) {
					known |= 1;
					base_len = rlen - (last + 1);
				}
				if (prev < OPEN_RAW_SCAN) {
					if (key_from_raw(&f->parent, f->raw, prev + 1, last))
						known |= 2;
				} else if (last == 0) {
					/* "/x": its directory is the root, a name no set holds */
					__builtin_memset(f->parent.name, 0, OPEN_NAME);
					f->parent.name[0] = '/';
					known |= 2;
				}
			}
		} else {
			/* a relative name that opened: fd.name is the kernel's path of the file */
			struct file *file = fd_file(t, ret);
			struct vfsmount *vm = 0;
			struct dentry *d = 0, *root = 0, *parent = 0;
			if (file) {
				CORE_READ_INTO(&vm, file->f_path.mnt);
				CORE_READ_INTO(&d, file->f_path.dentry);
			}
			if (vm && d) {
				CORE_READ_INTO(&root, vm->mnt_root);
				if (key_from_dentry(&f->base, d, root)) {
					known |= 1;
					CORE_READ_INTO(&base_len, d->d_name.len);
					CORE_READ_INTO(&parent, d->d_parent);
					if (key_from_dentry(&f->parent, parent, root))
						known |= 2;
				}
			}
		}
	}
	return open_decide(of, f, known, base_len, rlen);
}

/* Whether a symlink's target text (its first argument) is one the rules test. */
static __always_inline int symlink_kept(struct filt *f, struct sysargs *p)
{
	struct name_key *key = &f->base;
	__builtin_memset(key->name, 0, OPEN_NAME);
	long n = bpf_probe_read_user_str(key->name, OPEN_NAME, (const char *)p->args[0]);
	if (n <= 0)
		return 1;
	key->which = 2;
	return bpf_map_lookup_elem(&open_names, key) != 0;
}

static __always_inline void count_filtered(void)
{
	u32 zero = 0;
	u64 *v = bpf_map_lookup_elem(&filtered, &zero);
	if (v)
		*v += 1;
}

static __always_inline void file_event(struct scratch *s, struct task_struct *t, struct sysargs *p, long ret)
{
	struct ev_file *e = &s->file;
	u64 *a = p->args;
	u32 *fl = &e->h.flags;
	e->flags = 0;
	e->fmode = 0;
	e->ino = 0;
	e->dev = 0;
	e->path_len = 0;
	e->path2_len = 0;
	e->ret = (s32)ret;
	e->mode = 0;
	e->raw_len = 0;
	e->path[0] = 0;
	e->path2[0] = 0;
	switch (p->nr) {
	case NR_open:
	case NR_creat:
	case NR_openat:
	case NR_openat2: {
		s64 dirfd = AT_FDCWD;
		const char *up = 0;
		e->flags = open_args(p, &up, &dirfd);
		struct file *f = ret >= 0 ? fd_file(t, ret) : 0;
		if (f) {
			/* the opened file, in kernel memory; the flags stay the caller's (the kernel
			 * drops O_CREAT, O_TRUNC, O_EXCL from f_flags) */
			CORE_READ_INTO(&e->fmode, f->f_mode);
			struct inode *inode = 0;
			CORE_READ_INTO(&inode, f->f_inode);
			inode_ids(e, inode);
			e->path_len = walk_struct_path(&f->f_path, s->walk, e->path, fl);
		} else {
			e->path_len = resolve_at(t, dirfd, up, s->walk, e->path, fl);
		}
		/* and the path as the caller wrote it (Falco's fd.nameraw, and its fd.name once
		 * normalised: symlinks not followed), right after the resolved one; the kernel
		 * copied it, so its page is present */
		u32 off = e->path_len + 1;
		if (off > PATH2_SZ)
			off = PATH2_SZ;
		long n = bpf_probe_read_user_str(&e->path[off], PATH_SZ, up);
		e->raw_len = n > 0 ? (u32)(n - 1) : 0;
		break;
	}
	case NR_unlink:
	case NR_rmdir:
		e->flags = p->nr == NR_rmdir;
		e->path_len = resolve_at(t, AT_FDCWD, (const char *)a[0], s->walk, e->path, fl);
		break;
	case NR_unlinkat:
		e->flags = (a[2] & 0x200) ? 1 : 0; /* AT_REMOVEDIR */
		e->path_len = resolve_at(t, (s64)(int)a[0], (const char *)a[1], s->walk, e->path, fl);
		break;
	case NR_mkdir:
		e->flags = (u32)a[1];
		e->path_len = resolve_at(t, AT_FDCWD, (const char *)a[0], s->walk, e->path, fl);
		break;
	case NR_mkdirat:
		e->flags = (u32)a[2];
		e->path_len = resolve_at(t, (s64)(int)a[0], (const char *)a[1], s->walk, e->path, fl);
		break;
	case NR_chmod:
		e->flags = (u32)a[1];
		e->path_len = resolve_at(t, AT_FDCWD, (const char *)a[0], s->walk, e->path, fl);
		break;
	case NR_fchmodat:
	case NR_fchmodat2:
		e->flags = (u32)a[2];
		e->path_len = resolve_at(t, (s64)(int)a[0], (const char *)a[1], s->walk, e->path, fl);
		break;
	case NR_fchmod: {
		e->flags = (u32)a[1];
		struct file *f = fd_file(t, (s64)(int)a[0]);
		if (f) {
			struct inode *inode = 0;
			CORE_READ_INTO(&inode, f->f_inode);
			inode_ids(e, inode);
			e->path_len = walk_struct_path(&f->f_path, s->walk, e->path, fl);
		}
		break;
	}
	case NR_rename:
		/* path = the old name, path2 = the new one */
		e->path_len = resolve_at(t, AT_FDCWD, (const char *)a[0], s->walk, e->path, fl);
		e->path2_len = resolve_at(t, AT_FDCWD, (const char *)a[1], s->walk, e->path2, fl);
		break;
	case NR_renameat:
	case NR_renameat2:
		if (p->nr == NR_renameat2)
			e->flags = (u32)a[4];
		e->path_len = resolve_at(t, (s64)(int)a[0], (const char *)a[1], s->walk, e->path, fl);
		e->path2_len = resolve_at(t, (s64)(int)a[2], (const char *)a[3], s->walk, e->path2, fl);
		break;
	case NR_link:
		/* path = the new link, path2 = the existing file */
		e->path_len = resolve_at(t, AT_FDCWD, (const char *)a[1], s->walk, e->path, fl);
		e->path2_len = resolve_at(t, AT_FDCWD, (const char *)a[0], s->walk, e->path2, fl);
		break;
	case NR_linkat:
		e->flags = (u32)a[4];
		e->path_len = resolve_at(t, (s64)(int)a[2], (const char *)a[3], s->walk, e->path, fl);
		e->path2_len = resolve_at(t, (s64)(int)a[0], (const char *)a[1], s->walk, e->path2, fl);
		break;
	case NR_symlink:
	case NR_symlinkat: {
		/* path = the new link (resolved), path2 = the target text as given */
		s64 dirfd = p->nr == NR_symlink ? AT_FDCWD : (s64)(int)a[1];
		const char *lp = (const char *)(p->nr == NR_symlink ? a[1] : a[2]);
		e->path_len = resolve_at(t, dirfd, lp, s->walk, e->path, fl);
		long n = bpf_probe_read_user_str(e->path2, PATH_SZ, (const char *)a[0]);
		e->path2_len = n > 0 ? (u32)(n - 1) : 0;
		break;
	}
	}
}

static __always_inline void sock_info(struct ev_sys *e, struct sock *sk)
{
	u16 fam = 0;
	CORE_READ_INTO(&fam, sk->__sk_common.skc_family);
	e->family = fam;
	CORE_READ_INTO(&e->sock_type, sk->sk_type);
	CORE_READ_INTO(&e->protocol, sk->sk_protocol);
	u16 num = 0, dport = 0;
	CORE_READ_INTO(&num, sk->__sk_common.skc_num);
	CORE_READ_INTO(&dport, sk->__sk_common.skc_dport);
	e->lport = num;
	e->rport = (u16)((dport >> 8) | (dport << 8));
	if (fam == 2) {
		CORE_READ_INTO((u32 *)e->laddr, sk->__sk_common.skc_rcv_saddr);
		CORE_READ_INTO((u32 *)e->raddr, sk->__sk_common.skc_daddr);
	} else if (fam == 10) {
		CORE_READ_INTO((struct in6_addr *)e->laddr, sk->__sk_common.skc_v6_rcv_saddr);
		CORE_READ_INTO((struct in6_addr *)e->raddr, sk->__sk_common.skc_v6_daddr);
	}
}

static __always_inline struct sock *file_sock(struct file *f)
{
	struct inode *inode = 0;
	u16 mode = 0;
	if (!f)
		return 0;
	CORE_READ_INTO(&inode, f->f_inode);
	if (!inode)
		return 0;
	CORE_READ_INTO(&mode, inode->i_mode);
	if ((mode & 0170000) != 0140000) /* S_IFSOCK */
		return 0;
	struct socket *sock = 0;
	struct sock *sk = 0;
	CORE_READ_INTO(&sock, f->private_data);
	if (!sock)
		return 0;
	CORE_READ_INTO(&sk, sock->sk);
	return sk;
}

/* The address the caller passed (connect, bind, sendto; sendmsg's msg_name), read after the
 * kernel copied it. */
static __always_inline void user_sockaddr(struct ev_sys *e, const void *sa, u32 is_local)
{
	u16 fam = 0;
	if (!sa || bpf_probe_read_user(&fam, 2, sa) != 0)
		return;
	u16 port = 0;
	u8 *dst = is_local ? e->laddr : e->raddr;
	if (fam == 2 || fam == 10) {
		bpf_probe_read_user(&port, 2, (char *)sa + 2);
		port = (u16)((port >> 8) | (port << 8));
		if (fam == 2)
			bpf_probe_read_user(dst, 4, (char *)sa + 4);
		else
			bpf_probe_read_user(dst, 16, (char *)sa + 8);
		if (is_local)
			e->lport = port;
		else
			e->rport = port;
		if (e->family == 0)
			e->family = fam;
	} else if (fam == 1) {
		if (e->family == 0)
			e->family = 1;
		long n = bpf_probe_read_user_str(e->str, 108, (char *)sa + 2);
		if (n <= 1) { /* abstract: "@" and the name */
			e->str[0] = '@';
			n = bpf_probe_read_user_str(&e->str[1], 107, (char *)sa + 3);
			e->str_len = n > 0 ? (u32)n : 1;
		} else {
			e->str_len = (u32)(n - 1);
		}
	}
}

static __always_inline void sys_event(struct scratch *s, struct task_struct *t, struct sysargs *p, long ret)
{
	struct ev_sys *e = &s->sys;
	u64 *a = p->args;
	e->nr = p->nr;
	e->ret = ret;
	for (int i = 0; i < 6; i++)
		e->args[i] = a[i];
	e->family = 0;
	e->sock_type = 0;
	e->protocol = 0;
	e->lport = 0;
	e->rport = 0;
	e->pad0 = 0;
	e->pad1 = 0;
	e->str_len = 0;
	e->str[0] = 0;
	__builtin_memset(e->laddr, 0, 16);
	__builtin_memset(e->raddr, 0, 16);
	u32 type = p->type;

	/* the socket: accept's new descriptor, dup's old one, else the first argument */
	if ((type >= EV_CONNECT && type <= EV_SEND) || type == EV_DUP || type == EV_RECV) {
		s64 fd = (s64)(int)a[0];
		if (type == EV_ACCEPT)
			fd = ret;
		struct sock *sk = file_sock(fd_file(t, fd));
		if (sk)
			sock_info(e, sk);
	}
	/* socket(): the caller's domain, type (without SOCK_NONBLOCK/SOCK_CLOEXEC) and protocol;
	 * the new socket has no address yet */
	if (type == EV_SOCKET) {
		e->family = (u16)a[0];
		e->sock_type = (u16)(a[1] & 0xf);
		e->protocol = (u16)a[2];
	}
	if (type == EV_CONNECT)
		user_sockaddr(e, (const void *)a[1], 0);
	else if (type == EV_BIND)
		user_sockaddr(e, (const void *)a[1], 1);
	else if (p->nr == NR_sendto)
		user_sockaddr(e, (const void *)a[4], 0);
	else if (p->nr == NR_sendmsg || p->nr == NR_recvmsg) {
		void *name = 0;
		bpf_probe_read_user(&name, sizeof(name), (void *)a[1]); /* msghdr.msg_name */
		user_sockaddr(e, name, 0);
	} else if (p->nr == NR_recvfrom) {
		/* the sender (src_addr, filled by the kernel) and the first bytes received: enough
		 * for a magic number (Falco's evt.buffer bcontains cafebabe), bounded */
		user_sockaddr(e, (const void *)a[4], 0);
		u32 n = ret > RECV_BYTES ? RECV_BYTES : (u32)ret;
		if (ret > 0 && bpf_probe_read_user(e->str, n & (RECV_BYTES * 2 - 1), (void *)a[1]) == 0)
			e->str_len = n;
	}

	/* strings: the memfd name, the mount target */
	const char *ustr = 0;
	if (p->nr == NR_memfd_create || p->nr == NR_umount2)
		ustr = (const char *)a[0];
	else if (p->nr == NR_mount)
		ustr = (const char *)a[1];
	if (ustr) {
		long n = bpf_probe_read_user_str(e->str, NAME_SZ, ustr);
		e->str_len = n > 0 ? (u32)(n - 1) : 0;
	}
}

SEC("tp_btf/sys_exit")
int BPF_sys_exit(u64 *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx[0];
	long ret = (long)ctx[1];
	/* regs is the tracepoint's BTF argument: direct loads, no helper call on this path that
	 * every syscall of the machine takes */
	long nr = (long)regs->orig_ax;
	u32 type = type_of_nr(nr);
	if (!type)
		return 0;
	struct config *c = get_config();
	struct task_struct *t = bpf_get_current_task_btf();
	u32 mntns = 0;
	if (!c)
		return 0;
	if (wanted(c, type, t, &mntns) != 0)
		return 0;
	/* receives are reported only when they got data on a UDP (or other non-TCP) IP socket:
	 * TCP reads are a server's hot path, and no rule asks for them */
	if (type == EV_RECV) {
		if (ret <= 0)
			return 0;
		struct sock *sk = file_sock(fd_file(t, (s64)(int)regs->di));
		if (!sk)
			return 0;
		u16 fam = 0, proto = 0;
		CORE_READ_INTO(&fam, sk->__sk_common.skc_family);
		CORE_READ_INTO(&proto, sk->sk_protocol);
		if ((fam != 2 && fam != 10) || proto == 6)
			return 0;
	}
	struct sysargs p = {};
	p.nr = (u32)nr;
	p.type = type;
	p.args[0] = regs->di;
	p.args[1] = regs->si;
	p.args[2] = regs->dx;
	p.args[3] = regs->r10;
	p.args[4] = regs->r8;
	p.args[5] = regs->r9;
	struct scratch *s = take_scratch(type);
	if (!s)
		return 0;
	if (type == EV_OPEN || type == EV_SYMLINK) {
		u32 zero = 0;
		struct open_filter *of = bpf_map_lookup_elem(&open_filter, &zero);
		int drop = 0;
		if (of && type == EV_OPEN && (of->on & FILTER_OPENS))
			drop = !open_kept(of, &s->filt, &p, ret, mntns != (u32)c->host_mntns);
		else if (of && type == EV_SYMLINK && (of->on & FILTER_SYMLINKS))
			drop = !symlink_kept(&s->filt, &p);
		if (drop) {
			count_filtered();
			release_scratch(s);
			return 0;
		}
	}
	if (type >= EV_OPEN && type <= EV_SYMLINK) {
		struct ev_file *e = &s->file;
		fill_hdr(&e->h, type, t, mntns);
		file_event(s, t, &p, ret);
		maybe_hold(c, &e->h);
		u64 size;
		u64 l1 = e->path_len, l2 = e->path2_len;
		if (l1 > PATH2_SZ - 1)
			l1 = PATH2_SZ - 1;
		if (l2 > PATH2_SZ - 1)
			l2 = PATH2_SZ - 1;
		/* rename, link and symlink always carry the second path */
		if (type == EV_RENAME || type == EV_LINK || type == EV_SYMLINK)
			size = __builtin_offsetof(struct ev_file, path2) + l2 + 1;
		else if (type == EV_OPEN)
			size = __builtin_offsetof(struct ev_file, path) + l1 + 1 + (e->raw_len & (PATH_SZ - 1)) + 1;
		else
			size = __builtin_offsetof(struct ev_file, path) + l1 + 1;
		if (size > sizeof(*e))
			size = sizeof(*e);
		emit(c, e, size, &e->h);
	} else {
		struct ev_sys *e = &s->sys;
		fill_hdr(&e->h, type, t, mntns);
		sys_event(s, t, &p, ret);
		maybe_hold(c, &e->h);
		u64 size = __builtin_offsetof(struct ev_sys, str) + (e->str_len & (NAME_SZ - 1)) + 1;
		emit(c, e, size, &e->h);
	}
	release_scratch(s);
	return 0;
}
