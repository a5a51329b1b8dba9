/* Shared by every hook: configuration, counters, per-thread state and its capture verdict, ring records. */
#pragma once

/* Clamps a length to CAPTURE_MAX_DATA in a way clang cannot fold away, so the verifier sees the bound. */
#define CLAMP_TO_MAX_DATA(n) asm volatile("if %0 <= %1 goto +1; %0 = %1" : "+r"(n) : "i"(CAPTURE_MAX_DATA))

static __always_inline struct capture_counters *counters(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline void count(__u32 idx, __u64 n) {
  struct capture_counters *c = counters();
  if (c && idx < CAPTURE_STAT__COUNT) c->v[idx] += n;
}

static __always_inline struct capture_config *get_config(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&capture_cfg, &zero);
}

/* This thread's state, created (zeroed) when `create` and absent. */
static __always_inline struct thread_state *get_thread(bool create) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct thread_state *ts = bpf_task_storage_get(&threads, task, 0, 0);
  if (ts || !create) return ts;
  ts = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!ts) return 0;
  ts->last_read_fd = -1;
  ts->proc_start = task->group_leader->start_time;
  ts->verdict_gen = ~0u;
  return ts;
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

static __always_inline struct pid_bitmap *get_pid_bits(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&pid_bits, &zero);
}

/* Include-only mode: false when the pid's bit is clear (not included, for certain). */
static __always_inline bool maybe_traced(__u32 pid, struct capture_config *cfg) {
  if (!cfg->pid_include_only) return true;
  struct pid_bitmap *b = get_pid_bits();
  if (!b) return true;
  __u32 bit = pid & 0xffff;
  return (b->w[(bit >> 6) & (PID_BITS_WORDS - 1)] >> (bit & 63)) & 1;
}

/* This thread's state if its process is captured, else NULL. The verdict is cached in the thread's
 * storage per filter generation (user space bumps it on every filter change; exec resets it), so a
 * thread we do not capture costs one task-storage lookup per hook instead of filter-map lookups. */
static __always_inline struct thread_state *traced_thread(__u32 pid, struct capture_config *cfg) {
  if (!maybe_traced(pid, cfg)) return 0;
  struct thread_state *ts = get_thread(true);
  if (!ts) return 0;
  if (ts->verdict_gen != cfg->filter_gen) {
    ts->traced = traced(pid, cfg);
    ts->verdict_gen = cfg->filter_gen;
  }
  return ts->traced ? ts : 0;
}

/*
 * The capture's own cost to the applications it observes: the time of the programs' traced paths, which
 * run on the applications' threads. Timing every call would add two clock reads to each; one traced call
 * in TIMER_SAMPLE per CPU is timed and counts for TIMER_SAMPLE (an estimate, unbiased for a steady mix of
 * calls). The fixed cost of a hook (the tracepoint itself, the process filter) is left out: it does not
 * depend on what is captured, so leaving connections out cannot lower it.
 */
#define TIMER_SAMPLE 16

static __always_inline __u64 timer_start(void) {
  struct capture_counters *c = counters();
  if (!c || c->v[CAPTURE_STAT_TIMER_TICK]++ % TIMER_SAMPLE != 0) return 0;
  return bpf_ktime_get_ns();
}

static __always_inline void timer_stop(__u64 t0) {
  if (t0 != 0) count(CAPTURE_STAT_KERNEL_NS, (bpf_ktime_get_ns() - t0) * TIMER_SAMPLE);
}

/*
 * How to submit a record of `size` bytes. Records go with BPF_RB_NO_WAKEUP; a CPU forces a wake-up once
 * it has written `wake_bytes` since its last one. The count is per CPU (no shared cache line, no ring
 * query per record); the reader's poll timer collects everything else.
 */
static __always_inline __u64 wake_flags(struct capture_counters *c, struct capture_config *cfg, __u64 size) {
  c->v[CAPTURE_STAT_UNWOKEN_BYTES] += size;
  if (c->v[CAPTURE_STAT_UNWOKEN_BYTES] < cfg->wake_bytes) return BPF_RB_NO_WAKEUP;
  c->v[CAPTURE_STAT_UNWOKEN_BYTES] = 0;
  c->v[CAPTURE_STAT_WAKEUPS]++;
  return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void count_drop(struct capture_counters *c, __u64 payload) {
  c->v[CAPTURE_STAT_DROPS]++;
  c->v[CAPTURE_STAT_DROPPED_BYTES] += payload;
}

/* Copies a record built elsewhere into the ring; never blocks: a full ring is a counted drop. `truncated`
 * counts a data event cut at its cap in the same lookup of the counters. */
static __always_inline void emit(void *data, __u64 size, __u64 payload, struct capture_config *cfg,
                                 bool truncated) {
  struct capture_counters *c = counters();
  if (!c) return;
  if (truncated) c->v[CAPTURE_STAT_TRUNCATED]++;
  if (bpf_ringbuf_output(&events, data, size, wake_flags(c, cfg, size)) == 0)
    c->v[CAPTURE_STAT_EVENTS]++;
  else
    count_drop(c, payload);
}

/* The calling thread's syscall arguments at exit: the registers saved at syscall entry still hold them
 * (the kernel only changes the return value register), so data syscalls need no enter hook at all. */
static __always_inline struct pt_regs *syscall_regs(void) {
  return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Reserves a fixed-size record to fill in place (no copy); NULL when the ring is full (counted). */
static __always_inline void *reserve(__u64 size) {
  void *rec = bpf_ringbuf_reserve(&events, size, 0);
  if (!rec) {
    struct capture_counters *c = counters();
    if (c) count_drop(c, 0);
  }
  return rec;
}

static __always_inline void submit(void *rec, __u64 size, struct capture_config *cfg) {
  struct capture_counters *c = counters();
  if (!c) {
    bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
    return;
  }
  c->v[CAPTURE_STAT_EVENTS]++;
  bpf_ringbuf_submit(rec, wake_flags(c, cfg, size));
}

/* Hands the calls this thread left out since its last event to the event being built (see shed_before). */
static __always_inline void report_shed(struct capture_header *h, struct thread_state *ts) {
  __u32 n = ts->shed_since < 0xffff ? ts->shed_since : 0xffff;
  h->shed_before = (__u16)n;
  ts->shed_since -= n;
}

static __always_inline void fill_header(struct capture_header *h, __u8 kind, __s32 fd) {
  __u64 id = bpf_get_current_pid_tgid();
  h->ts_ns = bpf_ktime_get_ns();
  h->pid = id >> 32;
  h->tid = (__u32)id;
  h->fd = fd;
  h->kind = kind;
  h->flags = 0;
  h->shed_before = 0;
}
