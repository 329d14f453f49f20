/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wire format between the BPF programs and user space (src/sensor/event.rs parses it by
 * these offsets; change both together). Little-endian, naturally aligned, no implicit padding.
 */
#ifndef RAMPART_SENSOR_H
#define RAMPART_SENSOR_H

/* event types: bit N of the enabled/held masks is type N */
enum ev_type {
	EV_EXEC = 1,
	EV_FORK = 2,
	EV_EXIT = 3,
	EV_OPEN = 4,
	EV_UNLINK = 5,
	EV_MKDIR = 6,
	EV_RENAME = 7,
	EV_CHMOD = 8,
	EV_LINK = 9,
	EV_SYMLINK = 10,
	EV_CONNECT = 11,
	EV_ACCEPT = 12,
	EV_BIND = 13,
	EV_LISTEN = 14,
	EV_SEND = 15,
	EV_SETUID = 16,
	EV_SETGID = 17,
	EV_CAPSET = 18,
	EV_PTRACE = 19,
	EV_MOUNT = 20,
	EV_UMOUNT = 21,
	EV_MODULE = 22,
	EV_BPF = 23,
	EV_UNSHARE = 24,
	EV_SETNS = 25,
	EV_MEMFD = 26,
	EV_DUP = 27,
	EV_SOCKET = 28,
	EV_USERFAULTFD = 29,
	EV_RECV = 30,
	EV_MAX = 31,
};

/* header flags */
#define F_HELD 1u      /* SIGSTOP sent: the task stops before it runs user code again */
#define F_KILLED 2u    /* SIGKILL sent in the kernel (kill list) */
#define F_TRUNCATED 4u /* a string or path was cut at its bound */
#define F_PATH_ERR 8u  /* the kernel could not resolve a path (d_path error) */

/* exe flags */
#define X_MEMFD 1u
#define X_OVERLAY 2u
#define X_UPPER 4u
#define X_UNLINKED 8u

struct hdr {
	u32 type;
	u32 flags;
	u64 ts_boot_ns;
	u32 pid;
	u32 tgid;
	u32 ppid;
	u32 uid;
	u32 gid;
	u32 euid;
	u32 loginuid;
	u32 mntns;
	u64 cgroup_id;
	u64 cap_effective;
	u64 cap_permitted;
	u64 start_boottime;
	char comm[16];
}; /* 96 */

#define PATH_SZ 4096
#define ARGS_SZ 4096
#define NAME_SZ 256
#define PATH2_SZ (PATH_SZ + NAME_SZ)

struct ev_exec {
	struct hdr h;
	u32 argc;
	u32 args_len;
	u32 path_len;
	u32 cwd_len;
	u32 tty_nr;
	u32 exe_mode;
	u64 exe_ino;
	u32 exe_dev;
	u32 exe_flags;
	u32 vpid;  /* the pid in the task's own pid namespace (1: a container's init) */
	u32 vpgid; /* the process group, in that namespace */
	u32 pgid;  /* the process group, host pid */
	u32 sid;   /* the session, host pid */
	u32 env_len;
	u32 pad;
	char tty[32];
	char path[PATH_SZ];
	char cwd[PATH_SZ];
	char env[ARGS_SZ];
	char args[ARGS_SZ];
}; /* tty at 160, path 192, cwd 4288, env 8384, args 12480 */

struct ev_fork {
	struct hdr h;
	u32 child_pid;
	u32 child_tgid;
	u64 child_start_boottime;
}; /* 112 */

struct ev_exit {
	struct hdr h;
	s32 exit_code;
	u32 pad;
}; /* 104 */

