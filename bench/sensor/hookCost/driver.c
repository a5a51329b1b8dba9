/* Times three workloads under four ways of hooking, in alternating rounds:
 *   workloads: a 1-byte write to /dev/null (file I/O: a syscall hook sees it, a socket hook does not),
 *              a 1-byte write and read through a Unix socket pair (socket I/O: every hook sees both),
 *              getppid (a syscall no program hooks);
 *   modes:     none; per_syscall (classic tracepoints on read's and write's exits, as the sensor hooks
 *              its data calls); every_syscall (one tp_btf on every syscall's exit); socket (tp_btf on
 *              sock_send_length and sock_recv_length).
 * Prints one JSON object: per mode and workload, the median over rounds of ns per iteration, and how many
 * calls the programs counted (a check that they ran). Needs root (eBPF). */
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "hooks.skel.h"

#define MODES 4
#define WORK 3
#define MAX_ROUNDS 99
static const char *modes[MODES] = {"none", "per_syscall", "every_syscall", "socket"};
static const char *works[WORK] = {"file_write", "socket_write_read", "getppid"};
static int devnull, pair[2];

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof(double), cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per iteration of workload `w`; -1 when a call fails. */
static double run(int w, int calls) {
  char c = 'x';
  double t = now_ns();
  for (int i = 0; i < calls; i++) {
    if (w == 0 && write(devnull, &c, 1) != 1) return -1;
    if (w == 1 && (write(pair[0], &c, 1) != 1 || read(pair[1], &c, 1) != 1)) return -1;
    if (w == 2) getppid();
  }
  return (now_ns() - t) / calls;
}

static int attach(struct bpf_program *p, struct bpf_link **links, int *n) {
  struct bpf_link *l = bpf_program__attach(p);
  if (!l) return fprintf(stderr, "cannot attach %s\n", bpf_program__name(p)), -1;
  links[(*n)++] = l;
  return 0;
}

/* `driver hold <mode> <seconds>`: keeps the mode's programs attached that long (for experiments with
 * real services; the pid filter matches only this process, so they do no work for anyone else). */
static int hold(struct hooks_bpf *skel, struct bpf_program *progs[MODES][2], const char *mode, int seconds) {
  for (int m = 0; m < MODES; m++) {
    if (strcmp(mode, modes[m])) continue;
    struct bpf_link *links[2];
    int n = 0;
    for (int k = 0; k < 2; k++)
      if (progs[m][k] && attach(progs[m][k], links, &n)) return 1;
    sleep(seconds);
    for (int k = 0; k < n; k++) bpf_link__destroy(links[k]);
    return 0;
  }
  fprintf(stderr, "unknown mode %s\n", mode);
  return 2;
}

int main(int argc, char **argv) {
  int holding = argc == 4 && !strcmp(argv[1], "hold");
  int rounds = argc > 1 ? atoi(argv[1]) : 9, calls = argc > 2 ? atoi(argv[2]) : 300000;
  if (!holding && (rounds < 1 || rounds > MAX_ROUNDS || calls < 1000)) {
    fprintf(stderr, "usage: driver [rounds 1..%d] [calls >= 1000]\n", MAX_ROUNDS);
    return 2;
  }
  devnull = open("/dev/null", O_WRONLY);
  if (devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair)) return perror("setup"), 1;
  struct hooks_bpf *skel = hooks_bpf__open();
  if (!skel) return perror("open"), 1;
  skel->rodata->driver = getpid();
  if (hooks_bpf__load(skel)) return fprintf(stderr, "cannot load the programs (root needed)\n"), 1;
  struct bpf_program *progs[MODES][2] = {
      {NULL, NULL},
      {skel->progs.per_syscall_write, skel->progs.per_syscall_read},
      {skel->progs.every_syscall, NULL},
      {skel->progs.socket_send, skel->progs.socket_recv},
  };
  if (holding) return hold(skel, progs, argv[2], atoi(argv[3]));
  static double ns[MODES][WORK][MAX_ROUNDS];
  unsigned long long seen[MODES] = {0};
  for (int r = 0; r < rounds; r++)
    for (int m = 0; m < MODES; m++) {
      struct bpf_link *links[2];
      int n = 0;
      for (int k = 0; k < 2; k++)
        if (progs[m][k] && attach(progs[m][k], links, &n)) return 1;
      unsigned long long before = skel->bss->seen;
      for (int w = 0; w < WORK; w++)
        if ((ns[m][w][r] = run(w, calls)) < 0) return perror(works[w]), 1;
      seen[m] += skel->bss->seen - before;
      for (int k = 0; k < n; k++) bpf_link__destroy(links[k]);
    }
  printf("{\"rounds\":%d,\"calls\":%d", rounds, calls);
  for (int m = 0; m < MODES; m++) {
    printf(",\"%s\":{\"seen\":%llu", modes[m], seen[m]);
    for (int w = 0; w < WORK; w++) printf(",\"%s\":%.1f", works[w], median(ns[m][w], rounds));
    printf("}");
  }
  printf("}\n");
  hooks_bpf__destroy(skel);
  return 0;
}
