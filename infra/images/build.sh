#!/usr/bin/env bash
# Builds Understory's two images from the repository root with whatever container engine works here:
#   understory/understory-sensor:TAG   (sensor.Dockerfile: BPF object + addon, runs as root with capabilities)
#   understory/understory:TAG          (services.Dockerfile: ingester, k8s-watcher, portal, migrate; non-root)
#
# Usage: infra/images/build.sh [--tag TAG] [--repository-prefix PREFIX] [--push]
#   TAG defaults to the chart's appVersion; PREFIX defaults to "understory" (e.g. registry.example.com/understory).
# Engines tried in order: docker, podman, nerdctl (each must answer `info`, i.e. reach its daemon or runtime).
# Exit status: 0 built, 2 bad usage, 3 no usable container engine (the message says what was found).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
chart="$root/infra/helm/understory/Chart.yaml"

tag=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chart")
prefix=understory
push=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --repository-prefix) prefix=${2:?--repository-prefix needs a value}; shift 2 ;;
    --push) push=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ ! $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
  echo "build.sh: cannot use tag '$tag': not a valid image tag" >&2
  exit 2
fi

engine=""
tried=()
for candidate in docker podman nerdctl; do
  if ! command -v "$candidate" >/dev/null 2>&1; then continue; fi
  if "$candidate" info >/dev/null 2>&1; then engine=$candidate; break; fi
  tried+=("$candidate (installed, but '$candidate info' fails: no daemon or runtime reachable)")
done
if [[ -z $engine ]]; then
  echo "build.sh: cannot build images: no usable container engine on this machine." >&2
  if [[ ${#tried[@]} -gt 0 ]]; then
    for t in "${tried[@]}"; do echo "  found $t" >&2; done
  else
    echo "  none of docker, podman, nerdctl is installed" >&2
  fi
  echo "  Run this script where one works (a workstation or CI runner with Docker or Podman)." >&2
  exit 3
fi

build() { # name dockerfile
  local image="$prefix/$1:$tag"
  echo "build.sh: $engine build -f infra/images/$2 -t $image ."
  # BuildKit reads infra/images/<name>.Dockerfile.dockerignore beside each Dockerfile.
  DOCKER_BUILDKIT=1 "$engine" build -f "$here/$2" -t "$image" "$root"
  if [[ $push -eq 1 ]]; then "$engine" push "$image"; fi
}
build understory-sensor sensor.Dockerfile
build understory services.Dockerfile
echo "build.sh: built $prefix/understory-sensor:$tag and $prefix/understory:$tag"
