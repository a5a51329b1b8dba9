{
  # Built by scripts/build-native.mjs (node-gyp --nodedir=/usr), after it has produced
  # sensor/bpf/capture.skel.h. Links the shared libbpf: Debian's libbpf.a is not built with -fPIC.
  "targets": [
    {
      "target_name": "understory_capture",
      "sources": ["src/addon.cc", "src/session.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../bpf"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
