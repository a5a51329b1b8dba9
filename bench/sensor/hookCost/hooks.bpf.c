/* Programs that do (almost) nothing, to measure what attaching them costs every syscall: the kernel's
 * dispatch to a program, which no work inside our own programs can lower. */
#include "../../../sensor/bpf/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* The driver's pid: its calls count, as a traced process's would reach the capture's work. */
volatile const __u32 driver = 0;
__u64 seen = 0;

static __always_inline int count(long ret) {
  if (ret > 0 && (bpf_get_current_pid_tgid() >> 32) == driver) __sync_fetch_and_add(&seen, 1);
  return 0;
}

/* How the sensor hooks a data call: the classic tracepoint of that one syscall. */
SEC("tracepoint/syscalls/sys_exit_write")
int per_syscall_write(struct trace_event_raw_sys_exit *ctx) { return count(ctx->ret); }
SEC("tracepoint/syscalls/sys_exit_read")
int per_syscall_read(struct trace_event_raw_sys_exit *ctx) { return count(ctx->ret); }

/* Socket I/O only, whatever the syscall, with the socket at hand (no fd -> socket walk); no syscall
 * tracepoint is enabled, so other syscalls keep their fast path. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(socket_send, struct sock *sk, int ret, int flags) { return count(ret); }
SEC("tp_btf/sock_recv_length")
int BPF_PROG(socket_recv, struct sock *sk, int ret, int flags) { return count(ret); }

/* One BTF tracepoint on every syscall's exit, choosing by number. */
SEC("tp_btf/sys_exit")
int BPF_PROG(every_syscall, struct pt_regs *regs, long ret) {
  if (regs->orig_ax != 0 && regs->orig_ax != 1) return 0; /* __NR_read, __NR_write on x86-64 */
  return count(ret);
}
