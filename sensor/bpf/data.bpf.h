/*
 * Socket data: read, write, readv, writev, recvfrom, sendto, recvmsg, sendmsg, recvmmsg, sendmmsg,
 * sendfile, splice. One hook per call, at syscall exit: it knows how many bytes moved, and the
 * arguments are still in the registers saved at entry. Calls that moved nothing (EAGAIN reads of an
 * event loop) stop at the first instruction. Direction: even syscall numbers write, odd ones read
 * (sendfile writes; splice goes either way).
 */
#pragma once

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

static __always_inline struct scratch *get_scratch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&scratch_buf, &zero);
}

/* Copies up to `cap` bytes from a user buffer into the scratch data area. */
static __always_inline __u32 copy_buf(struct scratch *s, __u64 buf, __u64 len, __u32 cap) {
  __u64 n = len < cap ? len : cap;
  CLAMP_TO_MAX_DATA(n);
  if (n == 0) return 0;
  if (bpf_probe_read_user(s->data, n, (void *)buf)) return 0;
  return (__u32)n;
}

/* Does the copied first buffer `data[0, n)` hold a whole text protocol head (HTTP/1.x: a start line
 * beginning with an upper-case token such as "HTTP/1.1" or "POST", ending with an empty line)? Then the
 * buffers after it are the payload, which gets the continuation cap like the rest of the message. */
static __always_inline bool is_text_head(struct scratch *s, __u32 n) {
  if (n < 8 || n > CAPTURE_MAX_DATA) return false;
  __u8 a = s->data[0], b = s->data[1], c = s->data[2], d = s->data[3];
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || c < 'A' || c > 'Z' || (d != ' ' && (d < 'A' || d > 'Z')))
    return false;
  __u64 end = n - 4;
  asm volatile("%0 &= %1" : "+r"(end) : "i"(CAPTURE_MAX_DATA - 1));
  __u32 tail;
  __builtin_memcpy(&tail, &s->data[end], 4);
  return tail == 0x0a0d0a0d; /* "\r\n\r\n" read as a little-endian u32 */
}

/* Copies up to `cap` bytes gathered from an iovec array (readv/writev/recvmsg/sendmsg). The array is
 * read with one probe read (each user-memory read costs ~100-170 ns in a hook on these VMs). At a message
 * start (`cap` > `body_cap`) whose first buffer is a complete text head (Node's and nginx's HTTP/1 writev:
 * the head, then the body), the buffers after it share `body_cap` bytes: the head is what parsers need
 * whole, and the HTTP parser keeps a 256-byte body prefix. Copying a 1 KB body costs ~0.7 us in Node. */
static __always_inline __u32 copy_iov(struct scratch *s, __u64 iov, __u32 iovcnt, __u64 len, __u32 cap,
                                      __u32 body_cap) {
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
    if (i == 0 && left > body_cap && n == vecs[0].iov_len && is_text_head(s, off)) left = body_cap;
  }
  return off > CAPTURE_MAX_DATA ? CAPTURE_MAX_DATA : off;
}

static __always_inline void emit_data(struct scratch *s, __u32 cap_len, struct capture_config *cfg) {
  __u64 n = cap_len;
  CLAMP_TO_MAX_DATA(n);
  s->ev.cap_len = n;
  bool truncated = n < s->ev.len;
  if (truncated) s->ev.h.flags |= CAPTURE_FLAG_TRUNCATED;
  emit(s, sizeof(struct capture_data_event) + n, n, cfg, truncated);
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
  emit(&p->ev, sizeof(struct capture_data_event) + n, n, cfg, false);
  bpf_map_delete_elem(&pending_writes, &id);
}

/* The call's arguments from the saved registers: (fd, buf or iovec or msghdr, count or iovcnt, -, addr). */
static __always_inline void read_args(__u8 sys, struct sys_args *a) {
  struct pt_regs *regs = syscall_regs();
  a->sys = sys;
  a->fd = (__s32)PT_REGS_PARM1_SYSCALL(regs);
  a->buf = PT_REGS_PARM2_SYSCALL(regs);
  a->count = (__u32)PT_REGS_PARM3_SYSCALL(regs);
  a->addr = (sys == CAPTURE_SYS_RECVFROM || sys == CAPTURE_SYS_SENDTO) ? PT_REGS_PARM5_SYSCALL(regs) : 0;
}

