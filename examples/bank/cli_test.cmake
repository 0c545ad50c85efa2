# Tests of the `bank` program, driven as a user would: run the binary,
# check its output and its exit code. Run by ctest as `cmake -P`:
#   -DBANK=<the bank executable> -DPART=<which test> -DWORK_DIR=<a scratch folder>
# Parts: commands, rejections, usage, transfers, replay, concurrent, crash.
foreach(var BANK PART WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "cli_test.cmake needs -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(db "${WORK_DIR}/bank.db")

# bank(<exit code> [ARGS args...] [EXPECT regex...] [ENV var=value...] [IN dir] [NO_DB])
# Runs bank with --db ${db} (unless NO_DB) and ARGS, in WORK_DIR (or IN);
# fails unless it exits with the code and its output (stdout and stderr)
# matches every regex. Leaves its stdout in bank_out.
function(bank expect_rc)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_DB" "IN" "ARGS;EXPECT;ENV")
  set(dir "${WORK_DIR}")
  if(arg_IN)
    set(dir "${arg_IN}")
  endif()
  set(db_args --db "${db}")
  if(arg_NO_DB)
    set(db_args "")
  endif()
  # Set here rather than with `cmake -E env`, which would hide a signal.
  foreach(kv IN LISTS arg_ENV)
    string(REGEX MATCH "^([^=]+)=(.*)$" _ "${kv}")
    set(ENV{${CMAKE_MATCH_1}} "${CMAKE_MATCH_2}")
  endforeach()
  execute_process(COMMAND "${BANK}" ${db_args} ${arg_ARGS}
    WORKING_DIRECTORY "${dir}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  foreach(kv IN LISTS arg_ENV)
    string(REGEX MATCH "^[^=]+" name "${kv}")
    unset(ENV{${name}})
  endforeach()
  message(STATUS "bank ${arg_ARGS} -> ${rc}\n${out}${err}")
  if(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "bank ${arg_ARGS}: exit '${rc}', expected '${expect_rc}'")
  endif()
  foreach(regex IN LISTS arg_EXPECT)
    if(NOT "${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "bank ${arg_ARGS}: output does not match '${regex}'")
    endif()
  endforeach()
  set(bank_out "${out}" PARENT_SCOPE)
endfunction()

# Fails unless `bank balance ACC` exits 0 with VALUE alone on its last line.
function(expect_balance acc value)
  bank(0 ARGS balance ${acc})
  if(NOT bank_out MATCHES "(^|\n)${value}\n$")
    message(FATAL_ERROR "balance of ${acc}: expected ${value} on the last line")
  endif()
endfunction()

# Runs the sh SCRIPT with BANK and DB in its environment; fails unless it
# exits 0 and its output matches every regex of EXPECT.
function(run_sh script)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "EXPECT")
  execute_process(COMMAND ${CMAKE_COMMAND} -E env "BANK=${BANK}" "DB=${db}" sh -c "${script}"
    WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "sh -> ${rc}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the shell script failed (${rc})")
  endif()
  foreach(regex IN LISTS arg_EXPECT)
    if(NOT "${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "the shell script's output does not match '${regex}'")
    endif()
  endforeach()
endfunction()

# Counts the lines of `bank history ACC` whose type and data match REGEX.
function(count_history var acc regex)
  bank(0 ARGS history ${acc})
  string(REGEX MATCHALL "${regex}" found "${bank_out}")
  list(LENGTH found n)
  set(${var} ${n} PARENT_SCOPE)
endfunction()

if(PART STREQUAL "commands")
  bank(0 ARGS --help EXPECT "^usage: bank " "transfer FROM TO AMOUNT" "dead-letters"
                            "BANK_TEST_CRASH_AFTER_REQUEST")
  bank(0 ARGS open acc-1 Ann EXPECT "^opened acc-1 for Ann\n$")
  bank(0 ARGS deposit acc-1 100 EXPECT "^deposited 100, acc-1 balance 100\n$")
  bank(0 ARGS withdraw acc-1 30 EXPECT "^withdrew 30, acc-1 balance 70\n$")
  expect_balance(acc-1 70)
  bank(0 ARGS history acc-1
    EXPECT "^version  position  type +data\n"
           "\n +1 +1  AccountOpened +{\"owner\":\"Ann\"}\n"
           "\n +2 +2  MoneyDeposited +{\"amount\":100}\n"
           "\n +3 +3  MoneyWithdrawn +{\"amount\":30}\n$")
  bank(0 ARGS open acc-2 Bob)
  bank(0 ARGS accounts EXPECT "^acc-1  Ann  70\nacc-2  Bob  0\n$")
  bank(0 ARGS dead-letters EXPECT "^no dead letters\n$")
  bank(0 ARGS metrics EXPECT "# TYPE factum_store_read_seconds histogram\n"
    "factum_store_read_seconds_count{outcome=\"ok\"} [1-9]")
  bank(0 ARGS replay EXPECT "^replayed: ")
  # Runs again on the file: it continues from what the last runs stored.
  bank(0 ARGS deposit acc-1 5 EXPECT "balance 75\n$")
  # No --db: bank.db in the working directory.
  file(MAKE_DIRECTORY "${WORK_DIR}/default")
  bank(0 NO_DB IN "${WORK_DIR}/default" ARGS open acc-1 Cy)
  if(NOT EXISTS "${WORK_DIR}/default/bank.db")
    message(FATAL_ERROR "bank without --db did not create bank.db in its working directory")
  endif()
  bank(0 NO_DB IN "${WORK_DIR}/default" ARGS accounts EXPECT "^acc-1  Cy  0\n$")

elseif(PART STREQUAL "rejections")
  bank(0 ARGS open acc-1 Ann)
  bank(0 ARGS deposit acc-1 70)
  bank(1 ARGS open acc-1 Ann EXPECT "^bank: rejected: the account is open already \\(already_open\\)\n$")
  run_sh([=["$BANK" --db "$DB" open acc-2 "" 2>&1; test $? -eq 1]=]
    EXPECT "^bank: rejected: an account needs an owner \\(invalid_owner\\)\n$")
  bank(1 ARGS deposit acc-9 10 EXPECT "^bank: rejected: the account is not open \\(account_not_open\\)\n$")
  bank(1 ARGS withdraw acc-9 10 EXPECT "account_not_open")
  bank(1 ARGS withdraw acc-1 100
    EXPECT "^bank: rejected: balance 70, withdrawal 100 \\(insufficient_funds\\)\n$")
  bank(1 ARGS deposit acc-1 9223372036854775800 EXPECT "the balance would overflow \\(balance_overflow\\)")
  bank(1 ARGS transfer acc-1 acc-1 10
    EXPECT "rejected: a transfer needs two different accounts \\(invalid_accounts\\)")
  bank(1 ARGS balance acc-9 EXPECT "^bank: no account acc-9\n$")
  bank(1 ARGS history acc-9 EXPECT "^bank: no account acc-9\n$")
  # Nothing was stored by the rejections.
  expect_balance(acc-1 70)
  count_history(n acc-1 "\n +[0-9]+ +[0-9]+  ")
  if(NOT n EQUAL 2)
    message(FATAL_ERROR "acc-1 has ${n} events, expected 2")
  endif()

elseif(PART STREQUAL "usage")
  set(fresh "${WORK_DIR}/fresh.db")
  foreach(case
      "no command|"
      "unknown command 'frobnicate'|frobnicate"
      "unknown option '--bogus'|--bogus;balance;acc-1"
      "option --timeout needs a value|--timeout"
      "--timeout needs a positive number of seconds, not 'soon'|--timeout;soon;accounts"
      "missing arguments for 'deposit'. usage: bank deposit ACC AMOUNT|deposit;acc-1"
      "missing arguments for 'transfer'|transfer;acc-1;acc-2"
      "extra arguments for 'balance'. usage: bank balance ACC|balance;acc-1;acc-2"
      "extra arguments for 'accounts'|accounts;now"
      "amount 'ten' is not a whole number|deposit;acc-1;ten"
      "amount '1.5' is not a whole number|withdraw;acc-1;1.5"
      "amount '12abc' is not a whole number|transfer;acc-1;acc-2;12abc"
      "amount must be positive, not 0|deposit;acc-1;0"
      "amount must be positive, not -5|withdraw;acc-1;-5"
      "amount '99999999999999999999' is too large|deposit;acc-1;99999999999999999999")
    string(REPLACE "|" ";" parts "${case}")
    list(POP_FRONT parts message)
    set(db "${fresh}")
    bank(2 ARGS ${parts} EXPECT "^bank: ${message}")
  endforeach()
  bank(2 ARGS EXPECT "^bank: no command\nusage: bank ")
  run_sh([=["$BANK" --db "$DB" "" 2>&1; test $? -eq 2]=] EXPECT "^bank: unknown command ''")
  run_sh([=["$BANK" --db "$DB" balance "" 2>&1; test $? -eq 2]=]
    EXPECT "^bank: an account id must not be empty\n$")
  if(EXISTS "${fresh}")
    message(FATAL_ERROR "a run with a bad argument created the database file")
  endif()
  # A file that is not a database: a failure, with the file named.
  file(WRITE "${WORK_DIR}/not-a-db.txt"
    "this is not an SQLite database, only a long enough text file to look at\n")
  set(db "${WORK_DIR}/not-a-db.txt")
  bank(3 ARGS accounts EXPECT "^bank: opening .*not-a-db.txt: ")

elseif(PART STREQUAL "transfers")
  bank(0 ARGS open acc-1 Ann)
  bank(0 ARGS deposit acc-1 100)
  bank(0 ARGS open acc-2 Bob)
  bank(0 ARGS transfer acc-1 acc-2 25
    EXPECT "^transfer t-[-0-9a-f]+ requested: 25 from acc-1 to acc-2\ntransferred 25 from acc-1 to acc-2\n$")
  expect_balance(acc-1 75)
  expect_balance(acc-2 25)
  # The credit is refused (no such account): refunded, exit 1.
  bank(1 ARGS transfer acc-1 acc-404 10
    EXPECT "^transfer t-[-0-9a-f]+ requested: 10 from acc-1 to acc-404\n"
           "bank: transfer t-[-0-9a-f]+ refunded: acc-404 refused the credit \\(the account is not open\\); 10 returned to acc-1\n$")
  expect_balance(acc-1 75)
  count_history(n acc-1 "MoneyWithdrawn +{\"amount\":10}")
  count_history(m acc-1 "MoneyDeposited +{\"amount\":10}")
  if(NOT n EQUAL 1 OR NOT m EQUAL 1)
    message(FATAL_ERROR "the refunded transfer left ${n} debits and ${m} refunds, expected 1 and 1")
  endif()
  # The debit is refused: nothing moves, exit 1.
  bank(1 ARGS transfer acc-1 acc-2 1000
    EXPECT "bank: transfer t-[-0-9a-f]+ refused: acc-1 refused the debit \\(balance 75, withdrawal 1000\\)\n$")
  bank(1 ARGS transfer acc-404 acc-1 5 EXPECT "acc-404 refused the debit \\(the account is not open\\)")
  expect_balance(acc-1 75)
  expect_balance(acc-2 25)
  bank(0 ARGS accounts EXPECT "^acc-1  Ann  75\nacc-2  Bob  25\n$")
  bank(0 ARGS dead-letters EXPECT "^no dead letters\n$")

elseif(PART STREQUAL "replay")
  bank(0 ARGS open acc-1 Ann)
  bank(0 ARGS open acc-2 Bob)
  bank(0 ARGS deposit acc-1 100)
  bank(0 ARGS withdraw acc-1 7)
  bank(0 ARGS transfer acc-1 acc-2 30)
  bank(1 ARGS transfer acc-2 acc-404 5)
  bank(0 ARGS accounts EXPECT "^acc-1  Ann  63\nacc-2  Bob  30\n$")
  set(before "${bank_out}")
  bank(0 ARGS replay EXPECT "^replayed: account-summary rebuilt up to position [0-9]+, transfers caught up\n$")
  bank(0 ARGS replay)
  bank(0 ARGS accounts)
  if(NOT bank_out STREQUAL before)
    message(FATAL_ERROR "accounts after replay:\n${bank_out}differ from before:\n${before}")
  endif()
  # The process manager did not carry a transfer out again.
  expect_balance(acc-1 63)
  expect_balance(acc-2 30)

elseif(PART STREQUAL "concurrent")
  bank(0 ARGS open acc-1 Ann)
  bank(0 ARGS open acc-2 Bob)
  # 16 deposits of 1 from 16 processes at once, on one file.
  run_sh([=[
    pids=""
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
      "$BANK" --db "$DB" deposit acc-1 1 > "deposit-$i.out" 2>&1 & pids="$pids $!"
    done
    fail=0
    for p in $pids; do wait "$p" || fail=1; done
    cat deposit-*.out
    exit $fail
  ]=])
  expect_balance(acc-1 16)
  # 8 transfer requests stored by runs killed before any process manager
  # ran; then 4 processes at once run the process manager on them all.
  foreach(i RANGE 1 8)
    bank("Subprocess killed" ENV BANK_TEST_CRASH_AFTER_REQUEST=1
         ARGS transfer acc-1 acc-2 ${i} EXPECT "requested: ${i} from acc-1 to acc-2\n$")
  endforeach()
  run_sh([=[
    pids=""
    for i in 1 2 3 4; do
      "$BANK" --db "$DB" dead-letters > "pm-$i.out" 2>&1 & pids="$pids $!"
    done
    fail=0
    for p in $pids; do wait "$p" || fail=1; done
    cat pm-*.out
    exit $fail
  ]=])
  # 1 + ... + 8 = 36 moved once: 16 - 36 < 0 for some, so some debits are
  # refused; every transfer was carried out once, whatever it was.
  count_history(debits acc-1 "MoneyWithdrawn")
  count_history(credits acc-2 "MoneyDeposited")
  if(NOT debits EQUAL credits)
    message(FATAL_ERROR "${debits} debits but ${credits} credits")
  endif()
  bank(0 ARGS history acc-2)
  string(REGEX MATCHALL "\"amount\":[0-9]+" amounts "${bank_out}")
  set(sum 0)
  foreach(a IN LISTS amounts)
    string(REGEX REPLACE ".*:" "" a "${a}")
    math(EXPR sum "${sum} + ${a}")
  endforeach()
  math(EXPR left "16 - ${sum}")
  expect_balance(acc-1 ${left})
  expect_balance(acc-2 ${sum})
  bank(0 ARGS accounts EXPECT "^acc-1  Ann  ${left}\nacc-2  Bob  ${sum}\n$")
  bank(0 ARGS dead-letters EXPECT "^no dead letters\n$")
  # Each amount credited at most once.
  list(LENGTH amounts n)
  list(REMOVE_DUPLICATES amounts)
  list(LENGTH amounts distinct)
  # In global order: 1 to 5 fit in 16, then 6, 7 and 8 are refused.
  if(NOT n EQUAL distinct OR NOT sum EQUAL 15)
    message(FATAL_ERROR "credits ${n}, distinct ${distinct}, sum ${sum}")
  endif()

elseif(PART STREQUAL "crash")
  bank(0 ARGS open acc-1 Ann)
  bank(0 ARGS open acc-2 Bob)
  bank(0 ARGS deposit acc-1 100)
  # Killed (SIGKILL) right after the request is stored.
  bank("Subprocess killed" ENV BANK_TEST_CRASH_AFTER_REQUEST=1 ARGS transfer acc-1 acc-2 40
       EXPECT "^transfer t-[-0-9a-f]+ requested: 40 from acc-1 to acc-2\n$")
  expect_balance(acc-1 60)
  expect_balance(acc-2 40)
  count_history(n acc-1 "MoneyWithdrawn +{\"amount\":40}")
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "the transfer debited acc-1 ${n} times")
  endif()
  bank(0 ARGS accounts EXPECT "^acc-1  Ann  60\nacc-2  Bob  40\n$")

else()
  message(FATAL_ERROR "unknown PART '${PART}'")
endif()
