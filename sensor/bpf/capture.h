/*
 * Event layout shared by the eBPF program (capture.bpf.c), the native addon (sensor/native) and, through
 * offsets the addon exports, the TypeScript decoder (sensor/capture/events.ts). Every record in the ring
 * buffer starts with `struct capture_header`; `kind` says which struct follows. All integers are host
 * byte order except where noted; ports are host order; addresses are network order bytes.
 *
 * Change a struct here and the TypeScript decoder refuses to start until its offsets match again
 * (sensor/capture/layout.ts compares them with what the addon reports).
 */
#ifndef UNDERSTORY_CAPTURE_H
#define UNDERSTORY_CAPTURE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Upper bound of captured bytes per event; a power of two (the program masks with it). */
#define CAPTURE_MAX_DATA 4096
/* iovec entries looked at per readv/writev/recvmsg/sendmsg (the rest is counted in `len`, not copied). */
#define CAPTURE_MAX_IOV 8
/* Messages reported per recvmmsg/sendmmsg call (the rest are not seen). */
#define CAPTURE_MAX_MMSG 4

enum capture_kind {
  CAPTURE_KIND_DATA = 1,
  CAPTURE_KIND_CONNECT = 2,
  CAPTURE_KIND_ACCEPT = 3,
  CAPTURE_KIND_CLOSE = 4,
  CAPTURE_KIND_EXEC = 5,
  CAPTURE_KIND_EXIT = 6,
  CAPTURE_KIND_FORK = 7,
};

enum capture_flag {
  /* Plaintext seen by an OpenSSL uprobe (SSL_read/SSL_write), not a socket syscall. */
  CAPTURE_FLAG_TLS = 1,
  /* TLS plaintext whose socket could not be found: fd is -1. */
  CAPTURE_FLAG_UNATTRIBUTED = 2,
  /* First event of this direction after the other one: likely the start of a message (bigger cap). */
  CAPTURE_FLAG_MSG_START = 4,
  /* Fewer bytes captured than the syscall moved. */
  CAPTURE_FLAG_TRUNCATED = 8,
  /* Bytes of this connection before this event were not captured (load shedding, see shed_lots): what
   * user space holds for it is stale. Set on the first event after the connection was shed, and on an
   * empty marker event (len 0) sent when shedding of the connection begins. */
  CAPTURE_FLAG_RESYNC = 16,
};

enum capture_direction { CAPTURE_DIR_EGRESS = 1, CAPTURE_DIR_INGRESS = 2 };
enum capture_role { CAPTURE_ROLE_UNKNOWN = 0, CAPTURE_ROLE_CLIENT = 1, CAPTURE_ROLE_SERVER = 2 };

enum capture_syscall {
  CAPTURE_SYS_READ = 1,
  CAPTURE_SYS_WRITE = 2,
  CAPTURE_SYS_READV = 3,
  CAPTURE_SYS_WRITEV = 4,
  CAPTURE_SYS_RECVFROM = 5,
  CAPTURE_SYS_SENDTO = 6,
  CAPTURE_SYS_RECVMSG = 7,
  CAPTURE_SYS_SENDMSG = 8,
  CAPTURE_SYS_SSL_READ = 9,
  CAPTURE_SYS_SSL_WRITE = 10,
  CAPTURE_SYS_RECVMMSG = 11, /* one event per message */
  CAPTURE_SYS_SENDMMSG = 12,
  CAPTURE_SYS_SENDFILE = 13, /* bytes from a file: length only, nothing captured */
  CAPTURE_SYS_SPLICE = 14,   /* bytes between a socket and a pipe: length only, nothing captured */
};

