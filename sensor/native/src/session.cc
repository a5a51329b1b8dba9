#include "session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "capture.h"
#include "capture.skel.h"

namespace {

// libbpf's own messages ("failed to load program: -1") mislead more than they help, so they are kept
// here and attached to errors as `libbpfLog` instead of being printed. Any thread may log.
std::mutex log_mutex;
std::string libbpf_log;
constexpr size_t kMaxLog = 16384;

int CollectLibbpfLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string line(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(line.data(), line.size(), fmt, args);
  line.resize(static_cast<size_t>(n));
  std::lock_guard<std::mutex> lock(log_mutex);
  // Keep the tail: the verifier's reason for rejecting a program is at the end of its log.
  libbpf_log.append(line);
  if (libbpf_log.size() > kMaxLog) libbpf_log.erase(0, libbpf_log.size() - kMaxLog);
  return n;
}

std::string TakeLog() {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::string out;
  out.swap(libbpf_log);
  return out;
}

// Throws an Error carrying the failed step and errno; the TypeScript layer turns it into a typed error.
void ThrowBpf(Napi::Env env, const char* step, int err, const std::string& what) {
  if (err < 0) err = -err;
  std::string msg = std::string("cannot ") + step + " " + what + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("step", Napi::String::New(env, step));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("libbpfLog", Napi::String::New(env, TakeLog()));
  throw e;
}

uint64_t OptU64(const Napi::Object& o, const char* key, uint64_t fallback) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return fallback;
  return static_cast<uint64_t>(o.Get(key).As<Napi::Number>().Int64Value());
}

struct BatchMessage {
  std::vector<uint8_t>* data;
  uint32_t records;
};

}  // namespace

Napi::Function CaptureSession::Define(Napi::Env env) {
  libbpf_set_print(CollectLibbpfLog);
  return DefineClass(env, "CaptureSession",
                     {
                         InstanceMethod("load", &CaptureSession::Load),
                         InstanceMethod("attach", &CaptureSession::Attach),
                         InstanceMethod("attachUprobes", &CaptureSession::AttachUprobes),
                         InstanceMethod("start", &CaptureSession::Start),
                         InstanceMethod("stop", &CaptureSession::Stop),
                         InstanceMethod("close", &CaptureSession::Close),
                         InstanceMethod("stats", &CaptureSession::Stats),
                         InstanceMethod("setShed", &CaptureSession::SetShed),
                         InstanceMethod("programStats", &CaptureSession::ProgramStats),
                         InstanceMethod("setConfig", &CaptureSession::SetConfig),
                         InstanceMethod("setFilter", &CaptureSession::SetFilter),
                     });
}

// new CaptureSession({ ringBytes, batchBytes, pollMs, maxInFlight }). Values are validated in TypeScript.
CaptureSession::CaptureSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CaptureSession>(info) {
  Napi::Object o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
  ring_bytes_ = OptU64(o, "ringBytes", 16u << 20);
  batch_bytes_ = static_cast<uint32_t>(OptU64(o, "batchBytes", 256u << 10));
  poll_ms_ = static_cast<int>(OptU64(o, "pollMs", 50));
  max_in_flight_ = static_cast<uint32_t>(OptU64(o, "maxInFlight", 8));
}

CaptureSession::~CaptureSession() { Destroy(); }

// load(): open the embedded object, size the ring, load into the kernel, exclude this process.
Napi::Value CaptureSession::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (skel_) throw Napi::Error::New(env, "cannot load capture: already loaded");
  TakeLog();
  skel_ = capture_bpf__open();
  if (!skel_) ThrowBpf(env, "open", errno, "the capture eBPF object");
  int err = bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(ring_bytes_));
  if (err) ThrowBpf(env, "configure", err, "the ring buffer size");
  // The verifier gives up with EAGAIN whenever a signal is pending, and libbpf retries only a few times: a
  // profiler's SIGPROF every millisecond (node --cpu-prof) made every load fail. Signals wait until the
  // load is done (a second at most); the kernel delivers the ones that arrived right after.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  err = capture_bpf__load(skel_);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (err) ThrowBpf(env, "load", err, "the capture eBPF programs");
  loaded_ = true;
  uint32_t self = static_cast<uint32_t>(getpid());
  uint8_t exclude = CAPTURE_FILTER_EXCLUDE;
  bpf_map__update_elem(skel_->maps.pid_filter, &self, sizeof(self), &exclude, sizeof(exclude), BPF_ANY);
  return env.Undefined();
}

