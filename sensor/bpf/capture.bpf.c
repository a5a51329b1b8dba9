// SPDX-License-Identifier: GPL-2.0
/*
 * Understory sensor capture: socket traffic, connection life cycle and process events.
 *
 * Hooks are syscall tracepoints (kprobes and fentry are not available on the kernels we target), sched
 * tracepoints for processes, and uprobes on OpenSSL's SSL_read/SSL_write for TLS plaintext. Events go to
 * one ring buffer written with BPF_RB_NO_WAKEUP; user space is woken only when the backlog passes
 * `wake_bytes` and otherwise polls on a short timer, so a busy application never pays for a wake-up per
 * event. When the ring is full the event is dropped and counted: the application is never slowed down.
 *
 * Connections: a (pid, fd) -> tuple cache filled at connect/accept (role known) or at the first data
 * event on a socket opened before we started (role unknown). Addresses are kept from then on because a
 * closing TCP socket may already report local port 0. Non-socket fds are cached too (negative entries)
 * so file and pipe I/O costs one lookup; close/dup2/dup3 invalidate entries, and each entry carries the
 * process start time so a recycled pid never inherits a stale entry.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "capture.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

#define CONN_NOT_SOCKET 0
#define CONN_SOCKET 1

struct conn_key {
  __u32 pid;
  __s32 fd;
};

struct conn_info {
  struct capture_tuple t;
  __u64 owner_start; /* start time of the owning process: guards against pid reuse */
  __u8 kind;         /* CONN_SOCKET or CONN_NOT_SOCKET */
  __u8 last_dir;     /* direction of the previous data event (message start detection) */
  __u8 is_tls;       /* plaintext comes from uprobes: skip the ciphertext */
  __u8 reserved[5];
  __u64 ssl; /* the SSL object seen on this socket: its ssl_fds entry goes when the socket closes */
};

/* Arguments of a data syscall in flight, saved at enter for the exit hook. */
struct sys_args {
  __u64 buf;  /* buffer, iovec array or user_msghdr */
  __u64 addr; /* sockaddr (recvfrom/sendto) */
  __s32 fd;
  __u32 count; /* iovcnt */
  __u8 sys;
  __u8 reserved[7];
};

/* An SSL_read/SSL_write call in flight on a thread. */
struct tls_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr; /* _ex variants: where the byte count is written */
  __u64 start_ns;
  __s32 fd;      /* set by a socket syscall made inside the call */
  __u8 is_write;
  __u8 reserved[3];
};

struct ssl_key {
  __u32 pid;
  __u32 reserved;
  __u64 ssl;
};

/* A TLS write whose socket is not known yet: sent when the thread next writes to a socket. */
struct pending_tls {
  __u64 ssl;
  struct capture_data_event ev;
  __u8 data[CAPTURE_MAX_DATA];
};

/* Per-CPU scratch space for building a data event (too big for the 512-byte BPF stack). */
struct scratch {
  struct capture_data_event ev;
  __u8 data[CAPTURE_MAX_DATA * 2]; /* twice the cap so the verifier can prove offset + length fit */
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 * 1024 * 1024); /* user space resizes before load */
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, CAPTURE_STAT__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct capture_config);
} capture_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u8);
} pid_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u8);
} cgroup_filter SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct conn_key);
  __type(value, struct conn_info);
} conns SEC(".maps");

/* Everything a thread has in flight, in ONE map entry: each hash operation costs 100-300 ns in a hook,
 * so the syscall arguments, the SSL call and the last socket read share a value updated in place. */
struct thread_state {
  struct sys_args sys;
  struct tls_call tls;
  __u64 proc_start;   /* start time of the thread's process, read once (pid-reuse guard for conns) */
  __s32 last_read_fd; /* last socket this thread read (-1: none) */
  __u8 sys_active;
  __u8 tls_active;
  __u8 has_pending; /* a TLS write waits in pending_writes */
  __u8 reserved;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 32768);
  __type(key, __u64);
  __type(value, struct thread_state);
} threads SEC(".maps");

