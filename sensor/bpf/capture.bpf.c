// SPDX-License-Identifier: GPL-2.0
/*
 * Understory sensor capture: socket traffic, connection life cycle and process events.
 *
 * Hooks are syscall tracepoints (kprobes and fentry are not available on the kernels we target), sched
 * tracepoints for processes, and uprobes on OpenSSL's SSL_read/SSL_write for TLS plaintext. Events go to
 * one ring buffer written with BPF_RB_NO_WAKEUP; user space is woken only when a CPU has written
 * `wake_bytes` since its last wake-up and otherwise polls on a short timer, so a busy application never
 * pays for a wake-up per event. When the ring is full the event is dropped and counted: the application
 * is never slowed down.
 *
 * Cost: every hook starts with the calling thread's task-local storage, which holds the syscall in
 * flight and a cached "is this process captured" verdict, so threads we do not capture stop after one
 * cheap lookup. Socket data is probe-read into a per-CPU scratch record and copied into the ring (a
 * record reserved at a fixed size class and filled in place measured the same); in Node the bytes copied
 * dominate a data event's cost (~0.7 ns each), hence the caps (data.bpf.h).
 *
 * Connections: a (pid, fd) -> tuple cache filled at connect/accept (role known) or at the first data
 * event on a socket opened before we started (role unknown). Addresses are kept from then on because a
 * closing TCP socket may already report local port 0. Non-socket fds are cached too (negative entries)
 * so file and pipe I/O costs one lookup; close/dup2/dup3 invalidate entries, and each entry carries the
 * process start time so a recycled pid never inherits a stale entry.
 *
 * Units, in include order: maps.bpf.h (state), common.bpf.h (config, counters, thread state, ring
 * records), sockets.bpf.h (fd -> socket, tuples, connection cache), data.bpf.h (read/write family),
 * lifecycle.bpf.h (connect/accept/close, processes), tls.bpf.h (OpenSSL uprobes).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "capture.h"

char LICENSE[] SEC("license") = "GPL";

#include "maps.bpf.h"
#include "common.bpf.h"
#include "sockets.bpf.h"
#include "data.bpf.h"
#include "lifecycle.bpf.h"
#include "tls.bpf.h"