// attach(): every tracepoint program. Uprobes are attached per binary by attachUprobes().
Napi::Value CaptureSession::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) throw Napi::Error::New(env, "cannot attach capture: not loaded");
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    const char* sec = bpf_program__section_name(prog);
    if (strncmp(sec, "uprobe", 6) == 0 || strncmp(sec, "uretprobe", 9) == 0) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link) ThrowBpf(env, "attach", errno, std::string("program ") + bpf_program__name(prog) + " (" + sec + ")");
    links_.push_back(link);
  }
  return Napi::Number::New(env, static_cast<double>(links_.size()));
}

// attachUprobes(path): SSL_read/SSL_write(_ex) entry and return probes on one binary, for all processes.
// Returns how many probes attached; throws when none could (e.g. the binary has no OpenSSL symbols).
Napi::Value CaptureSession::AttachUprobes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) throw Napi::Error::New(env, "cannot attach uprobes: not loaded");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct Probe {
    bpf_program* prog;
    const char* func;
    bool ret;
  } probes[] = {
      {skel_->progs.ssl_write_enter, "SSL_write", false},     {skel_->progs.ssl_write_exit, "SSL_write", true},
      {skel_->progs.ssl_read_enter, "SSL_read", false},       {skel_->progs.ssl_read_exit, "SSL_read", true},
      {skel_->progs.ssl_write_ex_enter, "SSL_write_ex", false}, {skel_->progs.ssl_write_ex_exit, "SSL_write_ex", true},
      {skel_->progs.ssl_read_ex_enter, "SSL_read_ex", false}, {skel_->progs.ssl_read_ex_exit, "SSL_read_ex", true},
  };
  int attached = 0;
  int last_err = 0;
  TakeLog();
  for (const Probe& p : probes) {
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p.ret, .func_name = p.func);
    bpf_link* link = bpf_program__attach_uprobe_opts(p.prog, -1, path.c_str(), 0, &opts);
    if (!link) {
      last_err = errno;
      continue;
    }
    links_.push_back(link);
    attached++;
  }
  if (attached == 0) ThrowBpf(env, "attach", last_err, "OpenSSL uprobes to " + path);
  return Napi::Number::New(env, attached);
}

// start(onBatch): starts the reader thread. onBatch(buffer: ArrayBuffer, records: number) runs on the
// JavaScript thread; each record in `buffer` is [u32 size][u32 0][size bytes, padded to 8].
Napi::Value CaptureSession::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) throw Napi::Error::New(env, "cannot start capture: not loaded");
  if (running_) throw Napi::Error::New(env, "cannot start capture: already running");
  ring_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), OnSample, this, nullptr);
  if (!ring_) ThrowBpf(env, "open", errno, "the ring buffer reader");
  // Queued batches call back into this object after stop(): keep it alive (Ref) until the thread-safe
  // function is finalized, i.e. after the last queued call has run on the JavaScript thread.
  Ref();
  tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "understory-capture", 0, 1, this,
                                        [](Napi::Env, CaptureSession* self) { self->Unref(); });
  running_ = true;
  reader_ = std::thread([this] { ReaderLoop(); });
  return env.Undefined();
}

// Reader thread. Waits for a forced wake-up (backlog over threshold) or the poll timer, then drains the
// ring. Events are written with BPF_RB_NO_WAKEUP, so the timer is what normally gets them out: the
// poll result alone is not enough, hence the explicit consume. If JavaScript is behind, the ring is not
// read: it fills, and the kernel counts drops instead of this process buffering without bound.
void CaptureSession::ReaderLoop() {
  while (running_.load()) {
    if (in_flight_.load() >= max_in_flight_) {
      stalls_++;
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms_));
      continue;
    }
    int n = ring_buffer__poll(ring_, poll_ms_);
    if (n < 0 && n != -EINTR && n != -EAGAIN) poll_errors_++;
    if (in_flight_.load() < max_in_flight_) ring_buffer__consume(ring_);
    FlushBatch();
  }
}

