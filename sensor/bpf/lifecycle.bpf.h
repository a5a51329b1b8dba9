/* Connection life cycle (connect, accept, listen, close, dup2/dup3) and process events (exec, exit, fork). */
#pragma once

static __always_inline void emit_conn(__u8 kind, __s32 fd, struct capture_tuple *t, long ret,
                                      struct capture_config *cfg) {
  struct capture_conn_event *ev = reserve(sizeof(*ev));
  if (!ev) return;
  fill_header(&ev->h, kind, fd);
  ev->t = *t;
  ev->ret = ret;
  submit(ev, sizeof(*ev), cfg);
}

/* connect and accept, at exit only: connect's fd is still in the saved registers, accept's is `ret`. */
static __always_inline int conn_exit(__u8 kind, long ret) {
  if (kind == CAPTURE_KIND_CONNECT && ret != 0 && ret != -EINPROGRESS) return 0;
  if (kind == CAPTURE_KIND_ACCEPT && ret < 0) return 0;
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  struct thread_state *ts = traced_thread(pid, cfg);
  if (!ts) return 0;
  __s32 fd = kind == CAPTURE_KIND_CONNECT ? (__s32)PT_REGS_PARM1_SYSCALL(syscall_regs()) : (__s32)ret;
  struct conn_info *old = cached_conn(pid, fd, ts->proc_start);
  if (kind == CAPTURE_KIND_CONNECT && old && old->kind == CONN_SOCKET && old->t.role == CAPTURE_ROLE_CLIENT) {
    /* A second connect() on a connected socket (hiredis checks completion this way): same peer, no news. */
    struct capture_tuple now = {};
    struct sock *sk = sock_of_fd(fd);
    if (sk && read_tuple(sk, &now) && now.rport == old->t.rport && same_addr(now.raddr, old->t.raddr)) return 0;
  }
  /* Otherwise a connect/accept starts a new connection on this fd: forget what was cached. */
  forget_conn(pid, fd);
  struct conn_info *c =
      lookup_conn(pid, fd, kind == CAPTURE_KIND_CONNECT ? CAPTURE_ROLE_CLIENT : CAPTURE_ROLE_SERVER, ts->proc_start);
  if (!c) return 0;
  if (kind == CAPTURE_KIND_ACCEPT && c->t.protocol == IPPROTO_TCP) {
    __u8 one = 1;
    bpf_map_update_elem(&server_ports, &c->t.lport, &one, BPF_ANY);
  }
  emit_conn(kind, fd, &c->t, ret, cfg);
  return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx) { return conn_exit(CAPTURE_KIND_CONNECT, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx) { return conn_exit(CAPTURE_KIND_ACCEPT, ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx) { return conn_exit(CAPTURE_KIND_ACCEPT, ctx->ret); }

/* listen: remember the port, so connections learnt later (forked workers) get the server role. */
SEC("tracepoint/syscalls/sys_enter_listen")
int enter_listen(struct trace_event_raw_sys_enter *ctx) {
  struct capture_config *cfg = get_config();
  if (!cfg || !traced_thread(bpf_get_current_pid_tgid() >> 32, cfg)) return 0;
  struct capture_tuple t = {};
  struct sock *sk = sock_of_fd((__s32)ctx->args[0]);
  if (sk && read_tuple(sk, &t) && t.protocol == IPPROTO_TCP && t.lport != 0) {
    __u8 one = 1;
    bpf_map_update_elem(&server_ports, &t.lport, &one, BPF_ANY);
  }
  return 0;
}

/* close: report sockets with the tuple kept since connect/accept, then forget the fd. Processes we do
 * not capture have no entries, so their closes stop at the thread's cached verdict. */
SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx) {
  struct capture_config *cfg = get_config();
  if (!cfg) return 0;
  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  struct thread_state *ts = traced_thread(pid, cfg);
  if (!ts) return 0;
  __s32 fd = (__s32)ctx->args[0];
  struct conn_info *c = cached_conn(pid, fd, ts->proc_start);
  if (!c) return 0;
  if (c->kind == CONN_SOCKET) emit_conn(CAPTURE_KIND_CLOSE, fd, &c->t, 0, cfg);
  /* OpenSSL may hand this SSL object's memory to the next connection: forget the old pairing. */
  if (c->ssl) {
    struct ssl_key sk = {.pid = pid, .ssl = c->ssl};
    bpf_map_delete_elem(&ssl_fds, &sk);
  }
  forget_conn(pid, fd);
  return 0;
}

/* dup2/dup3 replace newfd silently: drop whatever we cached for it. */
static __always_inline int forget_fd(__s32 fd) {
  struct capture_config *cfg = get_config();
  __u32 pid = bpf_get_current_pid_tgid() >> 32;
  if (!cfg || !traced_thread(pid, cfg)) return 0;
  forget_conn(pid, fd);
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
  struct capture_proc_event *ev = reserve(sizeof(*ev));
  if (!ev) return;
  fill_header(&ev->h, kind, -1);
  ev->ppid = ppid;
  ev->child_pid = child;
  ev->exit_code = code;
  ev->reserved = 0;
  bpf_get_current_comm(ev->comm, sizeof(ev->comm));
  submit(ev, sizeof(*ev), cfg);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx) {
  /* A container runtime moves a process into its cgroup before exec: decide again afterwards. */
  struct thread_state *ts = get_thread(false);
  if (ts) ts->verdict_gen = ~0u;
  /* exec closed the close-on-exec fds without close() calls: start the fd table afresh. */
  bpf_task_storage_delete(&proc_conns, bpf_get_current_task_btf());
  emit_proc(CAPTURE_KIND_EXEC, 0, 0, 0);
  return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit(void *ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  if ((__u32)id != (id >> 32)) return 0; /* a thread, not the process (its storage goes with it) */
  struct task_struct *task = bpf_get_current_task_btf();
  emit_proc(CAPTURE_KIND_EXIT, 0, 0, task->exit_code);
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
    struct pid_bitmap *b = get_pid_bits();
    __u32 bit = child_pid & 0xffff;
    if (b) __sync_fetch_and_or(&b->w[(bit >> 6) & (PID_BITS_WORDS - 1)], 1ull << (bit & 63));
  }
  emit_proc(CAPTURE_KIND_FORK, parent_pid, child_pid, 0);
  return 0;
}