/* The state of this thread when its process is captured and the call moved bytes, else NULL. */
static __always_inline struct thread_state *traced_call(long ret, struct capture_config **cfg, __u64 *id) {
  if (ret <= 0) return 0;
  *cfg = get_config();
  if (!*cfg) return 0;
  *id = bpf_get_current_pid_tgid();
  return traced_thread(*id >> 32, *cfg);
}

/* A hook's entry: what follows the process filter is timed (sampled) as the capture's own cost. */
#define TIMED_EXIT(ret, body)                                  \
  do {                                                         \
    struct capture_config *cfg;                                \
    __u64 id;                                                  \
    struct thread_state *ts = traced_call(ret, &cfg, &id);     \
    if (!ts) return 0;                                         \
    __u64 t0 = timer_start();                                  \
    body;                                                      \
    timer_stop(t0);                                            \
    return 0;                                                  \
  } while (0)

/* One data event: `len` bytes moved through `buf` (iov == 0) or an iovec array; `peer` is the call's
 * sockaddr (unconnected UDP). */
static __always_inline void emit_one(struct conn_info *c, __u8 sys, __u8 dir, __s32 fd, __u64 len, __u64 buf,
                                     __u64 iov, __u32 iovcnt, __u64 peer, struct capture_config *cfg,
                                     struct thread_state *ts) {
  struct scratch *s = get_scratch();
  if (!s) return;
  fill_header(&s->ev.h, CAPTURE_KIND_DATA, fd);
  report_shed(&s->ev.h, ts);
  s->ev.t = c->t;
  s->ev.len = (__u32)len;
  s->ev.direction = dir;
  s->ev.syscall = sys;
  __u32 cap = cap_for(c, dir, cfg, &s->ev.h.flags);
  if (c->shed == SHED_RESUMED) {
    s->ev.h.flags |= CAPTURE_FLAG_RESYNC;
    c->shed = SHED_NO;
  }
  __u32 got = iov ? copy_iov(s, iov, iovcnt, len, cap, cfg->data_cap) : buf ? copy_buf(s, buf, len, cap) : 0;
  if (c->t.protocol == IPPROTO_UDP) peer_from_sockaddr(peer, &s->ev.t);
  emit_data(s, got, cfg);
}

/*
 * Load shedding (user space sets `shed_lots` when the sensor is over its CPU budget): is this connection
 * left out now? A connection's lot is a hash of its port pair, ordered so that both ends of a connection
 * on this node draw the same lot, and of the salt, which user space changes now and then so that no
 * connection (a workload's only pooled connection, say) stays out for good. Between changes of the
 * setting a connection is either captured whole or left out whole; leaving one out costs this check, not
 * the copy. When a connection that was captured starts being left out, an empty event flagged RESYNC
 * tells user space to drop what it holds for it; its first event after it is captured again carries the
 * flag too (in case the marker was lost) and the message-start cap (the parser starts afresh there).
 */
static __always_inline bool shed_now(struct conn_info *c, struct capture_config *cfg, struct sys_args *args,
                                     __u8 dir, __u8 flags) {
  __u32 limit = cfg->shed_lots;
  if (limit == 0 && c->shed == SHED_NO) return false;
  __u32 a = c->t.lport, b = c->t.rport;
  __u32 pair = a < b ? (a << 16 | b) : (b << 16 | a);
  __u32 lot = ((pair ^ cfg->shed_salt) * 2654435761u) >> 16; /* Knuth's multiplicative hash: high 16 bits */
  if (lot >= limit) {
    if (c->shed == SHED_YES) {
      c->shed = SHED_RESUMED;
      c->last_dir = 0; /* cap_for: a message start */
    }
    return false;
  }
  count(CAPTURE_STAT_SHED, 1);
  if (c->shed == SHED_YES) return true;
  c->shed = SHED_YES;
  /* Nothing of it was captured yet (cap_for sets last_dir), so user space holds nothing: no marker. A
   * short connection left out from its start (one per request, say) costs no event at all. */
  if (c->last_dir == 0) return true;
  struct scratch *s = get_scratch();
  if (!s) return true;
  fill_header(&s->ev.h, CAPTURE_KIND_DATA, args->fd);
  s->ev.h.flags = CAPTURE_FLAG_RESYNC | flags;
  s->ev.t = c->t;
  s->ev.len = 0;
  s->ev.direction = dir;
  s->ev.syscall = args->sys;
  emit_data(s, 0, cfg);
  return true;
}

