# package.postgres_missing: a project that adds factum as a subdirectory with
# FACTUM_WITH_POSTGRES=ON where libpq cannot be found (its look-up disabled)
# stops at configure, saying how to build without it.
# Arguments: FACTUM_SOURCE_DIR, CONSUMER_DIR, WORK_DIR, GENERATOR, MAKE_PROGRAM, CXX_COMPILER.
cmake_minimum_required(VERSION 3.21)

file(REMOVE_RECURSE "${WORK_DIR}")
set(args -DFACTUM_CONSUMER_MODE=add_subdirectory "-DFACTUM_SOURCE_DIR=${FACTUM_SOURCE_DIR}"
         -DFACTUM_CONSUMER_POSTGRES=OFF  # the consumer then disables find_package(PostgreSQL)
         -DFACTUM_WITH_POSTGRES=ON "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(MAKE_PROGRAM)
  list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}"
                        -G "${GENERATOR}" ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "configure -> ${rc}\n${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "configured with FACTUM_WITH_POSTGRES=ON and no libpq")
endif()
string(REGEX REPLACE "[ \n]+" " " said "${err}")  # CMake wraps the message
foreach(want IN ITEMS "FACTUM_WITH_POSTGRES is ON but libpq 15 was not found"
                      "configure with -DFACTUM_WITH_POSTGRES=OFF")
  string(FIND "${said}" "${want}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the configure failed without saying '${want}'")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
