// One capture session: the loaded eBPF object, its links and the ring-buffer reader thread.
// Deliberately thin: validation, errors people read and event decoding live in sensor/capture (TypeScript).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

struct capture_bpf;  // generated skeleton (capture.skel.h)
struct capture_config;  // capture.h
struct bpf_link;
struct ring_buffer;

class CaptureSession : public Napi::ObjectWrap<CaptureSession> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CaptureSession(const Napi::CallbackInfo& info);
  ~CaptureSession() override;

 private:
  // All methods below run on the JavaScript thread.
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value AttachUprobes(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value ProgramStats(const Napi::CallbackInfo& info);
  Napi::Value SetConfig(const Napi::CallbackInfo& info);
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value SetShed(const Napi::CallbackInfo& info);
  capture_config ReadConfig(Napi::Env env);
  void WriteConfig(Napi::Env env, const capture_config& c);

  void StopReader();
  void BumpFilterGeneration(Napi::Env env);
  int SetPidBit(uint32_t pid);
  void Destroy();

  // Runs on the reader thread only.
  void ReaderLoop();
  static int OnSample(void* ctx, void* data, size_t size);
  void FlushBatch();

  // Options, fixed at construction.
  uint64_t ring_bytes_;
  uint32_t batch_bytes_;
  int poll_ms_;
  uint32_t max_in_flight_;

  // The configuration last written to the kernel; SetFilter bumps its filter_gen (JavaScript thread).
  uint32_t filter_gen_ = 0;
  uint32_t shed_lots_ = 0;  // load shedding (setShed), kept across setConfig
  uint32_t shed_salt_ = 0;
  bool configured_ = false;

  capture_bpf* skel_ = nullptr;
  bool loaded_ = false;
  std::vector<bpf_link*> links_;
  ring_buffer* ring_ = nullptr;

  std::thread reader_;
  std::atomic<bool> running_{false};
  Napi::ThreadSafeFunction tsfn_;

  // Reader-thread state: the batch being filled. Handed over (ownership moves) to the JS thread.
  std::vector<uint8_t>* batch_ = nullptr;
  uint32_t batch_records_ = 0;

  // Counters written by the reader thread, read by Stats() on the JS thread.
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> stalls_{0};       // polls skipped because JavaScript was behind
  std::atomic<uint64_t> poll_errors_{0};
  std::atomic<uint32_t> in_flight_{0};    // batches queued to or being handled by JavaScript
};
