# Tests of factum-inspect through its command line, run by ctest as `cmake -P`:
#   -DINSPECT=<factum-inspect> -DSTORE=<factum_inspect_store> -DFIXTURES=<tests/fixtures>
#   -DWORK_DIR=<a scratch folder> -DCASE=<which test>
# Each case makes its own files in WORK_DIR (see inspect_store_main.cpp for
# what `make` stores) and checks the output and the exit status.
foreach(var INSPECT STORE FIXTURES WORK_DIR CASE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "inspect.cmake needs -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(db "${WORK_DIR}/store.db")
set(time "[0-9]+-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\\.[0-9]+Z")

# Runs factum-inspect with ARGS; fails unless it exits with EXPECT_RC, its
# output (stdout then stderr) matches every regex of EXPECT and none of REJECT.
function(inspect expect_rc)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;EXPECT;REJECT")
  execute_process(COMMAND "${INSPECT}" ${arg_ARGS}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "factum-inspect ${arg_ARGS} -> ${rc}\n${out}${err}")
  if(NOT rc STREQUAL expect_rc)
    message(FATAL_ERROR "factum-inspect ${arg_ARGS}: exit ${rc}, expected ${expect_rc}")
  endif()
  foreach(regex IN LISTS arg_EXPECT)
    if(NOT "${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "factum-inspect ${arg_ARGS}: output does not match '${regex}'")
    endif()
  endforeach()
  foreach(regex IN LISTS arg_REJECT)
    if("${out}${err}" MATCHES "${regex}")
      message(FATAL_ERROR "factum-inspect ${arg_ARGS}: output matches '${regex}'")
    endif()
  endforeach()
  set(inspect_output "${out}" PARENT_SCOPE)
endfunction()

function(make_store)
  execute_process(COMMAND "${STORE}" make "${db}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "factum_inspect_store make: exit ${rc}")
  endif()
endfunction()

# The ids factum_inspect_store gives its events (uuid::named("inspect-test/...")).
set(hex "[0-9a-f]")
set(uuid "${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}-${hex}${hex}${hex}${hex}-${hex}${hex}${hex}${hex}-${hex}${hex}${hex}${hex}-${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}${hex}")

if(CASE STREQUAL "streams")
  make_store()
  inspect(0 ARGS "${db}" streams EXPECT
    "^STREAM +VERSION +LAST POSITION +LAST RECORDED AT\n"
    "\naccount-acc-1  3 +3 +${time}\naccount-acc-2  2 +5 +${time}\norder-1  +1 +6 +${time}\n3 streams\n$")
  inspect(0 ARGS "${db}" streams --prefix account- EXPECT
    "\naccount-acc-1  3 +3 +${time}\naccount-acc-2  2 +5 +${time}\n2 streams with prefix 'account-'\n$"
    REJECT "order-1")
  inspect(0 ARGS "${db}" streams --prefix nothing EXPECT "^no streams with prefix 'nothing'\n$")
  inspect(0 ARGS --json "${db}" streams EXPECT
    "^{\"last_position\":3,\"last_recorded_at\":\"${time}\",\"stream\":\"account-acc-1\",\"version\":3}\n"
    "\n{\"last_position\":6,\"last_recorded_at\":\"${time}\",\"stream\":\"order-1\",\"version\":1}\n$")

elseif(CASE STREQUAL "stream")
  make_store()
  inspect(0 ARGS "${db}" stream account-acc-1 EXPECT
    "^position 1  stream account-acc-1  version 1  type AccountOpened  schema 1\n  event id     ${uuid}\n  recorded at  ${time}\n  created at   2024-01-02T03:04:05.123456Z\n  correlation  ${uuid}\n  causation    ${uuid}\n  metadata     {\"tenant\":\"t1\"}\n  data         {\"owner\":\"Ann\",\"initial\":0}\n"
    "\nposition 2  stream account-acc-1  version 2  type MoneyDeposited  schema 1\n  event id     ${uuid}\n  recorded at  ${time}\n  created at   [^\n]+\n  data         {\"amount\":100}\n"
    "\nposition 3  stream account-acc-1  version 3  type MoneyWithdrawn  schema 2\n"
    REJECT "account-acc-2")
  inspect(0 ARGS "${db}" stream account-acc-1 --from 2 --limit 1 EXPECT
    "^position 2  stream account-acc-1  version 2 " REJECT "version [13]")
  inspect(0 ARGS "${db}" stream account-acc-1 --json --limit 1 EXPECT
    "^{\"causation_id\":\"${uuid}\",\"correlation_id\":\"${uuid}\",\"created_at\":\"2024-01-02T03:04:05.123456Z\",\"data\":{\"initial\":0,\"owner\":\"Ann\"},\"event_id\":\"${uuid}\",\"metadata\":{\"tenant\":\"t1\"},\"position\":1,\"recorded_at\":\"${time}\",\"schema_version\":1,\"stream\":\"account-acc-1\",\"type\":\"AccountOpened\",\"version\":1}\n$")
  inspect(0 ARGS "${db}" stream account-acc-2 --json EXPECT
    "\"correlation_id\":null" "\"metadata\":{}" "\"data\":{\"amount\":5}")
  inspect(1 ARGS "${db}" stream account-acc-404 EXPECT "^factum-inspect: no stream 'account-acc-404' in '")
  # Events whose producer set no creation time: no "created at" line, null in JSON.
  execute_process(COMMAND "${STORE}" append "${WORK_DIR}/plain.db" s-1 1)
  inspect(0 ARGS "${WORK_DIR}/plain.db" stream s-1 EXPECT "^position 1  stream s-1 " REJECT "created at")
  inspect(0 ARGS "${WORK_DIR}/plain.db" stream s-1 --json EXPECT "\"created_at\":null")

elseif(CASE STREQUAL "tail")
  make_store()
  inspect(0 ARGS "${db}" tail EXPECT
    "^position 1  stream account-acc-1  version 1 "
    "\nposition 4  stream account-acc-2  version 1  type AccountOpened  schema 1\n"
    "\nposition 6  stream order-1  version 1  type MoneyDeposited  schema 1\n[^\n]*\n[^\n]*\n[^\n]*\n  data         {\"amount\":7}\n$")
  inspect(0 ARGS "${db}" tail --from 5 EXPECT "^position 5 " "\nposition 6 " REJECT "position [1-4] ")
  inspect(0 ARGS "${db}" tail --from 2 --limit 2 EXPECT "^position 2 " "\nposition 3 " REJECT "position [1456] ")
  inspect(0 ARGS "${db}" tail --from 7 EXPECT "^$")
  inspect(0 ARGS "${db}" tail --from end EXPECT "^$")
  inspect(0 ARGS "${db}" tail --json --from 6 EXPECT
    "^{[^\n]*\"data\":{\"amount\":7}[^\n]*\"position\":6,[^\n]*\"stream\":\"order-1\"[^\n]*}\n$")
  # --follow with a limit ends by itself once it printed that many.
  inspect(0 ARGS "${db}" tail --follow --from 5 --limit 2 EXPECT "^position 5 " "\nposition 6 ")

elseif(CASE STREQUAL "checkpoints")
  make_store()
  inspect(0 ARGS "${db}" checkpoints EXPECT
    "^head position 6\nSUBSCRIBER +KIND +POSITION +LAG\nbalances +read model +5 +1\nnotifier +store +6 +0\ntransfers +store +2 +4\n3 checkpoints\n$")
  inspect(0 ARGS "${db}" checkpoints --json EXPECT
    "^{\"global_position\":5,\"head\":6,\"kind\":\"read_model\",\"lag\":1,\"position\":\"5/5\",\"subscriber\":\"balances\"}\n"
    "\n{\"global_position\":2,\"head\":6,\"kind\":\"store\",\"lag\":4,\"position\":\"2/2\",\"subscriber\":\"transfers\"}\n$")
  # A store with neither checkpoints nor a read model table.
  execute_process(COMMAND "${STORE}" append "${WORK_DIR}/plain.db" s-1 2)
  inspect(0 ARGS "${WORK_DIR}/plain.db" checkpoints EXPECT "^head position 2\nno checkpoints\n$")

elseif(CASE STREQUAL "dead_letters")
  make_store()
  inspect(0 ARGS "${db}" dead-letters EXPECT
    "^ID +SUBSCRIBER +POSITION +STREAM +VERSION +TYPE +ATTEMPTS +HELD +FAILED AT +ERROR\n"
    "\n1  +notifier  +3 +account-acc-1  3 +MoneyWithdrawn  5 +- +2024-01-02T03:04:05.123456Z  smtp: connection refused\n"
    "\n2  +transfers  +4 +account-acc-2  1 +AccountOpened  +3 +0 +2024-01-02T03:04:05.123456Z  boom\n"
    "\n3  +balances  +4 +account-acc-2  1 +AccountOpened  +1 +1 +2024-01-02T03:04:05.123456Z  no row\n3 dead letters\n$")
  inspect(0 ARGS "${db}" dead-letters transfers EXPECT "\n2  +transfers  .*boom\n1 dead letter of 'transfers'\n$"
    REJECT "notifier")
  inspect(0 ARGS "${db}" dead-letters nobody EXPECT "^no dead letters of 'nobody'\n$")
  inspect(0 ARGS "${db}" dead-letters notifier --json EXPECT
    "^{\"attempts\":5,\"error\":\"smtp: connection refused\",\"event\":{[^\n]*\"position\":3,[^\n]*\"type\":\"MoneyWithdrawn\",\"version\":3},\"failed_at\":\"2024-01-02T03:04:05.123456Z\",\"id\":1,\"parks_stream\":false,\"subscriber\":\"notifier\"}\n$")
  inspect(0 ARGS "${db}" dead-letters balances --json EXPECT
    "\"held_behind\":1,\"id\":3,\"parks_stream\":true,\"subscriber\":\"balances\"}\n$")

elseif(CASE STREQUAL "errors")
  make_store()
  inspect(0 ARGS --help EXPECT "^usage: factum-inspect DB COMMAND" "dead-letters \\[SUBSCRIBER\\]")
  inspect(0 ARGS "${db}" tail -h EXPECT "^usage: factum-inspect")
  inspect(0 ARGS --version EXPECT "^factum-inspect [0-9]+\\.[0-9]+\\.[0-9]+\n$")
  # A bad command line: exit 2, what is wrong, then the usage.
  inspect(2 EXPECT "no database file given" "usage: factum-inspect")
  inspect(2 ARGS "${db}" EXPECT "no command given")
  inspect(2 ARGS "${db}" frobnicate EXPECT "^factum-inspect: unknown command 'frobnicate'\n")
  inspect(2 ARGS "${db}" streams --bogus EXPECT "unknown option '--bogus'")
  inspect(2 ARGS "${db}" streams extra EXPECT "streams takes no argument, got 'extra'")
  inspect(2 ARGS "${db}" streams --follow EXPECT "streams has no option --follow")
  inspect(2 ARGS "${db}" stream EXPECT "stream takes one stream name")
  inspect(2 ARGS "${db}" stream a b EXPECT "stream takes one stream name")
  inspect(2 ARGS "${db}" tail --limit many EXPECT "bad value 'many' for --limit")
  inspect(2 ARGS "${db}" tail --from 0 EXPECT "bad value '0' for --from")
  inspect(2 ARGS "${db}" stream s-1 --from end EXPECT "bad value 'end' for --from")
  inspect(2 ARGS "${db}" tail --from EXPECT "option --from needs a value")
  inspect(2 ARGS "${db}" dead-letters a b EXPECT "dead-letters takes at most one subscriber")
  # The file: exit 1 with a message; a missing file is not created.
  inspect(1 ARGS "${WORK_DIR}/missing.db" streams EXPECT "^factum-inspect: '[^\n]*missing.db': no such file\n$")
  if(EXISTS "${WORK_DIR}/missing.db")
    message(FATAL_ERROR "factum-inspect created the missing file")
  endif()
  inspect(1 ARGS "${WORK_DIR}" streams EXPECT "is a directory, not a store")
  file(WRITE "${WORK_DIR}/text.db" "this is not an SQLite database, only a long enough text file to look at\n")
  inspect(1 ARGS "${WORK_DIR}/text.db" streams EXPECT "^factum-inspect: '[^\n]*text.db' is not an SQLite database")
  file(WRITE "${WORK_DIR}/empty.db" "")
  inspect(1 ARGS "${WORK_DIR}/empty.db" streams EXPECT "empty")
  execute_process(COMMAND "${STORE}" foreign "${WORK_DIR}/foreign.db")
  inspect(1 ARGS "${WORK_DIR}/foreign.db" checkpoints EXPECT "is an SQLite database but not a factum store")

elseif(CASE STREQUAL "read_only")
  # A copy of the committed fixture (an older factum's file); the copy is
  # made read-only too, and neither the bytes nor the contents change.
  file(COPY "${FIXTURES}/bank-v1.db" DESTINATION "${WORK_DIR}")
  set(fixture "${WORK_DIR}/bank-v1.db")
  file(CHMOD "${fixture}" PERMISSIONS OWNER_READ GROUP_READ WORLD_READ)
  file(SHA256 "${fixture}" before)
  inspect(0 ARGS "${fixture}" streams EXPECT "\naccount-acc-1  +[0-9]+ +" "\n6 streams\n$")
  inspect(0 ARGS "${fixture}" stream account-acc-1 --limit 1 EXPECT "^position 1  stream account-acc-1  version 1  type AccountOpened  schema 1\n")
  inspect(0 ARGS "${fixture}" tail --json EXPECT "\"position\":14,")
  inspect(0 ARGS "${fixture}" checkpoints EXPECT "^head position 14\n" "\naccount-summary +read model +12 +2\n" "\nnotifier +store +11 +3\n")
  inspect(0 ARGS "${fixture}" dead-letters EXPECT "^no dead letters\n$")
  file(SHA256 "${fixture}" after)
  if(NOT before STREQUAL after)
    message(FATAL_ERROR "factum-inspect changed the file")
  endif()
  # A store made in this test, so its -wal is live: inspected while the
  # writer's file is still the writer's, then unchanged.
  make_store()
  file(SHA256 "${db}" before)
  inspect(0 ARGS "${db}" checkpoints EXPECT "head position 6")
  file(SHA256 "${db}" after)
  if(NOT before STREQUAL after)
    message(FATAL_ERROR "factum-inspect changed the file")
  endif()

elseif(CASE STREQUAL "follow")
  # tail --follow while another process appends, ended by SIGTERM: it printed
  # the new events and exits 0.
  make_store()
  find_program(SH sh REQUIRED)
  execute_process(COMMAND "${SH}" -c [[
      "$1" "$2" tail --follow --from end --poll-ms 50 > "$3" 2>&1 &
      pid=$!
      sleep 1
      "$4" append "$2" live-1 2 || exit 9
      sleep 1
      kill -TERM $pid
      wait $pid
      echo "exit $?"
    ]] sh "${INSPECT}" "${db}" "${WORK_DIR}/follow.out" "${STORE}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  file(READ "${WORK_DIR}/follow.out" followed)
  message(STATUS "follow -> ${rc}: ${out}${err}\n${followed}")
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "exit 0\n")
    message(FATAL_ERROR "tail --follow did not end with exit 0 on SIGTERM")
  endif()
  if(NOT followed MATCHES "^position 7  stream live-1  version 1 .*\nposition 8  stream live-1  version 2 [^\n]*\n(  [^\n]*\n)*  data         {\"amount\":2}\n$")
    message(FATAL_ERROR "tail --follow did not print exactly the two new events")
  endif()

else()
  message(FATAL_ERROR "inspect.cmake: unknown CASE '${CASE}'")
endif()
