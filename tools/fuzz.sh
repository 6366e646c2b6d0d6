#!/usr/bin/env bash
# Fuzz the parsers of onnxq with libFuzzer: build the targets of tests/fuzz with clang (library instrumented
# with ASan + UBSan + coverage, in build-fuzz), write their seed corpora from real files (tools/fuzz_seeds.py),
# and run each target for a bounded time. A crash, leak, undefined behaviour, timeout (-timeout=10 s per
# input) or memory blow-up (-rss_limit_mb=2048) fails the target and prints the reproducer file; a stop on
# a bug listed in tests/fuzz/known_issues.txt (reported, owned elsewhere) is noted and fuzzing goes on.
# Ends with one line "N passed, N failed" (one per target); exit status nonzero on any failure.
#
#   bash tools/fuzz.sh                          # every target for 45 s (what CI runs, via tools/test.sh)
#   bash tools/fuzz.sh --seconds 600            # the long run
#   bash tools/fuzz.sh --target fuzz_npy --seconds 60
#   bash tools/fuzz.sh --repro FILE [--target T] # replay one input (T is guessed from FILE's name)
#   bash tools/fuzz.sh --fresh                  # forget the corpus the earlier runs grew
#
# Layout: BUILD/fuzz/seeds/<target> (regenerated every run), BUILD/fuzz/corpus/<target> (kept between runs:
# coverage accumulates), BUILD/fuzz/artifacts/<target>-crash-* (reproducers), BUILD/fuzz/logs/<target>.log.
# Environment: ONNXQ_VENV (default .venv), ONNXQ_FUZZ_BUILD (default build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."
ALL_TARGETS="fuzz_onnx_load fuzz_config fuzz_npy fuzz_image fuzz_preprocess"
SECS=45
TARGETS=""
REPRO=""
FRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --target) TARGETS="$TARGETS $2"; shift 2 ;;
    --repro) REPRO=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | cut -c3-; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)"; exit 2 ;;
    esac
done
TARGETS=${TARGETS:-$ALL_TARGETS}
VENV=${ONNXQ_VENV:-$PWD/.venv}
BUILD=${ONNXQ_FUZZ_BUILD:-build-fuzz}
FUZZ=$BUILD/fuzz

command -v clang >/dev/null || { echo "fuzz.sh: clang not found; bash tools/setup.sh installs it"; exit 1; }
CC=clang cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNXQ_FUZZ=ON -DONNXQ_BUILD_TESTS=OFF \
    >/dev/null || exit 1
if ! cmake --build "$BUILD" -j"$(nproc)" --target fuzz_all onnxq >/dev/null 2>&1; then
    cmake --build "$BUILD" --target fuzz_all onnxq 2>&1 | grep -E "error|Error" | head -30
    echo "fuzz.sh: building the fuzz targets failed"
    exit 1
fi

# -fno-sanitize-recover makes every UBSan report fatal; LeakSanitizer runs after each input (libFuzzer
# -detect_leaks=1, the default). Allocation limits: tests/fuzz/fuzz_util.h.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ -n "$REPRO" ]; then
    t=$(echo $TARGETS | cut -d' ' -f1)
    if [ "$TARGETS" = "$ALL_TARGETS" ]; then t=$(basename "$REPRO"); t=${t%%-*}; fi
    [ -x "$BUILD/tests/fuzz/$t" ] || { echo "fuzz.sh: give --target for $REPRO"; exit 2; }
    "$BUILD/tests/fuzz/$t" -rss_limit_mb=2048 -timeout=10 "$REPRO"
    exit $?
fi

[ "$FRESH" -eq 1 ] && rm -rf "$FUZZ/corpus"
rm -rf "$FUZZ/seeds"
mkdir -p "$FUZZ/corpus" "$FUZZ/artifacts" "$FUZZ/logs"
"$VENV/bin/python" tools/fuzz_seeds.py --out "$FUZZ/seeds" --onnxq "$BUILD/onnxq" >/dev/null || {
    echo "fuzz.sh: tools/fuzz_seeds.py failed"; exit 1; }

