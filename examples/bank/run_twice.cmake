# Test of the bank example, run by ctest as `cmake -P`:
#   -DBANK=<the bank executable> -DWORK_DIR=<a scratch folder>
# Two runs on one file: the second continues from what the first stored
# (transfers included: the read side carries them out in each run).
# Then the default file (bank.db in the working directory), and an error.
foreach(var BANK WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_twice.cmake needs -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/default")

# Runs bank with ARGN in DIR; fails unless it exits with EXPECT_RC and its
# output matches every regex in EXPECT.
function(run_bank dir expect_rc)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "ARGS;EXPECT")
  execute_process(COMMAND "${BANK}" ${arg_ARGS}
    WORKING_DIRECTORY "${dir}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "bank ${arg_ARGS} -> ${rc}\n${out}${err}")
  if(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "bank ${arg_ARGS}: exit ${rc}, expected ${expect_rc}")
  endif()
  foreach(regex IN LISTS arg_EXPECT)
    if(NOT "${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "bank ${arg_ARGS}: output does not match '${regex}'")
    endif()
  endforeach()
  set(bank_output "${out}" PARENT_SCOPE)
endfunction()

# The balance a run printed, in VAR.
function(printed_balance var)
  if(NOT bank_output MATCHES "balance of acc-1 \\([^)]*\\): (-?[0-9]+)\n")
    message(FATAL_ERROR "bank printed no balance")
  endif()
  set(${var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()

set(db "${WORK_DIR}/bank.db")
run_bank("${WORK_DIR}" 0 ARGS --db "${db}"
  EXPECT "acc-1: new" "first run on this file" "balance of acc-1 \\(Ann\\): 45\n"
         "history of account-acc-1 \\(6 events\\)"
         "accounts \\(the account-summary projection\\):\n  acc-1  Ann  45\n  acc-2  Bob  25\n"
         "notices sent this run: 3\n"
         "\n +1 +1  AccountOpened +{\"owner\":\"Ann\"}\n"
         "\n +3 +3  MoneyWithdrawn +{\"amount\":30}\n")
printed_balance(first_balance)
run_bank("${WORK_DIR}" 0 ARGS --db "${db}"
  EXPECT "acc-1: loaded, stream version 6, balance 45"
         "continuing from the previous runs: 6 events already stored, balance 45\n"
         "balance of acc-1 \\(Ann\\): 90\n"
         "accounts \\(the account-summary projection\\):\n  acc-1  Ann  90\n  acc-2  Bob  50\n"
         "history of account-acc-1 \\(11 events\\)" "\n +8 +[0-9]+  MoneyWithdrawn +{\"amount\":30}\n")
printed_balance(second_balance)
if(NOT second_balance GREATER first_balance)
  message(FATAL_ERROR "the second run's balance ${second_balance} is not above the first's ${first_balance}")
endif()

# No --db: bank.db in the working directory.
run_bank("${WORK_DIR}/default" 0 EXPECT "store: bank.db\n" "balance of acc-1 \\(Ann\\): 45\n")
if(NOT EXISTS "${WORK_DIR}/default/bank.db")
  message(FATAL_ERROR "bank without --db did not create bank.db in its working directory")
endif()

# A file that is not a database: a message and a non-zero exit.
file(WRITE "${WORK_DIR}/not-a-db.txt" "this is not an SQLite database, only a long enough text file to look at\n")
run_bank("${WORK_DIR}" 1 ARGS --db "${WORK_DIR}/not-a-db.txt" EXPECT "^bank: opening ")
run_bank("${WORK_DIR}" 2 ARGS --bogus EXPECT "unknown argument '--bogus'" "usage: bank")