/* Local TCP ports something listens on or accepted from: tells the role of connections we learn late,
 * e.g. in a forked PostgreSQL backend that inherited the accepted socket. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 8192);
  __type(key, __u16);
  __type(value, __u8);
} server_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct ssl_key);
  __type(value, __s32);
} ssl_fds SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, struct pending_tls);
} pending_writes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_buf SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pending_tls);
} pending_scratch SEC(".maps");

/* Clamps a length to CAPTURE_MAX_DATA in a way clang cannot fold away, so the verifier sees the bound. */
#define CLAMP_TO_MAX_DATA(n) asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(n) : "i"(CAPTURE_MAX_DATA))

static __always_inline void count(__u32 idx, __u64 n) {
  __u64 *v = bpf_map_lookup_elem(&stats, &idx);
  if (v) *v += n;
}

static __always_inline struct capture_config *get_config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&capture_cfg, &zero);
}

/* This thread's state; created (zeroed) when `create` and absent. */
static __always_inline struct thread_state *get_thread(__u64 id, bool create) {
  struct thread_state *ts = bpf_map_lookup_elem(&threads, &id);
  if (ts || !create) return ts;
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct thread_state fresh = {.last_read_fd = -1, .proc_start = BPF_CORE_READ(task, group_leader, start_time)};
  bpf_map_update_elem(&threads, &id, &fresh, BPF_NOEXIST);
  return bpf_map_lookup_elem(&threads, &id);
}

/* Is this process one we capture? Explicit exclusion wins; include-only modes need a mark. */
static __always_inline bool traced(__u32 pid, struct capture_config *cfg) {
  __u8 *mark = bpf_map_lookup_elem(&pid_filter, &pid);
  if (mark && (*mark == CAPTURE_FILTER_EXCLUDE || *mark == CAPTURE_FILTER_CHILDREN)) return false;
  if (cfg->pid_include_only && !(mark && *mark == CAPTURE_FILTER_INCLUDE)) return false;
  if (!cfg->cgroup_filters) return true; /* spare the lookup when no cgroup filter is set */
  __u64 cg = bpf_get_current_cgroup_id();
  __u8 *cmark = bpf_map_lookup_elem(&cgroup_filter, &cg);
  if (cfg->cgroup_include_only) return cmark && *cmark == CAPTURE_FILTER_INCLUDE;
  return !(cmark && *cmark == CAPTURE_FILTER_EXCLUDE);
}

/* Ring buffer write that never blocks: full ring -> counted drop. Wakes user space on backlog only. */
static __always_inline void emit(void *data, __u64 size, __u64 payload, struct capture_config *cfg) {
  __u64 flags = BPF_RB_NO_WAKEUP;
  /* Wake only when this record makes the backlog cross the threshold, not for every record above it. */
  __u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  if (avail < cfg->wake_bytes && avail + size >= cfg->wake_bytes) {
    flags = BPF_RB_FORCE_WAKEUP;
    count(CAPTURE_STAT_WAKEUPS, 1);
  }
  if (bpf_ringbuf_output(&events, data, size, flags) == 0) {
    count(CAPTURE_STAT_EVENTS, 1);
  } else {
    count(CAPTURE_STAT_DROPS, 1);
    count(CAPTURE_STAT_DROPPED_BYTES, payload);
  }
}

static __always_inline void fill_header(struct capture_header *h, __u8 kind, __s32 fd) {
  __u64 id = bpf_get_current_pid_tgid();
  h->ts_ns = bpf_ktime_get_ns();
  h->pid = id >> 32;
  h->tid = (__u32)id;
  h->fd = fd;
  h->kind = kind;
  h->flags = 0;
  h->reserved = 0;
}

static __always_inline __u64 process_start(void) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  return BPF_CORE_READ(task, group_leader, start_time);
}

/* fd -> struct sock, or NULL when the fd is not a socket. The walk is the expensive part of a hook. */
static __always_inline struct sock *sock_of_fd(__s32 fd) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt || fd < 0 || (__u32)fd >= BPF_CORE_READ(fdt, max_fds)) return NULL;
  struct file **files = BPF_CORE_READ(fdt, fd);
  struct file *file = NULL;
  bpf_probe_read_kernel(&file, sizeof(file), &files[fd]);
  if (!file) return NULL;
  umode_t mode = BPF_CORE_READ(file, f_inode, i_mode);
  if ((mode & S_IFMT) != S_IFSOCK) return NULL;
  struct socket *sock = BPF_CORE_READ(file, private_data);
  return BPF_CORE_READ(sock, sk);
}