/* The connection of a data call this thread just made, or NULL when there is nothing to report. */
static __always_inline struct conn_info *data_conn(struct sys_args *args, __u8 dir, struct thread_state *ts,
                                                   struct capture_config *cfg, __u64 id) {
  __u32 pid = id >> 32;
  struct conn_info *c = lookup_conn(pid, args->fd, CAPTURE_ROLE_UNKNOWN, ts->proc_start);
  if (!c) return 0;
  /* Ciphertext under an SSL call in flight: remember the socket, skip the bytes (plaintext follows). */
  if (ts->tls_active) {
    ts->tls.fd = args->fd;
    c->is_tls = 1;
    c->ssl = ts->tls.ssl;
    count(CAPTURE_STAT_TLS_CIPHERTEXT, 1);
    return 0;
  }
  if (dir == CAPTURE_DIR_EGRESS && ts->has_pending) flush_pending_tls(id, pid, args->fd, c, cfg, ts);
  if (c->is_tls) {
    count(CAPTURE_STAT_TLS_CIPHERTEXT, 1);
    return 0;
  }
  if (dir == CAPTURE_DIR_INGRESS) ts->last_read_fd = args->fd;
  if (!shed_now(c, cfg, args, dir, 0)) return c;
  ts->shed_since++;
  return 0;
}

static __always_inline void data_call(__u8 sys, long ret, struct capture_config *cfg, __u64 id,
                                      struct thread_state *ts) {
  struct sys_args args;
  read_args(sys, &args);
  __u8 dir = (sys % 2 == 0) ? CAPTURE_DIR_EGRESS : CAPTURE_DIR_INGRESS;
  struct conn_info *c = data_conn(&args, dir, ts, cfg, id);
  if (!c) return;
  __u64 buf = args.buf, iov = 0, peer = args.addr;
  __u32 iovcnt = 0;
  if (sys == CAPTURE_SYS_READV || sys == CAPTURE_SYS_WRITEV) {
    iov = args.buf;
    iovcnt = args.count;
  } else if (sys == CAPTURE_SYS_RECVMSG || sys == CAPTURE_SYS_SENDMSG) {
    struct user_msghdr msg = {};
    if (bpf_probe_read_user(&msg, sizeof(msg), (void *)args.buf)) return;
    iov = (__u64)msg.msg_iov;
    iovcnt = (__u32)msg.msg_iovlen;
    peer = (__u64)msg.msg_name;
  }
  emit_one(c, sys, dir, args.fd, ret, buf, iov, iovcnt, peer, cfg, ts);
}

static __always_inline int data_exit(__u8 sys, long ret) {
  TIMED_EXIT(ret, data_call(sys, ret, cfg, id, ts));
}

/* sendmmsg/recvmmsg: `ret` messages moved (glibc's resolver sends its A and AAAA queries this way); each
 * of the first CAPTURE_MAX_MMSG is reported as its own event with its own length. */
static __always_inline void mmsg_call(__u8 sys, long ret, struct capture_config *cfg, __u64 id,
                                      struct thread_state *ts) {
  struct sys_args args;
  read_args(sys, &args);
  __u8 dir = sys == CAPTURE_SYS_SENDMMSG ? CAPTURE_DIR_EGRESS : CAPTURE_DIR_INGRESS;
  struct conn_info *c = data_conn(&args, dir, ts, cfg, id);
  if (!c) return;
  for (int i = 0; i < CAPTURE_MAX_MMSG; i++) {
    if (i >= ret) break;
    struct mmsghdr m = {};
    if (bpf_probe_read_user(&m, sizeof(m), (void *)(args.buf + i * sizeof(struct mmsghdr)))) break;
    if (m.msg_len == 0) continue;
    emit_one(c, sys, dir, args.fd, m.msg_len, 0, (__u64)m.msg_hdr.msg_iov, (__u32)m.msg_hdr.msg_iovlen,
             (__u64)m.msg_hdr.msg_name, cfg, ts);
  }
}

