#!/usr/bin/env bash
# Installs (as root) or names (otherwise) the Debian packages templar needs.
#   scripts/deps.sh build   compilers and libraries
#   scripts/deps.sh train   the above plus the data sets: Fashion-MNIST, OpenCV's
#                           digit sheet, scikit-learn's digits, the fonts that
#                           print digits and the Noto fonts of the script suite
#   scripts/deps.sh test    the above plus what the tests' real-data and
#                           side-by-side checks use (PyTorch, NumPy, curl); as a
#                           user, missing ones are named and their tests skip
#   scripts/deps.sh bench   the build set plus PyTorch and OpenBLAS, for the
#                           side-by-side benchmarks, and FastAPI, uvicorn,
#                           Pillow and curl for the serving one (bench/serve)
#   scripts/deps.sh fuzz    the build set plus clang, its fuzzer and sanitizer
#                           runtimes and its OpenMP (make fuzz, fuzz/ci.sh)
set -euo pipefail
what=${1:-build}
need=(gcc make cmake libc6-dev libdnnl-dev zlib1g-dev libpng-dev libjpeg-dev libfreetype-dev
      libmicrohttpd-dev pkgconf fonts-dejavu-core)
data=(dataset-fashion-mnist opencv-doc python3-sklearn fonts-liberation fonts-freefont-ttf
      fonts-noto-core fonts-noto-cjk)
want=()  # wanted, not needed: without them some tests skip (exit 77)
case "$what" in
  build) ;;
  train) need+=("${data[@]}") ;;
  test) want+=("${data[@]}" python3-torch python3-numpy curl) ;;
  bench) need+=(dataset-fashion-mnist python3-torch libopenblas-dev python3-fastapi python3-uvicorn
                python3-uvloop python3-httptools python3-pil curl) ;;
  fuzz) need+=(clang libclang-rt-14-dev libomp-14-dev) ;;
  *) echo "usage: scripts/deps.sh build|train|test|bench|fuzz" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps: not a Debian system; make sure these (or your distribution's equivalents) are installed: ${need[*]} ${want[*]}" >&2
  exit 0
fi
absent() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(absent "${need[@]}")
mapfile -t wanted < <(absent "${want[@]}")
[ ${#missing[@]} -eq 0 ] && [ ${#wanted[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  all=("${missing[@]}" "${wanted[@]}")
  echo "deps: installing ${all[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${all[@]}" >/dev/null
  exit 0
fi
if [ ${#wanted[@]} -gt 0 ]; then
  echo "deps: not installed, so the tests that use them will be skipped: ${wanted[*]}" >&2
  echo "deps: install them with: sudo apt-get install ${wanted[*]}" >&2
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
