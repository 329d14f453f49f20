/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel types the sensor reads, written by hand: only the fields used, every record
 * marked preserve_access_index so clang emits CO-RE relocations and the loader (aya) moves each
 * access to the running kernel's offset from /sys/kernel/btf/vmlinux. Field order and sizes here
 * do not have to match the kernel; names and kinds do. Anonymous unions of the kernel are
 * flattened (the loader finds a named field through the kernel's anonymous members).
 */
#ifndef RAMPART_VMLINUX_MIN_H
#define RAMPART_VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef _Bool bool;
#define true 1
#define false 0

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct qstr {
	u32 len;
	const unsigned char *name;
};

struct super_block {
	u32 s_dev;
	unsigned long s_magic;
};

struct inode {
	u16 i_mode;
	unsigned int i_nlink;
	unsigned long i_ino;
	struct super_block *i_sb;
};

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
	struct inode *d_inode;
};

struct vfsmount {
	struct dentry *mnt_root;
};

/* fs/mount.h: the mount around a vfsmount (container_of by the CO-RE offset of `mnt`) */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	unsigned long env_start;
	unsigned long env_end;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	unsigned int f_mode;
	void *private_data;
};

struct linux_binprm {
	struct file *file;
	int argc;
	const char *filename;
};

struct fs_struct {
	struct path pwd;
};

typedef struct {
	u32 val;
} kuid_t;

typedef struct {
	u32 val;
} kgid_t;

/* u64 since 6.3, u32[2] before: 8 bytes either way, read whole */
typedef struct {
	u64 val;
} kernel_cap_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t euid;
	kernel_cap_t cap_permitted;
	kernel_cap_t cap_effective;
};

struct ns_common {
	unsigned int inum;
};

struct mnt_namespace {
	struct ns_common ns;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
};

struct tty_driver {
	int major;
	int minor_start;
};

struct tty_struct {
	struct tty_driver *driver;
	int index;
	char name[64];
};

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct signal_struct {
	struct tty_struct *tty;
	struct pid *pids[4]; /* PIDTYPE_PID, TGID, PGID, SID */
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	const struct cred *cred;
	struct nsproxy *nsproxy;
	struct fs_struct *fs;
	struct files_struct *files;
	struct signal_struct *signal;
	struct mm_struct *mm;
	struct pid *thread_pid;
	kuid_t loginuid;
	u64 start_boottime;
	char comm[16];
};

/* x86_64 register names: the sensor's syscall hooks are built for x86_64 only. */
struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
	unsigned long r8;
	unsigned long r9;
	unsigned long orig_ax;
};

struct in6_addr {
	u8 in6_u[16];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	u16 skc_num;
	unsigned short skc_family;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
	u16 sk_type;
	u16 sk_protocol;
};

struct socket {
	short type;
	struct sock *sk;
};

struct sockaddr {
	unsigned short sa_family;
	char sa_data[14];
};

struct msghdr {
	void *msg_name;
	int msg_namelen;
};

/* fs/overlayfs/ovl_entry.h (overlayfs is built in: the type is in vmlinux's BTF) */
struct ovl_inode {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
};

#pragma clang attribute pop

#endif