/* Indexes of the per-CPU counters in the `stats` map. */
enum capture_stat {
  CAPTURE_STAT_EVENTS = 0,          /* records written to the ring */
  CAPTURE_STAT_DROPS = 1,           /* records lost because the ring was full */
  CAPTURE_STAT_DROPPED_BYTES = 2,   /* payload bytes of those records */
  CAPTURE_STAT_TRUNCATED = 3,       /* data events whose payload was cut at the cap */
  CAPTURE_STAT_TLS_CIPHERTEXT = 4,  /* socket events skipped because TLS plaintext covers them */
  CAPTURE_STAT_TLS_UNATTRIBUTED = 5,/* TLS plaintext without a known socket */
  CAPTURE_STAT_WAKEUPS = 6,         /* forced wake-ups of user space (backlog over threshold) */
  CAPTURE_STAT_UNWOKEN_BYTES = 7,   /* internal: bytes this CPU wrote since it last woke user space */
  CAPTURE_STAT_SHED = 8,            /* data events not captured because their connection is shed */
  CAPTURE_STAT_KERNEL_NS = 9,       /* estimated program time on traced calls (sampled, see timer_start) */
  CAPTURE_STAT_TIMER_TICK = 10,     /* internal: traced calls this CPU ran since it last timed one */
  CAPTURE_STAT__COUNT = 11,
};

/* The per-CPU counters: one value of the `stats` per-CPU array (one lookup per event updates them all). */
struct capture_counters {
  __u64 v[CAPTURE_STAT__COUNT];
};

/* pid/cgroup marks. CHILDREN: not this process (the sensor itself), but the processes it forks. */
enum capture_filter { CAPTURE_FILTER_INCLUDE = 1, CAPTURE_FILTER_EXCLUDE = 2, CAPTURE_FILTER_CHILDREN = 3 };

struct capture_header {
  __u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  __u32 pid;   /* thread group id (what user space calls pid) */
  __u32 tid;
  __s32 fd;
  __u8 kind;
  __u8 flags;
  /* Data events: calls of this thread left out by load shedding since its previous event (at most 65535
   * here, the rest on the next), so user space can estimate per process what it did not see. */
  __u16 shed_before;
};

struct capture_tuple {
  __u8 laddr[16]; /* local address; IPv4 in the first 4 bytes */
  __u8 raddr[16]; /* remote address */
  __u16 lport;
  __u16 rport;
  __u16 family;   /* AF_INET (2) or AF_INET6 (10); 0 when unknown */
  __u8 protocol;  /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
  __u8 role;      /* enum capture_role */
};

/* connect, accept and close */
struct capture_conn_event {
  struct capture_header h;
  struct capture_tuple t;
  __s64 ret; /* syscall result (connect: 0 or -EINPROGRESS; accept: the new fd) */
};

struct capture_data_event {
  struct capture_header h;
  struct capture_tuple t;
  __u32 len;     /* bytes the call moved (syscall or SSL_* return value) */
  __u32 cap_len; /* bytes captured below */
  __u8 direction;
  __u8 syscall;  /* enum capture_syscall */
  __u8 reserved[6];
  /* followed by cap_len bytes: the first bytes the call moved */
};

/* exec, exit and fork */
struct capture_proc_event {
  struct capture_header h;
  __u32 ppid;      /* fork: parent pid; exec/exit: 0 */
  __u32 child_pid; /* fork: the new process */
  __s32 exit_code; /* exit: raw wait status (code << 8 | signal) */
  __u32 reserved;
  char comm[16];
};

/* Runtime configuration, one entry of the `config` array map; changeable while running. */
struct capture_config {
  __u32 data_cap;      /* bytes captured per data event (<= CAPTURE_MAX_DATA) */
  __u32 msg_start_cap; /* bytes captured at the start of a message (<= CAPTURE_MAX_DATA) */
  __u64 wake_bytes;    /* wake user space when one CPU has written this much since its last wake-up */
  __u8 pid_include_only;    /* capture only pids marked INCLUDE */
  __u8 cgroup_include_only; /* capture only cgroups marked INCLUDE */
  __u8 cgroup_filters;      /* any cgroup filter set (else the cgroup lookup is skipped) */
  __u8 reserved;
  __u32 filter_gen;         /* bumped on every filter change: threads cache their verdict per generation */
  /* Load shedding: a connection whose lot (a 16-bit hash of its port pair and shed_salt, the same at both
   * ends) is below this is not captured. 0 (the zeroed default) captures every connection; 65536 none.
   * User space changes the salt now and then, so the connections left out are not always the same. */
  __u32 shed_lots;
  __u32 shed_salt;
};

#endif
