/* Kernel-side state of the capture program: internal structs and every map. Included by capture.bpf.c. */
#pragma once

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

#define CONN_EMPTY 0 /* an unused slot of a process's fd table */
#define CONN_SOCKET 1
#define CONN_NOT_SOCKET 2

#define SHED_NO 0     /* captured */
#define SHED_YES 1    /* not captured (its lot is below the configured shed_lots) */
#define SHED_RESUMED 2 /* captured again: the next event carries CAPTURE_FLAG_RESYNC */

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
  __u8 shed;         /* SHED_*: load-shedding state at this connection's last data event */
  __u8 reserved[4];
  __u64 ssl; /* the SSL object seen on this socket: its ssl_fds entry goes when the socket closes */
};

/* Arguments of a data syscall, read at exit from the registers saved at syscall entry. */
struct sys_args {
  __u64 buf;  /* buffer, iovec array or user_msghdr */
  __u64 addr; /* sockaddr (recvfrom/sendto) */
  __s32 fd;
  __u32 count; /* iovcnt */
  __u8 sys;
};

/* An SSL_read/SSL_write call in flight on a thread. */
struct tls_call {
  __u64 ssl;
  __u64 buf;
  __u64 len_ptr; /* _ex variants: where the byte count is written */
  __u64 start_ns;
  __s32 fd; /* set by a socket syscall made inside the call */
  __u8 is_write;
  __u8 reserved[3];
};

/* Everything a thread has in flight, in its task-local storage: no hash lookup per hook (a hash
 * operation costs 25-300 ns in a hook on these VMs, a task-storage lookup a few), freed with the thread. */
struct thread_state {
  struct tls_call tls;
  __u64 proc_start;   /* start time of the thread's process (pid-reuse guard for conns) */
  __s32 last_read_fd; /* last socket this thread read (-1: none) */
  __u8 tls_active;
  __u8 has_pending; /* a TLS write waits in pending_writes */
  __u8 traced;      /* traced() verdict for this thread, valid while verdict_gen == config filter_gen */
  __u8 reserved;
  __u32 verdict_gen;
  __u32 shed_since; /* data calls of this thread left out (load shedding) not yet reported */
  __u32 reserved2;
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

/* Per-CPU scratch space for building a data event (too big for the 512-byte BPF stack). Copying it into
 * the ring costs the same here as reserving a variable-size record through a dynptr and probe-reading
 * into it, which would also need kernel 6.16 (bpf_probe_read_user_dynptr). */
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
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct capture_counters);
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

/* In include-only mode, bit (pid & 0xffff) is set for every included pid (by user space and at fork):
 * a clear bit rejects a process with one array load, before any lookup. Bits are never cleared (a pid
 * may share its bit); a set bit only means "look further". */
#define PID_BITS_WORDS 1024
struct pid_bitmap {
  __u64 w[PID_BITS_WORDS];
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pid_bitmap);
} pid_bits SEC(".maps");

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

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct thread_state);
} threads SEC(".maps");

/* The connection cache of fds 0..FD_SLOTS-1 of a captured process, indexed by fd, in the task storage
 * of its thread group leader: a few loads instead of a hash lookup (~300 ns when a busy process has
 * evicted the hash's cache lines). Bigger fds use `conns`. Freed with the process; cleared at exec
 * (close-on-exec fds close without a close() call). */
#define FD_SLOTS 64
struct proc_fds {
  struct conn_info fd[FD_SLOTS];
};
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct proc_fds);
} proc_conns SEC(".maps");

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