int CaptureSession::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<CaptureSession*>(ctx);
  size_t padded = (size + 7) & ~size_t{7};
  if (self->batch_ && self->batch_->size() + 8 + padded > self->batch_bytes_) self->FlushBatch();
  if (!self->batch_) {
    self->batch_ = new std::vector<uint8_t>();
    self->batch_->reserve(self->batch_bytes_);
  }
  // Appended, not resized and then copied over: a resize zero-fills the record's bytes first.
  std::vector<uint8_t>& b = *self->batch_;
  static const uint8_t kZeros[8] = {};
  uint32_t header[2] = {static_cast<uint32_t>(size), 0};
  const auto* h = reinterpret_cast<const uint8_t*>(header);
  const auto* d = static_cast<const uint8_t*>(data);
  b.insert(b.end(), h, h + sizeof(header));
  b.insert(b.end(), d, d + size);
  b.insert(b.end(), kZeros, kZeros + (padded - size));
  self->batch_records_++;
  self->records_++;
  // JavaScript is behind: stop draining (this sample is kept). The rest stays in the ring, which fills,
  // and the kernel drops and counts, so memory here stays bounded by maxInFlight batches.
  if (self->in_flight_.load() >= self->max_in_flight_) return -EAGAIN;
  return 0;
}

// Reader thread: hands the current batch to JavaScript. Ownership of the vector moves to the callback.
void CaptureSession::FlushBatch() {
  if (!batch_ || batch_records_ == 0) return;
  auto* msg = new BatchMessage{batch_, batch_records_};
  batch_ = nullptr;
  batch_records_ = 0;
  batches_++;
  bytes_ += msg->data->size();
  in_flight_++;
  napi_status st = tsfn_.NonBlockingCall(msg, [this](Napi::Env env, Napi::Function fn, BatchMessage* m) {
    // JavaScript thread. The bytes are copied into a JS-owned ArrayBuffer, so the native batch is freed
    // at once; the TypeScript API still promises views only for the duration of the callback. A Buffer
    // copy, not ArrayBuffer::New + memcpy: Node skips the zero-fill for it (the calloc of every batch was
    // ~1 % of the sensor's CPU). Handing the native bytes over as an external ArrayBuffer instead cost
    // more: batches then stay allocated until a GC, so each one lands in cold memory.
    in_flight_--;
    if (env != nullptr && fn != nullptr) {
      Napi::ArrayBuffer ab = Napi::Buffer<uint8_t>::Copy(env, m->data->data(), m->data->size()).ArrayBuffer();
      uint32_t records = m->records;
      delete m->data;
      delete m;
      fn.Call({ab, Napi::Number::New(env, records)});
      return;
    }
    delete m->data;
    delete m;
  });
  if (st != napi_ok) {
    in_flight_--;
    delete msg->data;
    delete msg;
  }
}

void CaptureSession::StopReader() {
  if (!running_.exchange(false)) return;
  if (reader_.joinable()) reader_.join();  // returns within one poll interval
  FlushBatch();
  tsfn_.Release();
  ring_buffer__free(ring_);
  ring_ = nullptr;
}

Napi::Value CaptureSession::Stop(const Napi::CallbackInfo& info) {
  StopReader();
  return info.Env().Undefined();
}

void CaptureSession::Destroy() {
  StopReader();
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  if (skel_) capture_bpf__destroy(skel_);
  skel_ = nullptr;
  loaded_ = false;
}

Napi::Value CaptureSession::Close(const Napi::CallbackInfo& info) {
  Destroy();
  return info.Env().Undefined();
}

