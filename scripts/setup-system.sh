#!/usr/bin/env bash
# Installs the Debian packages that the build, the tests and the benchmarks need.
# Idempotent and fast when everything is present: it only calls apt-get for what is missing.
set -euo pipefail

# command-or-file -> Debian package that provides it
PKGS=(
  "clang:clang" "llvm-strip:llvm" "/usr/include/bpf/libbpf.h:libbpf-dev" "bpftool:bpftool"
  "/usr/include/libelf.h:libelf-dev" "/usr/include/zlib.h:zlib1g-dev" "pkg-config:pkg-config"
  "victoria-metrics:victoria-metrics" "vmagent:victoria-metrics" "promtool:prometheus"
  "tshark:tshark" "chromium:chromium" "chromedriver:chromium-driver"
  "wrk:wrk" "hey:hey" "h2load:nghttp2-client" "curl:curl" "openssl:openssl"
  "redis-server:redis-server" "redis-cli:redis-tools"
  "/usr/lib/postgresql/15/bin/initdb:postgresql" "psql:postgresql-client" "pgbench:postgresql-contrib"
  "mariadbd:mariadb-server" "mariadb:mariadb-client"
  "nats-server:nats-server" "rabbitmq-server:rabbitmq-server"
  "nginx:nginx" "h2o:h2o" "dig:dnsutils" "kcat:kcat"
  "clickhouse-server:clickhouse-server" "capsh:libcap2-bin" "setpriv:util-linux" "ip:iproute2"
  "make:make" "g++:g++" "python3:python3" "lz4:lz4"
)

missing=()
for entry in "${PKGS[@]}"; do
  probe="${entry%%:*}"; pkg="${entry#*:}"
  if [[ "$probe" == /* ]]; then [[ -e "$probe" ]] && continue
  else command -v "$probe" >/dev/null 2>&1 && continue
  fi
  [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup-system: all system packages present"
  exit 0
fi

echo "setup-system: missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "setup-system: not root. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "then run this command again." >&2
  exit 1
fi

# Package post-install scripts must not start system services (postgresql, rabbitmq, nginx, ...):
# tests start their own private instances. policy-rc.d returning 101 tells invoke-rc.d "not allowed".
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/understory-apt.log 2>&1 || {
  echo "setup-system: apt-get install failed; last lines of /tmp/understory-apt.log:" >&2
  tail -30 /tmp/understory-apt.log >&2
  exit 1
}
echo "setup-system: installed ${missing[*]}"
