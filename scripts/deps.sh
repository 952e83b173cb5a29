#!/usr/bin/env bash
# Installs (as root) or names (otherwise) the Debian packages templar needs.
#   scripts/deps.sh build   compilers and libraries
#   scripts/deps.sh train   the above plus the data sets: Fashion-MNIST, OpenCV's
#                           digit sheet, scikit-learn's digits
#   scripts/deps.sh bench   the above plus PyTorch, for the side-by-side benchmark
#   scripts/deps.sh fuzz    the build set plus clang, its fuzzer and sanitizer
#                           runtimes and its OpenMP (make fuzz, fuzz/ci.sh)
set -euo pipefail
what=${1:-build}
pkgs=(gcc make cmake libc6-dev libdnnl-dev zlib1g-dev libpng-dev libjpeg-dev libfreetype-dev pkgconf fonts-dejavu-core)
case "$what" in
  build) ;;
  train) pkgs+=(dataset-fashion-mnist opencv-doc python3-sklearn fonts-liberation fonts-freefont-ttf) ;;
  bench) pkgs+=(dataset-fashion-mnist python3-torch libopenblas-dev) ;;
  fuzz) pkgs+=(clang libclang-rt-14-dev libomp-14-dev) ;;
  *) echo "usage: scripts/deps.sh build|train|bench|fuzz" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: not a Debian system; make sure these (or your distribution's equivalents) are installed: ${pkgs[*]}" >&2
  exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
