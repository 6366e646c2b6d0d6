#!/usr/bin/env bash
# Run every test: unit, kernel-vs-reference, ONNX node tests and ONNX Runtime end-to-end comparisons, first
# under AddressSanitizer + UndefinedBehaviorSanitizer (build-san), then in the release build (build); then
# every libFuzzer target for 45 s (tools/fuzz.sh, clang, build-fuzz), each counting as one test.
# Ends with one line "N passed, N failed" over all of it.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1
VENV=${ONNXQ_VENV:-$PWD/.venv}
JOBS=$(nproc)
cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONNXQ_SANITIZE=ON -DONNXQ_PYTHON="$VENV/bin/python" >/dev/null || exit 1
cmake --build build-san -j"$JOBS" >/dev/null || { cmake --build build-san 2>&1 | tail -30; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
total_pass=0; total_fail=0
run_ctest() { # dir label-args...
  local dir=$1; shift
  local log; log=$(mktemp)
  (cd "$dir" && ctest -j"$JOBS" --output-on-failure "$@") 2>&1 | tee "$log"
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then echo "test.sh: ctest in $dir printed no summary"; total_fail=$((total_fail + 1)); rm -f "$log"; return; fi
  local failed total
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  total=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
  total_pass=$((total_pass + total - failed)); total_fail=$((total_fail + failed))
  rm -f "$log"
}
echo "== sanitizer build (ASan + UBSan) =="
run_ctest build-san
echo "== release build =="
run_ctest build
echo "== fuzzing (libFuzzer + ASan + UBSan, tools/fuzz.sh; one test per target) =="
fuzz_log=$(mktemp)
bash tools/fuzz.sh 2>&1 | tee "$fuzz_log"
fuzz_line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$fuzz_log" | tail -1)
if [ -z "$fuzz_line" ]; then echo "test.sh: tools/fuzz.sh printed no summary"; total_fail=$((total_fail + 1))
else total_pass=$((total_pass + ${fuzz_line%% passed*})); fuzz_line=${fuzz_line#*, }; total_fail=$((total_fail + ${fuzz_line%% failed*})); fi
rm -f "$fuzz_log"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
