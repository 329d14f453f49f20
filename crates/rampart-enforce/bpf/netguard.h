/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the connection guard (netguard.bpf.c) and its loader (src/net.rs) share: the rule and
 * event layouts, map sizes and counter indices. Every change here is mirrored in src/net.rs
 * (its layout test reads the object's BTF).
 */
#ifndef RAMPART_NETGUARD_H
#define RAMPART_NETGUARD_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

/* the largest policies the maps hold: the loader refuses bigger ones */
#define MAX_EGRESS 128
#define MAX_LISTEN 64
#define EVENTS_BYTES (256 * 1024)

#define MODE_AUDIT 0
#define MODE_ENFORCE 1

#define PROTO_TCP 6
#define PROTO_UDP 17

#define FAMILY_INET 2
#define FAMILY_INET6 10

/* One allowed destination (egress) or local port (listen). addr is in network byte order, IPv4
 * in addr[0]; ports are host byte order, inclusive. */
struct rule {
	u8 family;
	u8 proto;
	u8 prefix;
	u8 _pad;
	u16 port_lo;
	u16 port_hi;
	u32 addr[4];
};

struct config {
	u32 mode;
	u32 n_egress;
	u32 n_listen;
	u32 _pad;
};

/* which hook saw the call */
#define HOOK_CONNECT4 1
#define HOOK_CONNECT6 2
#define HOOK_SENDMSG4 3
#define HOOK_SENDMSG6 4
#define HOOK_BIND4 5
#define HOOK_BIND6 6

#define VERDICT_DENIED 1
#define VERDICT_WOULD_DENY 2

/* one denial (enforce) or would-be denial (audit) */
struct event {
	u64 cgroup_id;
	u32 pid;
	u32 tid;
	u8 hook;
	u8 verdict;
	u8 family;
	u8 proto;
	u16 port;
	u16 _pad;
	u32 addr[4];
	char comm[16];
};

/* per-CPU counters, indexed by these */
enum {
	CNT_CONNECT_ALLOWED,
	CNT_CONNECT_DENIED,
	CNT_CONNECT_WOULD_DENY,
	CNT_BIND_ALLOWED,
	CNT_BIND_DENIED,
	CNT_BIND_WOULD_DENY,
	CNT_EVENTS_LOST,
	CNT_MAX,
};

#endif