/* Reads family, protocol and both endpoints. Returns false for sockets we do not capture (AF_UNIX, raw). */
static __always_inline bool read_tuple(struct sock *sk, struct capture_tuple *t) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_INET && family != AF_INET6) return false;
  __u16 proto = BPF_CORE_READ(sk, sk_protocol);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return false;
  t->family = family;
  t->protocol = (__u8)proto;
  t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
  t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  /* Explicit sizes: BPF_CORE_READ_INTO on an array would copy sizeof(element) = 1 byte. */
  if (family == AF_INET) {
    bpf_core_read(t->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
    bpf_core_read(t->raddr, 4, &sk->__sk_common.skc_daddr);
  } else {
    bpf_core_read(t->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
    bpf_core_read(t->raddr, 16, &sk->__sk_common.skc_v6_daddr);
  }
  return true;
}

static __always_inline bool same_addr(const __u8 *a, const __u8 *b) {
  const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
  return x[0] == y[0] && x[1] == y[1];
}

/* The cached connection for (pid, fd), learning it from the fd table on a miss. NULL for non-sockets. */
static __always_inline struct conn_info *lookup_conn(__u32 pid, __s32 fd, __u8 role, __u64 start) {
  struct conn_key key = {.pid = pid, .fd = fd};
  struct conn_info *c = bpf_map_lookup_elem(&conns, &key);
  if (c && c->owner_start == start) {
    if (c->kind != CONN_SOCKET) return NULL;
    if (role != CAPTURE_ROLE_UNKNOWN) c->t.role = role;
    return c;
  }
  struct conn_info fresh = {};
  fresh.owner_start = start;
  fresh.kind = CONN_NOT_SOCKET;
  struct sock *sk = sock_of_fd(fd);
  if (sk && read_tuple(sk, &fresh.t)) {
    fresh.kind = CONN_SOCKET;
    fresh.t.role = role;
    if (role == CAPTURE_ROLE_UNKNOWN && fresh.t.protocol == IPPROTO_TCP) {
      if (bpf_map_lookup_elem(&server_ports, &fresh.t.lport))
        fresh.t.role = CAPTURE_ROLE_SERVER;
      else if (bpf_map_lookup_elem(&server_ports, &fresh.t.rport))
        fresh.t.role = CAPTURE_ROLE_CLIENT;
    }
  }
  bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY);
  if (fresh.kind != CONN_SOCKET) return NULL;
  return bpf_map_lookup_elem(&conns, &key);
}

/* UDP without connect(): the peer is in the call's sockaddr, not in the socket. */
static __always_inline void peer_from_sockaddr(__u64 addr, struct capture_tuple *t) {
  if (!addr) return;
  __u16 family = 0;
  if (bpf_probe_read_user(&family, sizeof(family), (void *)addr)) return;
  __u16 port = 0;
  bpf_probe_read_user(&port, sizeof(port), (void *)(addr + 2));
  if (family == AF_INET) {
    __builtin_memset(t->raddr, 0, sizeof(t->raddr));
    bpf_probe_read_user(t->raddr, 4, (void *)(addr + 4));
  } else if (family == AF_INET6) {
    bpf_probe_read_user(t->raddr, 16, (void *)(addr + 8));
  } else {
    return;
  }
  t->rport = bpf_ntohs(port);
}

static __always_inline __u32 cap_for(struct conn_info *c, __u8 dir, struct capture_config *cfg, __u8 *flags) {
  __u32 cap = cfg->data_cap;
  if (c->last_dir != dir || c->t.protocol == IPPROTO_UDP) {
    *flags |= CAPTURE_FLAG_MSG_START;
    cap = cfg->msg_start_cap;
  }
  c->last_dir = dir;
  if (cap > CAPTURE_MAX_DATA) cap = CAPTURE_MAX_DATA;
  return cap;
}

