#!/usr/bin/env bash
# Times README.md's install commands (the first ```sh block of "Use it from
# your project") from a fresh clone, as a new user runs them: no ccache, the
# prefix in a scratch folder. Prints each command's time and the total, and
# fails when a command fails or the prefix holds no package.
#   scripts/time-install.sh [BRANCH]    a clone of BRANCH (default: the current one)
#   scripts/time-install.sh --worktree  a copy of the working tree's files, what
#                                       is not committed yet included (ctest's
#                                       package.readme_install)
set -euo pipefail

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
source=${1:-$(git -C "$root" rev-parse --abbrev-ref HEAD)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The block, its continued lines joined, /opt/factum replaced by the scratch prefix.
mapfile -t commands < <(awk '
  /^## Use it from your project/ { section = 1; next }
  section && /^## / { exit }
  section && /^```sh$/ { block = 1; next }
  block && /^```$/ { exit }
  block { line = line $0; if (line ~ /\\$/) { sub(/\\$/, "", line); next } print line; line = "" }
' "$root/README.md" | sed "s|/opt/factum|$work/prefix|g")
((${#commands[@]} > 0)) || { echo "time-install: no sh block in README's section" >&2; exit 1; }

if [[ $source == --worktree ]]; then
  mkdir "$work/factum"
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      [[ -e $root/$f ]] && printf '%s\0' "$f"
    done | (cd "$root" && xargs -0 cp --parents -t "$work/factum")
  source="the working tree"
else
  git clone -q --branch "$source" "$root" "$work/factum"
  source="a fresh clone of $source ($(git -C "$work/factum" rev-parse --short HEAD))"
fi
cd "$work/factum"
export CCACHE_DISABLE=1
unset CMAKE_CXX_COMPILER_LAUNCHER CMAKE_BUILD_PARALLEL_LEVEL
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { print t1 - t0 }'; }
start=$(date +%s.%N)
for c in "${commands[@]}"; do
  t0=$(date +%s.%N)
  bash -c "$c" >"$work/log" 2>&1 || { cat "$work/log"; echo "time-install: failed: $c" >&2; exit 1; }
  printf '%6.1f s  %s\n' "$(since "$t0")" "$c"
done
printf '%6.1f s  total, from %s, %s cores, load %s\n' \
  "$(since "$start")" "$source" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
config=$(find "$work/prefix" -name factum-config.cmake)
[[ -n $config ]] || { echo "time-install: no factum-config.cmake in the prefix" >&2; exit 1; }
echo "installed: $(find "$work/prefix" -type f | wc -l) files;" \
  "$(cd "$work/prefix" && find . -type f \( -name '*.a' -o -name '*.so*' -o -path './bin/*' \) | sort | xargs)"
