#!/usr/bin/env bash
# No include points up a layer.  The build already refuses one (each layer
# sees only its own headers and those below); this test names the file and
# the header, and also catches a path that climbs out ("../model/model.h").
#
# usage: bash tests/layers.sh SOURCE_DIR
set -u
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$SRC/src" || exit 1
# what each layer may include, itself aside (the public headers always)
declare -A may=(
  [base]=""
  [kernels]="base"
  [model]="base kernels"
  [data]="base"
  [train]="base kernels model data"
  [io]="base kernels model data train"
  [image]="base data"
  [sources]="base data image"
  [viz]="base data image"
  [serve]="base kernels model data train io image"
  [cli]="base kernels model data train io image sources viz serve"
)
# the layer that owns each header
declare -A owner
for layer in "${!may[@]}"; do
  for h in "$layer"/*.h; do [ -e "$h" ] && owner[$(basename "$h")]=$layer; done
done
fail=0
for layer in "${!may[@]}"; do
  for f in "$layer"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      h=${inc#*\"}; h=${h%\"*}
      case "$h" in */*) echo "$f: includes \"$h\" by path: include a layer's header by its name"; fail=1; continue ;; esac
      [ -e "../include/$h" ] && continue
      o=${owner[$h]:-}
      if [ -z "$o" ]; then echo "$f: includes \"$h\", which no layer has"; fail=1; continue; fi
      [ "$o" = "$layer" ] && continue
      case " ${may[$layer]} " in *" $o "*) ;; *) echo "$f: $layer includes \"$h\" of $o, which is not below it"; fail=1 ;; esac
    done < <(grep -h '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
  done
done
[ $fail -eq 0 ] && echo "layers: every include points down"
exit $fail
