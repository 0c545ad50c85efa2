# package.install_unbuilt: `cmake --install` on a build tree whose installed
# targets were not built (as after `cmake --build ... --target bank`) stops
# before copying anything, naming what to build and how.
# Arguments: FACTUM_SOURCE_DIR, WORK_DIR, GENERATOR, MAKE_PROGRAM, CXX_COMPILER.
cmake_minimum_required(VERSION 3.21)

file(REMOVE_RECURSE "${WORK_DIR}")
set(build "${WORK_DIR}/build")
set(args -DFACTUM_BUILD_TESTS=OFF -DFACTUM_BUILD_EXAMPLES=OFF -DFACTUM_BUILD_BENCH=OFF
         -DFACTUM_WITH_POSTGRES=OFF "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(MAKE_PROGRAM)
  list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${FACTUM_SOURCE_DIR}" -B "${build}"
                        -G "${GENERATOR}" ${args}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure failed (${rc}):\n${out}${err}")
endif()

execute_process(COMMAND "${CMAKE_COMMAND}" --install "${build}" --prefix "${WORK_DIR}/prefix"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "cmake --install -> ${rc}\n${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the install of an unbuilt tree succeeded")
endif()
string(REGEX REPLACE "[ \n]+" " " said "${err}")  # CMake wraps the message
set(want "factum: not built yet, so not installed: factum_sqlite factum-inspect. "
         "Build them first: cmake --build ${build} --target factum_sqlite factum-inspect")
string(CONCAT want ${want})
string(FIND "${said}" "${want}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the install failed without saying '${want}'")
endif()
if(EXISTS "${WORK_DIR}/prefix")
  message(FATAL_ERROR "the failed install copied files to ${WORK_DIR}/prefix")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
