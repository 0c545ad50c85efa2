# Builds and runs docs/tutorial.md as a reader would (ctest's docs.tutorial):
# every fenced block whose info string names a file (```cpp main.cpp) is
# appended to that file, in page order; the project so made is built against
# this build tree's installed package (tests/package/run_consumer.cmake,
# find_package mode) and its programs are run.
#
# Arguments: TUTORIAL (the page), and those of run_consumer.cmake but CONSUMER_DIR.
cmake_minimum_required(VERSION 3.21)

set(project_dir "${WORK_DIR}-project")
file(REMOVE_RECURSE "${project_dir}")
file(MAKE_DIRECTORY "${project_dir}")

# CMake lists split at `;` and nest at brackets: hide both (and backslashes)
# while the page is cut into lines, restore them when writing.
file(READ "${TUTORIAL}" page)
string(REPLACE "\\" "@BS@" page "${page}")
string(REPLACE ";" "@SC@" page "${page}")
string(REPLACE "[" "@LB@" page "${page}")
string(REPLACE "]" "@RB@" page "${page}")
string(REPLACE "\n" ";" lines "${page}")

set(current "")
set(files "")
foreach(line IN LISTS lines)
  if(current STREQUAL "" AND line MATCHES "^```[a-z]+ ([A-Za-z0-9_./-]+)$")
    set(current "${CMAKE_MATCH_1}")
    list(APPEND files "${current}")
  elseif(NOT current STREQUAL "" AND line STREQUAL "```")
    set(current "")
  elseif(NOT current STREQUAL "")
    string(APPEND text_${current} "${line}\n")
  endif()
endforeach()
if(NOT current STREQUAL "")
  message(FATAL_ERROR "${TUTORIAL}: the block of ${current} is not closed")
endif()
list(REMOVE_DUPLICATES files)
if(NOT files)
  message(FATAL_ERROR "${TUTORIAL} has no block that names a file")
endif()
foreach(f IN LISTS files)
  set(text "${text_${f}}")
  string(REPLACE "@SC@" ";" text "${text}")
  string(REPLACE "@LB@" "[" text "${text}")
  string(REPLACE "@RB@" "]" text "${text}")
  string(REPLACE "@BS@" "\\" text "${text}")
  file(WRITE "${project_dir}/${f}" "${text}")
  message(STATUS "tutorial: wrote ${f}")
endforeach()

# The page's step 8: the test program, then the app twice (the second run
# finds the first run's events in todo.db).
set(RUN todo_test todo todo)
set(WANT "stored at version 3" "rejected: .*no such open task" "open tasks on home-[0-9]+: 1")
set(MODE find_package)
set(CONSUMER_DIR "${project_dir}")
include("${CMAKE_CURRENT_LIST_DIR}/../package/run_consumer.cmake")
file(REMOVE_RECURSE "${project_dir}")
