#!/usr/bin/env bash
# Compile cost of factum's headers (issue 15, item 5): CPU seconds (user +
# sys) and peak memory of g++ compiling the translation units in
# bench/compile_cost/, with the flags a user of the installed package gets
# (-std=c++20 -O2 and the include folders; no precompiled header), niced,
# one compile at a time. One JSON object per line (shared/BENCH.md):
#
#   compile.domain_only.cpu       the four aggregates' domain headers, a trivial main
#   compile.given_when_then.cpu   the same plus ten given/when/then cases;
#                                 baseline compile.domain_only.cpu, goal ratio <= 2
#   compile.codecs.cpu            the one TU that compiles the four aggregates'
#                                 codecs (FACTUM_INSTANTIATE_CODEC), which the
#                                 headers declare with FACTUM_EXTERN_CODEC
#   compile.app.cpu               a runtime on SQLite, a projection and a process
#                                 manager (-c only); goal <= 20 s
#   compile.<tu>.rss              peak resident memory of the compiler, in bytes;
#                                 for app the goal is <= 800 MB
#
# Each figure is the median of --reps runs (default 3), taken in rounds of
# every TU in turn so that a busy moment of the machine hits all of them.
#
#   bench/compile-cost.sh                       # all TUs, 3 rounds
#   bench/compile-cost.sh --reps 5 --filter given # TUs whose name matches the regex
#   EXTRA_FLAGS=-DCC_INLINE_CODEC bench/compile-cost.sh   # every TU compiles the
#                                               # codecs itself (no FACTUM_EXTERN_CODEC)
#   CXX=g++-12 EXTRA_FLAGS=-ftime-report bench/compile-cost.sh --reps 1
#   bench/compile-cost.sh --headers             # instead: each header of HEADERS
#                                               # alone, compile.header.<name>.*
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
src="$here/compile_cost"
cxx="${CXX:-g++}"
reps=3
filter='.'
headers=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --filter) filter="$2"; shift 2 ;;
    --headers) headers=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "compile-cost: unknown option $1" >&2; exit 2 ;;
  esac
done
if (( reps < 1 )); then echo "compile-cost: --reps must be at least 1" >&2; exit 2; fi
if [[ ! -x /usr/bin/time ]]; then
  echo "compile-cost: needs GNU time as /usr/bin/time (apt-get install -y time)" >&2
  exit 2
fi

# The include folders the headers need: factum's own, and those of
# nlohmann/json, Boost and SQLite when they are not in the system's.
flags=(-std=c++20 -O2 -I"$repo/include")
for dir in ${FACTUM_DEP_INCLUDES:-}; do flags+=(-isystem "$dir"); done
# shellcheck disable=SC2206 # split on purpose: extra flags for experiments
extra=(${EXTRA_FLAGS:-})

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# With --headers, each header alone in a TU of its own (with an empty main),
# named after the header: boost/asio.hpp is header.boost_asio. <utility>
# first, because Boost 1.74's Asio uses std::exchange without including it
# under C++20 (factum's headers include it before Asio, see docs.asio_once).
header_list=(${HEADERS:-boost/asio.hpp nlohmann/json.hpp factum/domain.hpp factum/domain/testing.hpp
  factum/runtime.hpp factum/store/sqlite_store.hpp factum/subscribe.hpp})
tus=()
if (( headers )); then
  src="$out/src"
  mkdir -p "$src"
  for h in "${header_list[@]}"; do
    name="header.$(echo "${h%.hpp}" | tr '/.' '__')"
    printf '#include <utility>\n#include <%s>\nint main() { return 0; }\n' "$h" >"$src/$name.cpp"
    if [[ "$name" =~ $filter ]]; then tus+=("$name"); fi
  done
else
  for tu in domain_only given_when_then codecs app; do
    if [[ "$tu" =~ $filter ]]; then tus+=("$tu"); fi
  done