/* Copies up to `cap` bytes from a user buffer into the scratch data area. */
static __always_inline __u32 copy_buf(struct scratch *s, __u64 buf, __u64 len, __u32 cap) {
  __u64 n = len < cap ? len : cap;
  CLAMP_TO_MAX_DATA(n);
  if (n == 0) return 0;
  if (bpf_probe_read_user(s->data, n, (void *)buf)) return 0;
  return (__u32)n;
}

/* Copies up to `cap` bytes gathered from an iovec array (readv/writev/recvmsg/sendmsg). The array is
 * read with one probe read (each user-memory read costs ~100 ns in a hook). */
static __always_inline __u32 copy_iov(struct scratch *s, __u64 iov, __u32 iovcnt, __u64 len, __u32 cap) {
  struct iovec vecs[CAPTURE_MAX_IOV] = {};
  __u64 nvec = iovcnt < CAPTURE_MAX_IOV ? iovcnt : CAPTURE_MAX_IOV;
  asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(nvec) : "i"(CAPTURE_MAX_IOV));
  if (nvec == 0 || bpf_probe_read_user(vecs, nvec * sizeof(struct iovec), (void *)iov)) return 0;
  __u32 off = 0;
  __u64 left = len < cap ? len : cap;
#pragma unroll
  for (int i = 0; i < CAPTURE_MAX_IOV; i++) {
    if (i >= nvec || left == 0 || off >= CAPTURE_MAX_DATA) break;
    __u64 n = vecs[i].iov_len < left ? vecs[i].iov_len : left;
    if (n == 0) continue;
    /* clang drops masks it considers redundant; the verifier needs them to bound offset + length. */
    __u64 at = off;
    asm volatile("%0 &= %1" : "+r"(at) : "i"(CAPTURE_MAX_DATA - 1));
    CLAMP_TO_MAX_DATA(n);
    if (bpf_probe_read_user(&s->data[at], n, vecs[i].iov_base)) break;
    off += n;
    left -= n;
  }
  return off > CAPTURE_MAX_DATA ? CAPTURE_MAX_DATA : off;
}

static __always_inline struct scratch *get_scratch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&scratch_buf, &zero);
}

static __always_inline void emit_data(struct scratch *s, __u32 cap_len, struct capture_config *cfg) {
  __u64 n = cap_len;
  CLAMP_TO_MAX_DATA(n);
  s->ev.cap_len = n;
  if (n < s->ev.len) {
    s->ev.h.flags |= CAPTURE_FLAG_TRUNCATED;
    count(CAPTURE_STAT_TRUNCATED, 1);
  }
  emit(s, sizeof(struct capture_data_event) + n, n, cfg);
}

/* A socket write on a thread with a TLS write waiting for its socket: attribute and send it first. */
static __always_inline void flush_pending_tls(__u64 id, __u32 pid, __s32 fd, struct conn_info *c,
                                              struct capture_config *cfg, struct thread_state *ts) {
  ts->has_pending = 0;
  struct pending_tls *p = bpf_map_lookup_elem(&pending_writes, &id);
  if (!p) return;
  p->ev.h.fd = fd;
  p->ev.t = c->t;
  c->is_tls = 1;
  c->ssl = p->ssl;
  struct ssl_key sk = {.pid = pid, .ssl = p->ssl};
  bpf_map_update_elem(&ssl_fds, &sk, &fd, BPF_ANY);
  __u64 n = p->ev.cap_len;
  CLAMP_TO_MAX_DATA(n);
  emit(&p->ev, sizeof(struct capture_data_event) + n, n, cfg);
  bpf_map_delete_elem(&pending_writes, &id);
}

static __always_inline int data_enter(__u8 sys, __s32 fd, __u64 buf, __u64 count_or_addr, __u64 addr) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (!traced(id >> 32, cfg)) return 0;
  struct thread_state *ts = get_thread(id, true);
  if (!ts) return 0;
  ts->sys.buf = buf;
  ts->sys.addr = addr;
  ts->sys.fd = fd;
  ts->sys.count = (__u32)count_or_addr;
  ts->sys.sys = sys;
  ts->sys_active = 1;
  return 0;
}

