#!/bin/sh
# A tour of the bank example: runs its commands on a fresh file in a
# temporary folder, showing each before it runs.
#
#   examples/bank/tour.sh [BANK]   BANK: the built program
#                                  (default build/release/examples/bank/bank)
set -e
bank=${1:-build/release/examples/bank/bank}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() {
  echo "\$ bank $*"
  "$bank" --db "$dir/bank.db" "$@"
}
run open acc-1 Ann
run open acc-2 Bob
run deposit acc-1 100
run withdraw acc-1 30
run transfer acc-1 acc-2 25
# Refused, so each exits 1: no such account (the credit is refunded), too little money.
run transfer acc-1 acc-404 10 || echo "(exit $?)"
run withdraw acc-1 500 || echo "(exit $?)"
run balance acc-1
run history acc-1
run accounts