fi
if (( ${#tus[@]} == 0 )); then echo "compile-cost: no TU matches '$filter'" >&2; exit 2; fi

# One compile: appends "cpu_seconds peak_kb" to $out/<tu>.
measure() {
  local tu="$1"
  if ! nice -n 10 /usr/bin/time -o "$out/$tu.time" -f '%U %S %M' \
      "$cxx" "${flags[@]}" "${extra[@]}" -c "$src/$tu.cpp" -o "$out/$tu.o" 2>"$out/$tu.err"; then
    cat "$out/$tu.err" >&2
    echo "compile-cost: $tu does not compile" >&2
    exit 1
  fi
  if [[ ${#extra[@]} -gt 0 ]]; then cat "$out/$tu.err" >&2; fi
  awk '{ printf "%.2f %d\n", $1 + $2, $3 }' "$out/$tu.time" >>"$out/$tu"
}

for ((r = 1; r <= reps; r++)); do
  for tu in "${tus[@]}"; do
    measure "$tu"
    echo "compile-cost: round $r $tu $(tail -n 1 "$out/$tu")" >&2
  done
done

median() {  # median of column $2 of file $1
  sort -g -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'
}

compiler="$("$cxx" --version | head -n 1)"
shown_flags="${flags[*]/#-I$repo/-I<repo>}"
if [[ ${#extra[@]} -gt 0 ]]; then shown_flags+=" ${extra[*]}"; fi
params() {  # the params common to every line, then the extra ones given
  printf '{"reps":%d,"flags":"%s","compiler":"%s"%s}' "$reps" "$shown_flags" "$compiler" "${1:-}"
}

declare -A cpu rss
for tu in "${tus[@]}"; do
  cpu[$tu]="$(median "$out/$tu" 1)"
  rss[$tu]="$(median "$out/$tu" 2)"
done

for tu in "${tus[@]}"; do
  c="${cpu[$tu]}"
  bytes=$(( rss[$tu] * 1024 ))
  mb=$(( rss[$tu] / 1024 ))
  case "$tu" in
    given_when_then)
      if [[ -n "${cpu[domain_only]:-}" ]]; then
        ratio="$(awk -v a="$c" -v b="${cpu[domain_only]}" 'BEGIN { printf "%.2f", a / b }')"
        ok="$(awk -v r="$ratio" 'BEGIN { print (r <= 2 ? "true" : "false") }')"
        printf '{"name":"compile.given_when_then.cpu","value":%s,"unit":"s","baseline_name":"compile.domain_only.cpu","baseline":%s,"ratio":%s,"params":%s}\n' \
          "$c" "${cpu[domain_only]}" "$ratio" "$(params ",\"cases\":10,\"aggregates\":4,\"goal_ratio\":2,\"meets_goal\":$ok")"
      else
        printf '{"name":"compile.given_when_then.cpu","value":%s,"unit":"s","baseline_name":null,"baseline":null,"params":%s}\n' \
          "$c" "$(params ',"cases":10,"aggregates":4')"
      fi
      ;;
    codecs)
      printf '{"name":"compile.codecs.cpu","value":%s,"unit":"s","baseline_name":null,"baseline":null,"params":%s}\n' \
        "$c" "$(params ',"codecs":4')"
      ;;
    app)
      ok="$(awk -v s="$c" 'BEGIN { print (s <= 20 ? "true" : "false") }')"
      printf '{"name":"compile.app.cpu","value":%s,"unit":"s","baseline_name":null,"baseline":null,"params":%s}\n' \
        "$c" "$(params ",\"goal_s\":20,\"meets_goal\":$ok")"
      ;;
    *)
      printf '{"name":"compile.%s.cpu","value":%s,"unit":"s","baseline_name":null,"baseline":null,"params":%s}\n' \
        "$tu" "$c" "$(params)"
      ;;
  esac
  if [[ "$tu" == app ]]; then
    ok="$(( mb <= 800 ))"
    [[ "$ok" == 1 ]] && ok=true || ok=false
    printf '{"name":"compile.app.rss","value":%d,"unit":"bytes","baseline_name":null,"baseline":null,"params":%s}\n' \
      "$bytes" "$(params ",\"mb\":$mb,\"goal_mb\":800,\"meets_goal\":$ok")"
  else
    printf '{"name":"compile.%s.rss","value":%d,"unit":"bytes","baseline_name":null,"baseline":null,"params":%s}\n' \
      "$tu" "$bytes" "$(params ",\"mb\":$mb")"
  fi
done