static __always_inline int data_exit(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct thread_state *ts = get_thread(id, false);
  if (!ts || !ts->sys_active) return 0;
  ts->sys_active = 0;
  struct sys_args args = ts->sys;
  if (ret <= 0) return 0;
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u32 pid = id >> 32;
  struct conn_info *c = lookup_conn(pid, args.fd, CAPTURE_ROLE_UNKNOWN, ts->proc_start);
  if (!c) return 0;
  __u8 dir = (args.sys % 2 == 0) ? CAPTURE_DIR_EGRESS : CAPTURE_DIR_INGRESS;

  /* Ciphertext under an SSL call in flight: remember the socket, skip the bytes (plaintext follows). */
  if (ts->tls_active) {
    ts->tls.fd = args.fd;
    c->is_tls = 1;
    c->ssl = ts->tls.ssl;
    count(CAPTURE_STAT_TLS_CIPHERTEXT, 1);
    return 0;
  }
  if (dir == CAPTURE_DIR_EGRESS && ts->has_pending) flush_pending_tls(id, pid, args.fd, c, cfg, ts);
  if (c->is_tls) {
    count(CAPTURE_STAT_TLS_CIPHERTEXT, 1);
    return 0;
  }
  if (dir == CAPTURE_DIR_INGRESS) ts->last_read_fd = args.fd;

  struct scratch *s = get_scratch();
  if (!s) return 0;
  fill_header(&s->ev.h, CAPTURE_KIND_DATA, args.fd);
  s->ev.t = c->t;
  s->ev.len = (__u32)ret;
  s->ev.direction = dir;
  s->ev.syscall = args.sys;
  __u32 cap = cap_for(c, dir, cfg, &s->ev.h.flags);
  __u32 got = 0;
  if (args.sys == CAPTURE_SYS_READV || args.sys == CAPTURE_SYS_WRITEV) {
    got = copy_iov(s, args.buf, args.count, ret, cap);
  } else if (args.sys == CAPTURE_SYS_RECVMSG || args.sys == CAPTURE_SYS_SENDMSG) {
    struct user_msghdr msg = {};
    if (bpf_probe_read_user(&msg, sizeof(msg), (void *)args.buf) == 0) {
      got = copy_iov(s, (__u64)msg.msg_iov, (__u32)msg.msg_iovlen, ret, cap);
      if (c->t.protocol == IPPROTO_UDP) peer_from_sockaddr((__u64)msg.msg_name, &s->ev.t);
    }
  } else {
    got = copy_buf(s, args.buf, ret, cap);
    if (c->t.protocol == IPPROTO_UDP) peer_from_sockaddr(args.addr, &s->ev.t);
  }
  emit_data(s, got, cfg);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int enter_read(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_READ, ctx->args[0], ctx->args[1], 0, 0);
}
SEC("tracepoint/syscalls/sys_exit_read")
int exit_read(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_write")
int enter_write(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_WRITE, ctx->args[0], ctx->args[1], 0, 0);
}
SEC("tracepoint/syscalls/sys_exit_write")
int exit_write(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_readv")
int enter_readv(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_READV, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}
SEC("tracepoint/syscalls/sys_exit_readv")
int exit_readv(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_writev")
int enter_writev(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_WRITEV, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}
SEC("tracepoint/syscalls/sys_exit_writev")
int exit_writev(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_RECVFROM, ctx->args[0], ctx->args[1], 0, ctx->args[4]);
}
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_SENDTO, ctx->args[0], ctx->args[1], 0, ctx->args[4]);
}
SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_RECVMSG, ctx->args[0], ctx->args[1], 0, 0);
}
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct trace_event_raw_sys_enter *ctx) {
  return data_enter(CAPTURE_SYS_SENDMSG, ctx->args[0], ctx->args[1], 0, 0);
}
SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return data_exit(ctx->ret); }

/* ---- connection life cycle ---- */

/* connect/accept save the fd (connect) or nothing (accept: the fd is the return value) at enter. */
static __always_inline int conn_enter(__u8 sys, __s32 fd) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (!traced(id >> 32, cfg)) return 0;
  struct thread_state *ts = get_thread(id, true);
  if (!ts) return 0;
  ts->sys.fd = fd;
  ts->sys.sys = sys;
  ts->sys_active = 1;
  return 0;
}