KNOWN=tests/fuzz/known_issues.txt
# "function src/file.c" of the first stack frame inside src/ (UBSan, ASan, LeakSanitizer, FUZZ_REQUIRE aborts)
crash_signature() {
    grep -oE '#[0-9]+ 0x[0-9a-f]+ in [A-Za-z_][A-Za-z0-9_]* [^ ]*/src/[^ :]+' "$1" | head -1 |
        sed -E 's/.* in ([A-Za-z0-9_]+) [^ ]*\/(src\/[^ :]+)/\1 \2/'
}

pass=0
fail=0
for t in $TARGETS; do
    bin=$BUILD/tests/fuzz/$t
    [ -x "$bin" ] || { echo "fuzz.sh: no target $t (targets: $ALL_TARGETS)"; fail=$((fail + 1)); continue; }
    log=$FUZZ/logs/$t.log
    mkdir -p "$FUZZ/corpus/$t"
    if [ "$(find "$FUZZ/corpus/$t" -type f | wc -l)" -gt 1000 ]; then
        # a corpus grown over many runs: keep the inputs that give its coverage, so startup stays short
        rm -rf "$FUZZ/corpus/$t.min" && mkdir -p "$FUZZ/corpus/$t.min"
        "$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 "$FUZZ/corpus/$t.min" "$FUZZ/corpus/$t" >"$log" 2>&1 &&
            rm -rf "$FUZZ/corpus/$t" && mv "$FUZZ/corpus/$t.min" "$FUZZ/corpus/$t"
    fi
    extra=()
    [ -f "$FUZZ/seeds/$t.dict" ] && extra+=(-dict="$FUZZ/seeds/$t.dict")
    [ -d "$FUZZ/seeds/$t" ] && extra+=("$FUZZ/seeds/$t")
    start=$(date +%s)
    execs=0
    known=""
    : >"$log"
    while :; do
        left=$((SECS - ($(date +%s) - start)))
        [ "$left" -lt 1 ] && { rc=0; break; }
        "$bin" -max_total_time="$left" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
            -artifact_prefix="$FUZZ/artifacts/$t-" "$FUZZ/corpus/$t" "${extra[@]}" >"$log.run" 2>&1
        rc=$?
        cat "$log.run" >>"$log"
        n=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log.run" | grep -oE '[0-9]+$' | tail -1)
        execs=$((execs + ${n:-0}))
        [ "$rc" -eq 0 ] && break
        # stopped on an input: a known issue (tests/fuzz/known_issues.txt) lets the run go on, anything else fails
        sig=$(crash_signature "$log.run")
        if [ -n "$sig" ] && awk -v t="$t" -v s="$sig" '!/^#/ && $1 == t && $2 " " $3 == s { f = 1 } END { exit !f }' "$KNOWN"; then
            known="$known${known:+, }$sig"
            continue
        fi
        break
    done
    rm -f "$log.run"
    took=$(($(date +%s) - start))
    corpus=$(find "$FUZZ/corpus/$t" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        printf 'fuzz.sh: %-16s ok    %9s execs in %4d s, corpus %d files\n' "$t" "$execs" "$took" "$corpus"
        [ -n "$known" ] && echo "    stopped on known issues and went on: $known (tests/fuzz/known_issues.txt)"
    else
        fail=$((fail + 1))
        printf 'fuzz.sh: %-16s FAIL  exit %d after %d s (%s execs); log %s\n' "$t" "$rc" "$took" "$execs" "$log"
        grep -E 'ERROR: |runtime error|fuzz invariant failed|SUMMARY' "$log" | tail -8 | sed 's/^/    /'
        [ -n "$sig" ] && echo "    first frame in src/: $sig"
        repro=$(grep -oE 'Test unit written to .*' "$log" | sed 's/Test unit written to //' | tail -1)
        [ -n "$repro" ] && echo "    reproducer: $repro  (replay: bash tools/fuzz.sh --repro $repro)"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
