# Shared by the CLI tests (sourced, not run; the CLI tests are tests/cli_*.sh):
# pass/fail counting, running the binary ($BIN, in $T), expecting one-line
# errors, checking that nothing was left behind, tiny IDX data sets made
# with printf alone, and looks at the PNG and SVG pictures written.

# harness_start NAME BIN: BIN made absolute, a scratch directory $T that is
# removed at exit and is the working directory (so a default output file
# lands there), two OpenMP threads.
harness_start() {
    BIN=$2
    if [ -z "$BIN" ]; then
        echo "usage: bash tests/$1.sh PATH/TO/templar" >&2
        exit 2
    fi
    case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
    T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    trap 'rm -rf "$T"' EXIT
    export OMP_NUM_THREADS=2
    cd "$T" || exit 1
}

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
    if [ -s "$T/stderr" ]; then sed 's/^/    stderr: /' "$T/stderr" | head -5 >&2; fi
}

# run CMD...: runs the binary with the given arguments; sets rc, stdout in
# $T/stdout, stderr in $T/stderr.
run() {
    "$BIN" "$@" >"$T/stdout" 2>"$T/stderr"
    rc=$?
}

lines() { awk 'END { print NR }' "$1"; }

# expect_error CODE NEEDLE DESC -- ARGS...: exit code CODE, exactly one line
# on stderr, containing NEEDLE (fixed string), nothing on stdout.
expect_error() {
    local code=$1 needle=$2 desc=$3
    shift 4
    run "$@"
    local n
    n=$(lines "$T/stderr")
    if [ "$rc" -ne "$code" ]; then
        bad "$desc: exit $rc, expected $code  (templar $*)"
    elif [ "$n" -ne 1 ]; then
        bad "$desc: $n lines on stderr, expected 1  (templar $*)"
    elif ! grep -qF -- "$needle" "$T/stderr"; then
        bad "$desc: stderr does not mention '$needle'  (templar $*)"
    elif [ -s "$T/stdout" ]; then
        bad "$desc: printed on stdout  (templar $*)"
    else
        ok
    fi
}

# no_file PATH DESC: PATH must not exist, nor any temporary file beside it.
no_file() {
    local left
    left=$(find "$(dirname "$1")" -maxdepth 1 \( -path "$1" -o -name "$(basename "$1").tmp*" \) 2>/dev/null)
    if [ -n "$left" ]; then bad "$2: left behind: $left"; else ok; fi
}

# ---- IDX files, made with printf alone ----------------------------------
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
# idx_images FILE N H W SEED: pseudo-random pixels (an LCG, so runs repeat)
idx_images() {
    local file=$1 n=$2 h=$3 w=$4 x=$5 i b esc
    esc="\\x00\\x00\\x08\\x03$(be32 "$n")$(be32 "$h")$(be32 "$w")"
    for ((i = 0; i < n * h * w; i++)); do
        x=$(((x * 1103515245 + 12345) & 0x7fffffff))
        printf -v b '\\x%02x' $((x >> 16 & 255))
        esc+=$b
    done
    printf "$esc" >"$file"
}
# idx_labels FILE N CLASSES
idx_labels() {
    local file=$1 n=$2 k=$3 i b esc
    esc="\\x00\\x00\\x08\\x01$(be32 "$n")"
    for ((i = 0; i < n; i++)); do
        printf -v b '\\x%02x' $(((i * 7 + i / 5) % k))
        esc+=$b
    done
    printf "$esc" >"$file"
}
# idx_dir DIR SIDE TRAIN TEST CLASSES SEED
idx_dir() {
    mkdir -p "$1"
    idx_images "$1/train-images-idx3-ubyte" "$3" "$2" "$2" "$6"
    idx_labels "$1/train-labels-idx1-ubyte" "$3" "$5"
    idx_images "$1/t10k-images-idx3-ubyte" "$4" "$2" "$2" $(($6 + 1))
    idx_labels "$1/t10k-labels-idx1-ubyte" "$4" "$5"
}

# same_tensors A B: two model files hold the same tensors, byte for byte
# (their metadata, which records each run's own command line, aside).
st_data() {
    local n
    n=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
    tail -c +$((9 + n)) "$1"
}
same_tensors() { cmp -s <(st_data "$1") <(st_data "$2"); }

# results FILE: eval's result lines (its per-class and confusion lines,
# indented, aside).
results() { grep -v '^ ' "$1"; }

# value KEY LINE: the value of KEY=... in LINE
value() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# ---- pictures ---------------------------------------------------------------------
# png_size FILE: "W H" from the IHDR chunk (after the 8-byte signature, the
# chunk's length and type: bytes 16-23, big-endian)
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ print $1*2^24 + $2*2^16 + $3*2^8 + $4, $5*2^24 + $6*2^16 + $7*2^8 + $8 }'; }
# png_sig FILE: its first 8 bytes as od prints them, PNG_SIG for a PNG
PNG_SIG=" 89 50 4e 47 0d 0a 1a 0a"
png_sig() { od -An -tx1 -N8 "$1" 2>/dev/null; }
# tmp_left: the first temporary files left in $T
tmp_left() { find "$T" -name '*.tmp*' | head -3; }
# svg_ok FILE: an XML document with one closed <svg>, each <text> closed
svg_ok() {
    case $(head -c 5 "$1") in "<?xml") ;; *) return 1 ;; esac
    [ "$(tail -n 1 "$1")" = "</svg>" ] || return 1
    [ "$(grep -c '<text' "$1")" -eq "$(grep -c '</text>' "$1")" ] || return 1
    if command -v xmllint >/dev/null; then xmllint --noout "$1" 2>/dev/null || return 1; fi
}