static __always_inline int conn_exit(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct thread_state *ts = get_thread(id, false);
  if (!ts || !ts->sys_active) return 0;
  ts->sys_active = 0;
  __u8 kind = ts->sys.sys;
  __s32 fd = kind == CAPTURE_KIND_CONNECT ? ts->sys.fd : (__s32)ret;
  if (kind == CAPTURE_KIND_CONNECT && ret != 0 && ret != -EINPROGRESS) return 0;
  if (kind == CAPTURE_KIND_ACCEPT && ret < 0) return 0;
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u32 pid = id >> 32;
  struct conn_key key = {.pid = pid, .fd = fd};
  struct conn_info *old = bpf_map_lookup_elem(&conns, &key);
  if (kind == CAPTURE_KIND_CONNECT && old && old->kind == CONN_SOCKET && old->t.role == CAPTURE_ROLE_CLIENT &&
      old->owner_start == ts->proc_start) {
    /* A second connect() on a connected socket (hiredis checks completion this way): same peer, no news. */
    struct capture_tuple now = {};
    struct sock *sk = sock_of_fd(fd);
    if (sk && read_tuple(sk, &now) && now.rport == old->t.rport && same_addr(now.raddr, old->t.raddr)) return 0;
  }
  /* Otherwise a connect/accept starts a new connection on this fd: forget what was cached. */
  bpf_map_delete_elem(&conns, &key);
  struct conn_info *c =
      lookup_conn(pid, fd, kind == CAPTURE_KIND_CONNECT ? CAPTURE_ROLE_CLIENT : CAPTURE_ROLE_SERVER, ts->proc_start);
  if (!c) return 0;
  if (kind == CAPTURE_KIND_ACCEPT && c->t.protocol == IPPROTO_TCP) {
    __u8 one = 1;
    bpf_map_update_elem(&server_ports, &c->t.lport, &one, BPF_ANY);
  }
  struct capture_conn_event ev = {};
  fill_header(&ev.h, kind, fd);
  ev.t = c->t;
  ev.ret = ret;
  emit(&ev, sizeof(ev), 0, cfg);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx) { return conn_enter(CAPTURE_KIND_CONNECT, ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx) { return conn_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx) { return conn_enter(CAPTURE_KIND_ACCEPT, ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx) { return conn_exit(ctx->ret); }

SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx) { return conn_enter(CAPTURE_KIND_ACCEPT, ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx) { return conn_exit(ctx->ret); }

/* listen: remember the port, so connections learnt later (forked workers) get the server role. */
SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (!traced(id >> 32, cfg)) return 0;
  struct capture_tuple t = {};
  struct sock *sk = sock_of_fd((__s32)ctx->args[0]);
  if (sk && read_tuple(sk, &t) && t.protocol == IPPROTO_TCP && t.lport != 0) {
    __u8 one = 1;
    bpf_map_update_elem(&server_ports, &t.lport, &one, BPF_ANY);
  }
  return 0;
}

/* close: report sockets with the tuple kept since connect/accept, then forget the fd. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  struct conn_key key = {.pid = id >> 32, .fd = (__s32)ctx->args[0]};
  struct conn_info *c = bpf_map_lookup_elem(&conns, &key);
  if (!c) return 0;
  struct capture_config *cfg = get_config();
  if (cfg && c->kind == CONN_SOCKET && c->owner_start == process_start() && traced(key.pid, cfg)) {
    struct capture_conn_event ev = {};
    fill_header(&ev.h, CAPTURE_KIND_CLOSE, key.fd);
    ev.t = c->t;
    emit(&ev, sizeof(ev), 0, cfg);
  }
  /* OpenSSL may hand this SSL object's memory to the next connection: forget the old pairing. */
  if (c->ssl) {
    struct ssl_key sk = {.pid = key.pid, .ssl = c->ssl};
    bpf_map_delete_elem(&ssl_fds, &sk);
  }
  bpf_map_delete_elem(&conns, &key);
  return 0;
}