struct ev_file {
	struct hdr h;
	u32 flags; /* open: O_* flags; mkdir/chmod: mode; rename/link: flags; unlink: 1 if rmdir */
	u32 fmode; /* open: f_mode (FMODE_CREATED = 0x100000) */
	u64 ino;
	u32 dev;
	u32 path_len;
	u32 path2_len;
	s32 ret; /* the syscall's result (open: the descriptor or -errno) */
	u32 mode; /* the inode's mode (type and permissions) when the kernel had the inode */
	u32 raw_len; /* open: the path as the caller wrote it, at path[path_len + 1] */
	char path[PATH2_SZ];
	char path2[PATH2_SZ];
}; /* path at 136, path2 at 4488 */

struct ev_sys {
	struct hdr h;
	u32 nr;
	u32 str_len;
	s64 ret;
	u64 args[6];
	u16 family;
	u16 sock_type;
	u16 protocol;
	u16 lport;
	u16 rport;
	u16 pad0;
	u8 laddr[16];
	u8 raddr[16];
	u32 pad1;
	char str[NAME_SZ]; /* recv: the first bytes received (RECV_BYTES at most) */
}; /* str at 208 */

#define RECV_BYTES 16

/* config array value (index 0) */
#define CFG_WANT_HOST 1ull
#define CFG_HOLD_LISTED 2ull /* hold only tasks of the cgroups in hold_cgroups */
struct config {
	u64 enabled; /* bit per ev_type */
	u64 held;    /* bit per ev_type: SIGSTOP the task (container tasks only) */
	u64 flags;   /* CFG_* */
	u64 self_tgid;
	u64 host_mntns;
	u64 wakeup_bytes; /* wake the reader once this much is pending (0: every event) */
	u64 spare[2];
};

/*
 * The open filter (open_filter array value, index 0): the opens the rules can match, as a
 * disjunction of clauses over facts the kernel has before it walks the path (rampart-falco's
 * prefilter module computes them; an open no clause keeps is counted in `filtered`, not sent).
 * A fact the kernel cannot establish (a name that is a mount's root, a name too long) satisfies
 * every test on it: the filter only ever drops opens it can prove no rule matches.
 */
#define OPEN_CLAUSES 16
#define OPEN_NAME 60	  /* a name in a key: at most 59 bytes */
#define OPEN_SUFFIX 32	  /* a suffix: at most 31 bytes */
#define OPEN_RAW 16	  /* a substring of the caller's string: at most 8 bytes */
#define OPEN_RAW_SCAN 256 /* the caller's string is read this far (longer: unknown) */
#define USE_BASE 1	  /* the last component is in the clause's set (open_names, which 0) */
#define USE_PARENT 2	  /* the component before it is in the set (open_names, which 1) */
#define USE_SUFFIX 4	  /* the last component ends with suffix */
#define USE_RAW 8	  /* the caller's string contains raw */
struct open_clause {
	u32 flags_all;	/* O_* flags that must all be set */
	u32 flags_none; /* O_* flags that must all be clear */
	u64 caps_all;	/* effective capabilities the caller must all have */
	u8 access;	/* bit n: flags & O_ACCMODE == n may match */
	u8 result;	/* 1: a successful open may match, 2: a failed one */
	u8 place;	/* 1: a host process, 2: a container's */
	u8 use;		/* USE_* */
	u8 suffix_len;
	u8 raw_len;
	u8 pad[2];
	char suffix[OPEN_SUFFIX];
	char raw[OPEN_RAW];
}; /* 72 */

#define FILTER_OPENS 1	  /* on: opens are filtered by the clauses */
#define FILTER_SYMLINKS 2 /* on: symlinks are sent only when their target is in open_names (which 2) */
struct open_filter {
	u32 on; /* FILTER_*; 0: every open and symlink is sent */
	u32 n;	/* clauses in use */
	struct open_clause c[OPEN_CLAUSES];
}; /* 1160 */

/* open_names key: value = bit per clause whose set holds the name (which 2: non-zero) */
struct name_key {
	u32 which; /* 0: last component, 1: the one before, 2: a symlink target */
	char name[OPEN_NAME];
}; /* 64 */

#endif
