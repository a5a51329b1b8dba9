/*
 * TLS plaintext: uprobes on OpenSSL's SSL_read/SSL_write(_ex), attached per binary by user space
 * (sensor/capture/tlsAttacher.ts). Events are built in a per-CPU scratch buffer because a write whose
 * socket is not known yet is parked in `pending_writes` until the thread's next socket write.
 */
#pragma once

static __always_inline int tls_enter(void *ssl, void *buf, void *len_ptr, __u8 is_write) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  struct thread_state *ts = traced_thread(bpf_get_current_pid_tgid() >> 32, cfg);
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

static __always_inline void tls_call(long ret, struct thread_state *ts) {
  __u64 id = bpf_get_current_pid_tgid();
  ts->tls_active = 0;
  struct tls_call call = ts->tls;
  if (call.len_ptr) {
    /* SSL_read_ex/SSL_write_ex return 1 on success and write the byte count to *len_ptr. */
    __u64 n = 0;
    if (ret != 1 || bpf_probe_read_user(&n, sizeof(n), (void *)call.len_ptr)) return;
    ret = (long)n;
  }
  if (ret <= 0) return;
  struct capture_config *cfg = get_config();
  if (!cfg) return;
  __u32 pid = id >> 32;
  __s32 fd = tls_fd(id, &call, ts->last_read_fd);
  __u8 dir = call.is_write ? CAPTURE_DIR_EGRESS : CAPTURE_DIR_INGRESS;
  struct conn_info *c = fd >= 0 ? lookup_conn(pid, fd, CAPTURE_ROLE_UNKNOWN, ts->proc_start) : NULL;
  if (c) {
    struct sys_args a = {.fd = fd, .sys = call.is_write ? CAPTURE_SYS_SSL_WRITE : CAPTURE_SYS_SSL_READ};
    if (shed_now(c, cfg, &a, dir, CAPTURE_FLAG_TLS)) {
      ts->shed_since++;
      return;
    }
  }

  struct scratch *s = get_scratch();
  if (!s) return;
  fill_header(&s->ev.h, CAPTURE_KIND_DATA, c ? fd : -1);
  s->ev.h.ts_ns = call.start_ns;
  s->ev.h.flags = CAPTURE_FLAG_TLS;
  report_shed(&s->ev.h, ts);
  s->ev.len = (__u32)ret;
  s->ev.direction = dir;
  s->ev.syscall = call.is_write ? CAPTURE_SYS_SSL_WRITE : CAPTURE_SYS_SSL_READ;
  __u32 cap = cfg->msg_start_cap;
  if (c) {
    c->is_tls = 1;
    c->ssl = call.ssl;
    s->ev.t = c->t;
    cap = cap_for(c, dir, cfg, &s->ev.h.flags);
    if (c->shed == SHED_RESUMED) {
      s->ev.h.flags |= CAPTURE_FLAG_RESYNC;
      c->shed = SHED_NO;
    }
  } else {
    __builtin_memset(&s->ev.t, 0, sizeof(s->ev.t));
    if (cap > CAPTURE_MAX_DATA) cap = CAPTURE_MAX_DATA;
  }
  __u32 got = copy_buf(s, call.buf, ret, cap);
  if (c) {
    emit_data(s, got, cfg);
    return;
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
    emit(&old->ev, sizeof(struct capture_data_event) + n, n, cfg, false);
    bpf_map_delete_elem(&pending_writes, &id);
  }
  if (call.is_write) {
    __u32 zero = 0;
    struct pending_tls *pend = bpf_map_lookup_elem(&pending_scratch, &zero);
    if (!pend) return;
    pend->ssl = call.ssl;
    __u64 n = got;
    CLAMP_TO_MAX_DATA(n);
    pend->ev = s->ev;
    pend->ev.cap_len = n;
    if (n < pend->ev.len) pend->ev.h.flags |= CAPTURE_FLAG_TRUNCATED;
    bpf_probe_read_kernel(pend->data, n, s->data);
    if (bpf_map_update_elem(&pending_writes, &id, pend, BPF_ANY) == 0) ts->has_pending = 1;
    return;
  }
  s->ev.h.flags |= CAPTURE_FLAG_UNATTRIBUTED;
  count(CAPTURE_STAT_TLS_UNATTRIBUTED, 1);
  emit_data(s, got, cfg);
}

/* A traced thread's SSL call returns (tls_enter filtered the process): timed like the syscall hooks. */
static __always_inline int tls_exit(long ret) {
  struct thread_state *ts = get_thread(false);
  if (!ts || !ts->tls_active) return 0;
  __u64 t0 = timer_start();
  tls_call(ret, ts);
  timer_stop(t0);
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