/* dup2/dup3 replace newfd silently: drop whatever we cached for it. */
static __always_inline int forget_fd(__s32 fd) {
  struct conn_key key = {.pid = bpf_get_current_pid_tgid() >> 32, .fd = fd};
  bpf_map_delete_elem(&conns, &key);
  return 0;
}
SEC("tracepoint/syscalls/sys_enter_dup2")
int enter_dup2(struct trace_event_raw_sys_enter *ctx) { return forget_fd(ctx->args[1]); }
SEC("tracepoint/syscalls/sys_enter_dup3")
int enter_dup3(struct trace_event_raw_sys_enter *ctx) { return forget_fd(ctx->args[1]); }

/* ---- processes ---- */

static __always_inline void emit_proc(__u8 kind, __u32 ppid, __u32 child, __s32 code) {
  struct capture_config *cfg = get_config();
  if (!cfg) return;
  struct capture_proc_event ev = {};
  fill_header(&ev.h, kind, -1);
  ev.ppid = ppid;
  ev.child_pid = child;
  ev.exit_code = code;
  bpf_get_current_comm(ev.comm, sizeof(ev.comm));
  emit(&ev, sizeof(ev), 0, cfg);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx) {
  emit_proc(CAPTURE_KIND_EXEC, 0, 0, 0);
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  bpf_map_delete_elem(&threads, &id);
  if ((__u32)id != (id >> 32)) return 0; /* a thread, not the process */
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  emit_proc(CAPTURE_KIND_EXIT, 0, 0, BPF_CORE_READ(task, exit_code));
  __u32 pid = id >> 32;
  bpf_map_delete_elem(&pid_filter, &pid);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 child_pid = child->pid;
  if (child_pid != child->tgid) return 0; /* a new thread, not a new process */
  __u32 parent_pid = parent->tgid;
  /* Include marks follow children (capture "this service and what it spawns"); exclusions do not. */
  __u8 *mark = bpf_map_lookup_elem(&pid_filter, &parent_pid);
  if (mark && (*mark == CAPTURE_FILTER_INCLUDE || *mark == CAPTURE_FILTER_CHILDREN)) {
    __u8 inc = CAPTURE_FILTER_INCLUDE;
    bpf_map_update_elem(&pid_filter, &child_pid, &inc, BPF_ANY);
  }
  emit_proc(CAPTURE_KIND_FORK, parent_pid, child_pid, 0);
  return 0;
}

/* ---- TLS: OpenSSL SSL_read/SSL_write(_ex), attached per binary by user space ---- */

static __always_inline int tls_enter(void *ssl, void *buf, void *len_ptr, __u8 is_write) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (!traced(id >> 32, cfg)) return 0;
  struct thread_state *ts = get_thread(id, true);
  if (!ts) return 0;
  ts->tls.ssl = (__u64)ssl;
  ts->tls.buf = (__u64)buf;
  ts->tls.len_ptr = (__u64)len_ptr;
  ts->tls.start_ns = bpf_ktime_get_ns();
  ts->tls.fd = -1;
  ts->tls.is_write = is_write;
  ts->tls_active = 1;
  return 0;
}

/* Finds the socket of an SSL call: nested syscall, then what we learnt about this SSL, then (reads only)
 * the last socket this thread read, which is where Node's libuv put the ciphertext just before. */
static __always_inline __s32 tls_fd(__u64 id, struct tls_call *call, __s32 last_read) {
  struct ssl_key key = {.pid = id >> 32, .ssl = call->ssl};
  if (call->fd >= 0) {
    bpf_map_update_elem(&ssl_fds, &key, &call->fd, BPF_ANY);
    return call->fd;
  }
  __s32 *known = bpf_map_lookup_elem(&ssl_fds, &key);
  if (known) return *known;
  if (!call->is_write) {
    if (last_read >= 0) {
      bpf_map_update_elem(&ssl_fds, &key, &last_read, BPF_ANY);
      return last_read;
    }
  }
  return -1;
}

