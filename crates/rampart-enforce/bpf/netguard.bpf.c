// SPDX-License-Identifier: GPL-2.0
/*
 * The connection guard: cgroup sock_addr programs attached to a container's cgroup (v2). Each
 * connect(2), unconnected sendmsg(2) and bind(2) of an IPv4 or IPv6 socket in the cgroup is
 * checked against the policy's rules (maps filled by src/net.rs). In enforce mode a call that no
 * rule allows gets EPERM (the program returns 0); in audit mode it goes through. Either way the
 * call is counted and, when not allowed, reported on the ring buffer.
 *
 * User space owns the policy; the kernel only matches and copies. Self-contained: the UAPI
 * declarations it needs are below (include/uapi/linux/bpf.h), no libbpf headers.
 */
#include "netguard.h"

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

enum {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* include/uapi/linux/bpf.h: what sock_addr programs see */
struct bpf_sock_addr {
	u32 user_family;
	u32 user_ip4;
	u32 user_ip6[4];
	u32 user_port;
	u32 family;
	u32 type;
	u32 protocol;
	u32 msg_src_ip4;
	u32 msg_src_ip6[4];
	unsigned long long sk; /* __bpf_md_ptr(struct bpf_sock *, sk) */
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, u32 size) = (void *)16;
static u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)130;

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_EGRESS);
	__type(key, u32);
	__type(value, struct rule);
} egress SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_LISTEN);
	__type(key, u32);
	__type(value, struct rule);
} listen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_BYTES);
} events SEC(".maps");

static __always_inline void count(u32 idx)
{
	u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline u16 ntohs16(u32 port_be)
{
	u16 p = (u16)port_be;
	return (u16)((p >> 8) | (p << 8));
}

/* does `prefix` leading bits of a (network order words) equal b's? */
static __always_inline int prefix_match(const u32 *a, const u32 *b, u32 prefix, u32 words)
{
	for (u32 i = 0; i < 4; i++) {
		if (i >= words || prefix == 0)
			return 1;
		u32 bits = prefix >= 32 ? 32 : prefix;
		/* the mask in host order is the top `bits` bits; the words are big-endian */
		u32 mask_host = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		u32 mask = __builtin_bswap32(mask_host);
		if ((a[i] & mask) != (b[i] & mask))
			return 0;
		prefix -= bits;
	}
	return 1;
}

/* is (family, addr, port, proto) allowed by an egress rule? */
static __always_inline int egress_allowed(u32 n, u8 family, const u32 *addr, u16 port, u8 proto)
{
	for (u32 i = 0; i < MAX_EGRESS; i++) {
		if (i >= n)
			break;
		u32 k = i;
		struct rule *r = bpf_map_lookup_elem(&egress, &k);
		if (!r)
			break;
		if (r->family != family || r->proto != proto)
			continue;
		if (port < r->port_lo || port > r->port_hi)
			continue;
		if (prefix_match(r->addr, addr, r->prefix, family == FAMILY_INET ? 1 : 4))
			return 1;
	}
	return 0;
}

static __always_inline int listen_allowed(u32 n, u16 port, u8 proto)
{
	for (u32 i = 0; i < MAX_LISTEN; i++) {
		if (i >= n)
			break;
		u32 k = i;
		struct rule *r = bpf_map_lookup_elem(&listen, &k);
		if (!r)
			break;
		if (r->proto == proto && port >= r->port_lo && port <= r->port_hi)
			return 1;
	}
	return 0;
}

static __always_inline void report(u8 hook, u8 verdict, u8 family, u8 proto, u16 port, const u32 *addr)
{
	struct event e = {};
	u64 id = bpf_get_current_pid_tgid();
	e.cgroup_id = bpf_get_current_cgroup_id();
	e.pid = id >> 32;
	e.tid = (u32)id;
	e.hook = hook;
	e.verdict = verdict;
	e.family = family;
	e.proto = proto;
	e.port = port;
	e.addr[0] = addr[0];
	e.addr[1] = addr[1];
	e.addr[2] = addr[2];
	e.addr[3] = addr[3];
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (bpf_ringbuf_output(&events, &e, sizeof(e), 0))
		count(CNT_EVENTS_LOST);
}

/* the verdict of an outgoing call: 1 lets it through, 0 fails it with EPERM */
static __always_inline int check_egress(struct bpf_sock_addr *ctx, u8 hook, int v6)
{
	u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 1;
	u8 proto = (u8)ctx->protocol;
	u16 port = ntohs16(ctx->user_port);
	u32 addr[4] = {};
	u8 family = FAMILY_INET;
	if (v6) {
		addr[0] = ctx->user_ip6[0];
		addr[1] = ctx->user_ip6[1];
		addr[2] = ctx->user_ip6[2];
		addr[3] = ctx->user_ip6[3];
		family = FAMILY_INET6;
		/* ::ffff:a.b.c.d reaches an IPv4 destination: judged by the IPv4 rules */
		if (addr[0] == 0 && addr[1] == 0 && addr[2] == __builtin_bswap32(0xffff)) {
			addr[0] = addr[3];
			addr[3] = 0;
			addr[2] = 0;
			family = FAMILY_INET;
		}
	} else {
		addr[0] = ctx->user_ip4;
	}
	if (egress_allowed(cfg->n_egress, family, addr, port, proto)) {
		count(CNT_CONNECT_ALLOWED);
		return 1;
	}
	if (cfg->mode == MODE_ENFORCE) {
		count(CNT_CONNECT_DENIED);
		report(hook, VERDICT_DENIED, family, proto, port, addr);
		return 0;
	}
	count(CNT_CONNECT_WOULD_DENY);
	report(hook, VERDICT_WOULD_DENY, family, proto, port, addr);
	return 1;
}

static __always_inline int check_bind(struct bpf_sock_addr *ctx, u8 hook, int v6)
{
	u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return 1;
	u8 proto = (u8)ctx->protocol;
	u16 port = ntohs16(ctx->user_port);
	/* port 0: the kernel picks an ephemeral port (a client's explicit bind) */
	if (port == 0 || listen_allowed(cfg->n_listen, port, proto)) {
		count(CNT_BIND_ALLOWED);
		return 1;
	}
	u32 addr[4] = {};
	u8 family = FAMILY_INET;
	if (v6) {
		addr[0] = ctx->user_ip6[0];
		addr[1] = ctx->user_ip6[1];
		addr[2] = ctx->user_ip6[2];
		addr[3] = ctx->user_ip6[3];
		family = FAMILY_INET6;
	} else {
		addr[0] = ctx->user_ip4;
	}
	if (cfg->mode == MODE_ENFORCE) {
		count(CNT_BIND_DENIED);
		report(hook, VERDICT_DENIED, family, proto, port, addr);
		return 0;
	}
	count(CNT_BIND_WOULD_DENY);
	report(hook, VERDICT_WOULD_DENY, family, proto, port, addr);
	return 1;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return check_egress(ctx, HOOK_CONNECT4, 0);
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return check_egress(ctx, HOOK_CONNECT6, 1);
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return check_egress(ctx, HOOK_SENDMSG4, 0);
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return check_egress(ctx, HOOK_SENDMSG6, 1);
}

SEC("cgroup/bind4")
int bind4(struct bpf_sock_addr *ctx)
{
	return check_bind(ctx, HOOK_BIND4, 0);
}

SEC("cgroup/bind6")
int bind6(struct bpf_sock_addr *ctx)
{
	return check_bind(ctx, HOOK_BIND6, 1);
}
