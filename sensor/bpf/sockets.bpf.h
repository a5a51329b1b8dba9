/* Sockets behind fds: the fd -> sock walk, connection tuples, and the (pid, fd) connection cache
 * (a per-process fd table for small fds, the `conns` hash for the rest). */
#pragma once

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

/* The slot of a small fd in this process's fd table; NULL for big fds or when there is no table. */
static __always_inline struct conn_info *table_slot(__s32 fd, bool create) {
  if (fd < 0 || fd >= FD_SLOTS) return 0;
  struct task_struct *leader = bpf_get_current_task_btf()->group_leader;
  struct proc_fds *t =
      bpf_task_storage_get(&proc_conns, leader, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
  if (!t) return 0;
  __u64 i = fd;
  asm volatile("%0 &= %1" : "+r"(i) : "i"(FD_SLOTS - 1)); /* keeps the index math after the null check */
  return &t->fd[i];
}

/* What is cached for (pid, fd) in this process, socket or not; NULL when nothing is. */
static __always_inline struct conn_info *cached_conn(__u32 pid, __s32 fd, __u64 start) {
  struct conn_info *slot = table_slot(fd, false);
  if (slot) return slot->kind != CONN_EMPTY ? slot : 0;
  struct conn_key key = {.pid = pid, .fd = fd};
  struct conn_info *c = bpf_map_lookup_elem(&conns, &key);
  return c && c->owner_start == start ? c : 0;
}

/* The fd was closed or replaced: forget what was cached for it. */
static __always_inline void forget_conn(__u32 pid, __s32 fd) {
  struct conn_info *slot = table_slot(fd, false);
  if (slot) {
    slot->kind = CONN_EMPTY;
    return;
  }
  struct conn_key key = {.pid = pid, .fd = fd};
  bpf_map_delete_elem(&conns, &key);
}

/* The cached connection for (pid, fd), learning it from the fd table on a miss. NULL for non-sockets. */
static __always_inline struct conn_info *lookup_conn(__u32 pid, __s32 fd, __u8 role, __u64 start) {
  struct conn_key key = {.pid = pid, .fd = fd};
  struct conn_info *slot = table_slot(fd, true);
  struct conn_info *c = slot;
  if (!slot) {
    c = bpf_map_lookup_elem(&conns, &key);
    if (c && c->owner_start != start) c = 0;
  }
  if (c && c->kind != CONN_EMPTY) {
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
  if (slot) {
    *slot = fresh;
    return fresh.kind == CONN_SOCKET ? slot : NULL;
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