// stats(): kernel counters (summed over CPUs) and reader counters, as bigint-free numbers.
Napi::Value CaptureSession::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  static const char* names[CAPTURE_STAT__COUNT] = {"events", "drops", "droppedBytes", "truncated",
                                                   "tlsCiphertextSkipped", "tlsUnattributed", "wakeups", "",
                                                   "shed", "kernelNs", ""};
  if (loaded_) {
    int ncpu = libbpf_num_possible_cpus();
    std::vector<capture_counters> values(ncpu > 0 ? ncpu : 1);
    uint32_t zero = 0;
    bool ok = bpf_map__lookup_elem(skel_->maps.stats, &zero, sizeof(zero), values.data(),
                                   values.size() * sizeof(capture_counters), 0) == 0;
    for (uint32_t i = 0; i < CAPTURE_STAT__COUNT; i++) {
      if (names[i][0] == 0) continue;
      uint64_t sum = 0;
      if (ok)
        for (const capture_counters& v : values) sum += v.v[i];
      out.Set(names[i], Napi::Number::New(env, static_cast<double>(sum)));
    }
  }
  out.Set("records", Napi::Number::New(env, static_cast<double>(records_.load())));
  out.Set("batches", Napi::Number::New(env, static_cast<double>(batches_.load())));
  out.Set("batchBytes", Napi::Number::New(env, static_cast<double>(bytes_.load())));
  out.Set("readerStalls", Napi::Number::New(env, static_cast<double>(stalls_.load())));
  out.Set("pollErrors", Napi::Number::New(env, static_cast<double>(poll_errors_.load())));
  return out;
}

// programStats(): per program run count and time (needs kernel.bpf_stats_enabled=1 to be non-zero).
Napi::Value CaptureSession::ProgramStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  if (!loaded_) return out;
  uint32_t i = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_prog_info pi;
    memset(&pi, 0, sizeof(pi));
    uint32_t len = sizeof(pi);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len) != 0) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, bpf_program__name(prog)));
    o.Set("runCount", Napi::Number::New(env, static_cast<double>(pi.run_cnt)));
    o.Set("runTimeNs", Napi::Number::New(env, static_cast<double>(pi.run_time_ns)));
    out.Set(i++, o);
  }
  return out;
}

// setConfig({ dataCap, msgStartCap, wakeBytes, pidIncludeOnly, cgroupIncludeOnly, cgroupFilters }): at once.
Napi::Value CaptureSession::SetConfig(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) throw Napi::Error::New(env, "cannot configure capture: not loaded");
  Napi::Object o = info[0].As<Napi::Object>();
  capture_config c;
  memset(&c, 0, sizeof(c));
  c.data_cap = static_cast<uint32_t>(OptU64(o, "dataCap", 256));
  c.msg_start_cap = static_cast<uint32_t>(OptU64(o, "msgStartCap", 1024));
  // The kernel counts unwoken bytes per CPU (no shared counter to bounce between CPUs): split the
  // threshold so all CPUs together still wake the reader before `wakeBytes` wait in the ring.
  int ncpu = libbpf_num_possible_cpus();
  c.wake_bytes = OptU64(o, "wakeBytes", 4u << 20) / static_cast<uint64_t>(ncpu > 0 ? ncpu : 1);
  if (c.wake_bytes == 0) c.wake_bytes = 1;
  c.pid_include_only = OptU64(o, "pidIncludeOnly", 0) ? 1 : 0;
  c.cgroup_include_only = OptU64(o, "cgroupIncludeOnly", 0) ? 1 : 0;
  c.cgroup_filters = OptU64(o, "cgroupFilters", 0) ? 1 : 0;
  // Threads cache their filter verdict per generation: a new configuration may change verdicts.
  c.filter_gen = ++filter_gen_;
  c.shed_lots = shed_lots_;
  c.shed_salt = shed_salt_;
  configured_ = true;
  WriteConfig(env, c);
  return env.Undefined();
}

// setShed(lots: 0..65536, salt?: u32): connections whose lot (a hash of their port pair and the salt) is
// below `lots` are not captured (load shedding). Keeps the rest of the configuration; threads need no new
// verdict, so the filter generation stays.
Napi::Value CaptureSession::SetShed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_ || !configured_) throw Napi::Error::New(env, "cannot set load shedding: not configured");
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setShed wants a number");
  double lots = info[0].As<Napi::Number>().DoubleValue();
  if (!(lots >= 0 && lots <= 65536) || lots != static_cast<double>(static_cast<uint32_t>(lots)))
    throw Napi::RangeError::New(env, "cannot set load shedding: lots must be an integer in 0..65536");
  if (info.Length() >= 2 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "setShed wants a number as salt");
    double salt = info[1].As<Napi::Number>().DoubleValue();
    if (!(salt >= 0 && salt <= 4294967295.0) || salt != static_cast<double>(static_cast<uint32_t>(salt)))
      throw Napi::RangeError::New(env, "cannot set load shedding: salt must be an integer in 0..2^32-1");
    shed_salt_ = static_cast<uint32_t>(salt);
  }
  capture_config c = ReadConfig(env);
  c.shed_lots = shed_lots_ = static_cast<uint32_t>(lots);
  c.shed_salt = shed_salt_;
  WriteConfig(env, c);
  return env.Undefined();
}