static __always_inline int tls_exit(long ret) {
  __u64 id = bpf_get_current_pid_tgid();
  struct thread_state *ts = get_thread(id, false);
  if (!ts || !ts->tls_active) return 0;
  ts->tls_active = 0;
  struct tls_call call = ts->tls;
  if (call.len_ptr) {
    /* SSL_read_ex/SSL_write_ex return 1 on success and write the byte count to *len_ptr. */
    __u64 n = 0;
    if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)call.len_ptr)) return 0;
    ret = (long)n;
  }
  if (ret <= 0) return 0;
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u32 pid = id >> 32;
  __s32 fd = tls_fd(id, &call, ts->last_read_fd);
  __u8 dir = call.is_write ? CAPTURE_DIR_EGRESS : CAPTURE_DIR_INGRESS;
  struct conn_info *c = fd >= 0 ? lookup_conn(pid, fd, CAPTURE_ROLE_UNKNOWN, ts->proc_start) : NULL;

  struct scratch *s = get_scratch();
  if (!s) return 0;
  fill_header(&s->ev.h, CAPTURE_KIND_DATA, c ? fd : -1);
  s->ev.h.ts_ns = call.start_ns;
  s->ev.h.flags = CAPTURE_FLAG_TLS;
  s->ev.len = (__u32)ret;
  s->ev.direction = dir;
  s->ev.syscall = call.is_write ? CAPTURE_SYS_SSL_WRITE : CAPTURE_SYS_SSL_READ;
  __u32 cap = cfg->msg_start_cap;
  if (c) {
    c->is_tls = 1;
    c->ssl = call.ssl;
    s->ev.t = c->t;
    cap = cap_for(c, dir, cfg, &s->ev.h.flags);
  } else {
    __builtin_memset(&s->ev.t, 0, sizeof(s->ev.t));
    if (cap > CAPTURE_MAX_DATA) cap = CAPTURE_MAX_DATA;
  }
  __u32 got = copy_buf(s, call.buf, ret, cap);
  if (c) {
    emit_data(s, got, cfg);
    return 0;
  }
  /* No socket yet. A write: hold it until this thread next writes to a socket (Node writes the
   * ciphertext from libuv after SSL_write returns). Anything else, or a second write: unattributed. */
  struct pending_tls *old = ts->has_pending ? bpf_map_lookup_elem(&pending_writes, &id) : NULL;
  ts->has_pending = 0;
  if (old) {
    old->ev.h.flags |= CAPTURE_FLAG_UNATTRIBUTED;
    count(CAPTURE_STAT_TLS_UNATTRIBUTED, 1);
    __u64 n = old->ev.cap_len;
    CLAMP_TO_MAX_DATA(n);
    emit(&old->ev, sizeof(struct capture_data_event) + n, n, cfg);
    bpf_map_delete_elem(&pending_writes, &id);
  }
  if (call.is_write) {
    __u32 zero = 0;
    struct pending_tls *pend = bpf_map_lookup_elem(&pending_scratch, &zero);
    if (!pend) return 0;
    pend->ssl = call.ssl;
    __u64 n = got;
    CLAMP_TO_MAX_DATA(n);
    pend->ev = s->ev;
    pend->ev.cap_len = n;
    if (n < pend->ev.len) pend->ev.h.flags |= CAPTURE_FLAG_TRUNCATED;
    bpf_probe_read_kernel(pend->data, n, s->data);
    if (bpf_map_update_elem(&pending_writes, &id, pend, BPF_ANY) == 0) ts->has_pending = 1;
    return 0;
  }
  s->ev.h.flags |= CAPTURE_FLAG_UNATTRIBUTED;
  count(CAPTURE_STAT_TLS_UNATTRIBUTED, 1);
  emit_data(s, got, cfg);
  return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, void *buf) { return tls_enter(ssl, buf, NULL, 1); }
SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret) { return tls_exit(ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf) { return tls_enter(ssl, buf, NULL, 0); }
SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret) { return tls_exit(ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, void *buf, __u64 num, void *written) {
  return tls_enter(ssl, buf, written, 1);
}
SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret) { return tls_exit(ret); }
SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, __u64 num, void *readbytes) {
  return tls_enter(ssl, buf, readbytes, 0);
}
SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret) { return tls_exit(ret); }
