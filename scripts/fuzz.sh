#!/usr/bin/env bash
# Builds the fuzz preset and runs every libFuzzer target in tests/fuzz for
# SECONDS each (default 60), two at a time, each on a scratch copy of its seed
# corpus tests/fuzz/corpus/<target>/ (what a run learns never goes back into
# the repository). Exits nonzero when a target finds a crash, a leak, UB, a
# timeout or a failed check, and prints where the input that does it is.
#
#   ./scripts/fuzz.sh            # 60 s per target (CI runs 30)
#   ./scripts/fuzz.sh 3600       # a longer run
#   FACTUM_FUZZ_TARGETS="codec json_differential" ./scripts/fuzz.sh 300
#
# Runs go to build/fuzz/runs/<time>/<target>/ (log, grown corpus, crash
# inputs).
# Reproduce a finding: build/fuzz/tests/fuzz/fuzz_<target> <crash input>.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || {
  echo "usage: $0 [seconds per target]" >&2
  exit 2
}
jobs=${FACTUM_FUZZ_JOBS:-2}
read -r -a targets <<<"${FACTUM_FUZZ_TARGETS:-json_text json_differential codec upcast stream_id uuid position sqlite_store}"

# The longest input worth trying per target; a store file is a few pages.
max_len() {
  case $1 in
    uuid* | position*) echo 64 ;;
    stream_id*) echo 1024 ;;
    sqlite_store*) echo 65536 ;;
    *) echo 4096 ;;
  esac
}

echo "== fuzz: cmake --workflow --preset fuzz"
cmake --workflow --preset fuzz

bin=build/fuzz/tests/fuzz
run=build/fuzz/runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$run"

start() {
  local t=$1 dir=$run/$1
  local seeds=tests/fuzz/corpus/$t
  [[ -x $bin/fuzz_$t ]] || {
    echo "fuzz: no target fuzz_$t in $bin" >&2
    return 1
  }
  mkdir -p "$dir/corpus" "$dir/tmp"
  if [[ -d $seeds ]]; then cp "$seeds"/* "$dir/corpus/"; fi
  echo "== fuzz: $t for ${seconds}s (max_len $(max_len "$t"))"
  # The sqlite target's scratch files go to its own TMPDIR.
  TMPDIR=$dir/tmp \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin/fuzz_$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" \
    -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1 &
  pids[$!]=$t
}

declare -A pids=()
failed=()
finish() {
  local rc=$2 t=${pids[$1]}
  unset "pids[$1]"
  local dir=$run/$t
  local stats
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:' "$dir/log" | tail -1 || true)
  local eps
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
  if ((rc == 0)); then
    echo "fuzz: $t ok: ${eps:-?} exec/s, $(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/' <<<"$stats")"
    rm -rf "$dir/tmp"
  else
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); log: $dir/log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|.*runtime error)' "$dir/log" | head -5 >&2 || true
    for input in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
      [[ -e $input ]] || continue
      echo "fuzz: $t input: $input" >&2
      echo "fuzz: reproduce: $bin/fuzz_$t $input" >&2
    done
  fi
}

# Two at a time: start one whenever a slot frees up.
for t in "${targets[@]}"; do
  while ((${#pids[@]} >= jobs)); do
    rc=0
    wait -n -p done_pid "${!pids[@]}" || rc=$?
    finish "$done_pid" "$rc"
  done
  start "$t" || failed+=("$t")
done
while ((${#pids[@]} > 0)); do
  rc=0
  wait -n -p done_pid "${!pids[@]}" || rc=$?
  finish "$done_pid" "$rc"
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: findings in ${failed[*]} (inputs and logs under $run)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a finding ($run)"