static __always_inline int mmsg_exit(__u8 sys, long ret) {
  TIMED_EXIT(ret, mmsg_call(sys, ret, cfg, id, ts));
}

/* sendfile: the bytes come from a file, not from user memory, so the event carries their count only
 * (truncated, nothing captured). A parser still keeps its place in the stream: nginx sends static
 * bodies this way after writing the headers with writev. */
static __always_inline void sendfile_call(long ret, struct capture_config *cfg, __u64 id,
                                          struct thread_state *ts) {
  struct sys_args args = {.sys = CAPTURE_SYS_SENDFILE};
  args.fd = (__s32)PT_REGS_PARM1_SYSCALL(syscall_regs()); /* out_fd */
  struct conn_info *c = data_conn(&args, CAPTURE_DIR_EGRESS, ts, cfg, id);
  if (!c) return;
  emit_one(c, CAPTURE_SYS_SENDFILE, CAPTURE_DIR_EGRESS, args.fd, ret, 0, 0, 0, 0, cfg, ts);
}

static __always_inline int sendfile_exit(long ret) { TIMED_EXIT(ret, sendfile_call(ret, cfg, id, ts)); }

/* splice between a socket and a pipe (proxies): like sendfile, the bytes stay in the kernel, so the
 * event carries their count only. Out to a socket is egress, in from a socket ingress. */
static __always_inline void splice_call(long ret, struct capture_config *cfg, __u64 id,
                                        struct thread_state *ts) {
  struct pt_regs *regs = syscall_regs();
  struct sys_args args = {.sys = CAPTURE_SYS_SPLICE};
  args.fd = (__s32)PT_REGS_PARM3_SYSCALL(regs); /* fd_out */
  __u8 dir = CAPTURE_DIR_EGRESS;
  if (!lookup_conn(id >> 32, args.fd, CAPTURE_ROLE_UNKNOWN, ts->proc_start)) {
    args.fd = (__s32)PT_REGS_PARM1_SYSCALL(regs); /* fd_in */
    dir = CAPTURE_DIR_INGRESS;
  }
  struct conn_info *c = data_conn(&args, dir, ts, cfg, id);
  if (!c) return;
  emit_one(c, CAPTURE_SYS_SPLICE, dir, args.fd, ret, 0, 0, 0, 0, cfg, ts);
}

static __always_inline int splice_exit(long ret) { TIMED_EXIT(ret, splice_call(ret, cfg, id, ts)); }

SEC("tracepoint/syscalls/sys_exit_read")
int exit_read(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_READ, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_write")
int exit_write(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_WRITE, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_readv")
int exit_readv(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_READV, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_writev")
int exit_writev(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_WRITEV, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvfrom")
int exit_recvfrom(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_RECVFROM, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendto")
int exit_sendto(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_SENDTO, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvmsg")
int exit_recvmsg(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_RECVMSG, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendmsg")
int exit_sendmsg(struct trace_event_raw_sys_exit *ctx) { return data_exit(CAPTURE_SYS_SENDMSG, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_recvmmsg")
int exit_recvmmsg(struct trace_event_raw_sys_exit *ctx) { return mmsg_exit(CAPTURE_SYS_RECVMMSG, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int exit_sendmmsg(struct trace_event_raw_sys_exit *ctx) { return mmsg_exit(CAPTURE_SYS_SENDMMSG, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_sendfile64")
int exit_sendfile64(struct trace_event_raw_sys_exit *ctx) { return sendfile_exit(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_splice")
int exit_splice(struct trace_event_raw_sys_exit *ctx) { return splice_exit(ctx->ret); }