// setFilter('pid' | 'cgroup', id: number | bigint, mode: 0 remove | 1 include | 2 exclude | 3 children only).
Napi::Value CaptureSession::SetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loaded_) throw Napi::Error::New(env, "cannot set filter: not loaded");
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  uint32_t mode = info[2].As<Napi::Number>().Uint32Value();
  uint8_t mark = static_cast<uint8_t>(mode);
  int err;
  if (kind == "pid") {
    uint32_t pid = info[1].As<Napi::Number>().Uint32Value();
    err = mode == 0 ? bpf_map__delete_elem(skel_->maps.pid_filter, &pid, sizeof(pid), 0)
                    : bpf_map__update_elem(skel_->maps.pid_filter, &pid, sizeof(pid), &mark, 1, BPF_ANY);
    if (!err && (mode == CAPTURE_FILTER_INCLUDE || mode == CAPTURE_FILTER_CHILDREN)) err = SetPidBit(pid);
  } else {
    bool lossless = true;
    uint64_t id = info[1].IsBigInt() ? info[1].As<Napi::BigInt>().Uint64Value(&lossless)
                                     : static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    err = mode == 0 ? bpf_map__delete_elem(skel_->maps.cgroup_filter, &id, sizeof(id), 0)
                    : bpf_map__update_elem(skel_->maps.cgroup_filter, &id, sizeof(id), &mark, 1, BPF_ANY);
  }
  if (err && !(mode == 0 && err == -ENOENT)) ThrowBpf(env, "update", err, "the " + kind + " filter");
  BumpFilterGeneration(env);
  return env.Undefined();
}

// Include-only mode's fast reject: sets bit (pid & 0xffff) of the kernel's pid bitmap. Bits are never
// cleared (pids may share one); a set bit only sends the hook on to the full filter check.
int CaptureSession::SetPidBit(uint32_t pid) {
  uint32_t zero = 0;
  std::vector<uint64_t> words(1024);
  size_t size = words.size() * sizeof(uint64_t);
  int err = bpf_map__lookup_elem(skel_->maps.pid_bits, &zero, sizeof(zero), words.data(), size, 0);
  if (err) return err;
  uint32_t bit = pid & 0xffff;
  words[bit >> 6] |= uint64_t{1} << (bit & 63);
  return bpf_map__update_elem(skel_->maps.pid_bits, &zero, sizeof(zero), words.data(), size, BPF_ANY);
}

// Makes every thread decide again whether it is captured (they cache the verdict per generation).
void CaptureSession::BumpFilterGeneration(Napi::Env env) {
  if (!configured_) return;  // the first setConfig sets a new generation anyway
  capture_config c = ReadConfig(env);
  c.filter_gen = ++filter_gen_;
  WriteConfig(env, c);
}

// The configuration entry as the kernel has it (changed in place by SetShed and filter changes).
capture_config CaptureSession::ReadConfig(Napi::Env env) {
  uint32_t zero = 0;
  capture_config c;
  int err = bpf_map__lookup_elem(skel_->maps.capture_cfg, &zero, sizeof(zero), &c, sizeof(c), 0);
  if (err) ThrowBpf(env, "read", err, "the capture configuration");
  return c;
}

void CaptureSession::WriteConfig(Napi::Env env, const capture_config& c) {
  uint32_t zero = 0;
  int err = bpf_map__update_elem(skel_->maps.capture_cfg, &zero, sizeof(zero), &c, sizeof(c), BPF_ANY);
  if (err) ThrowBpf(env, "update", err, "the capture configuration");
}
