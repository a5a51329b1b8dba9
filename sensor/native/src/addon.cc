// Module entry: exports the CaptureSession class and the event layout (struct sizes and field offsets
// from capture.h) so the TypeScript decoder can check it agrees with the structs it was compiled against.
#include <napi.h>

#include <cstddef>

#include "capture.h"
#include "session.h"

namespace {

Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto set = [&](const char* k, size_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  set("headerSize", sizeof(capture_header));
  set("header.tsNs", offsetof(capture_header, ts_ns));
  set("header.pid", offsetof(capture_header, pid));
  set("header.tid", offsetof(capture_header, tid));
  set("header.fd", offsetof(capture_header, fd));
  set("header.kind", offsetof(capture_header, kind));
  set("header.flags", offsetof(capture_header, flags));
  set("header.shedBefore", offsetof(capture_header, shed_before));
  set("tupleSize", sizeof(capture_tuple));
  set("tuple.laddr", offsetof(capture_tuple, laddr));
  set("tuple.raddr", offsetof(capture_tuple, raddr));
  set("tuple.lport", offsetof(capture_tuple, lport));
  set("tuple.rport", offsetof(capture_tuple, rport));
  set("tuple.family", offsetof(capture_tuple, family));
  set("tuple.protocol", offsetof(capture_tuple, protocol));
  set("tuple.role", offsetof(capture_tuple, role));
  set("conn.tuple", offsetof(capture_conn_event, t));
  set("conn.ret", offsetof(capture_conn_event, ret));
  set("connSize", sizeof(capture_conn_event));
  set("data.tuple", offsetof(capture_data_event, t));
  set("data.len", offsetof(capture_data_event, len));
  set("data.capLen", offsetof(capture_data_event, cap_len));
  set("data.direction", offsetof(capture_data_event, direction));
  set("data.syscall", offsetof(capture_data_event, syscall));
  set("dataSize", sizeof(capture_data_event));
  set("proc.ppid", offsetof(capture_proc_event, ppid));
  set("proc.childPid", offsetof(capture_proc_event, child_pid));
  set("proc.exitCode", offsetof(capture_proc_event, exit_code));
  set("proc.comm", offsetof(capture_proc_event, comm));
  set("procSize", sizeof(capture_proc_event));
  set("maxData", CAPTURE_MAX_DATA);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CaptureSession", CaptureSession::Define(env));
  exports.Set("layout", Layout(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(understory_capture, Init)
