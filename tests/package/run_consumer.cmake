# Builds and runs tests/package/consumer against factum, as ctest's
# `cmake -P run_consumer.cmake` (see tests/package/CMakeLists.txt).
#
# -DMODE=find_package      installs FACTUM_BINARY_DIR into a staging prefix,
#                          checks the package, MOVES the prefix elsewhere (it
#                          must be relocatable) and builds the consumer with
#                          CMAKE_PREFIX_PATH set to the moved prefix only.
# -DMODE=add_subdirectory  builds the consumer with factum's sources inside.
#
# RUN and WANT (optional): the programs to run and what their output must
# match, as regular expressions (tests/docs/run_tutorial.cmake sets them).
# WITH_SQLITE, WITH_POSTGRES, WITH_LOG: the components the consumer asks for
# (the last two default OFF). CONFORMANCE=ON: the consumer also runs the store
# conformance suite (needs Catch2). PKG_CONFIG (find_package mode, optional):
# pkg-config's path; a program is then also built with the flags of the moved
# prefix's .pc files.
# Other arguments: FACTUM_SOURCE_DIR, FACTUM_BINARY_DIR, CONSUMER_DIR, WORK_DIR,
# CONFIG, INSTALL_LIBDIR, INSTALL_INCLUDEDIR, INSTALL_DOCDIR, and the
# parent build's GENERATOR, MAKE_PROGRAM, CXX_COMPILER, CXX_FLAGS,
# EXE_LINKER_FLAGS, BUILD_TYPE, passed through to the consumer.
cmake_minimum_required(VERSION 3.21)

foreach(var MODE FACTUM_SOURCE_DIR CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER WITH_SQLITE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake needs -D${var}=...")
  endif()
endforeach()

# Runs a command, echoing it; stops the test when it fails.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

foreach(var WITH_POSTGRES WITH_LOG CONFORMANCE)
  if(NOT DEFINED ${var})
    set(${var} OFF)
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

set(consumer_args
  -DFACTUM_CONSUMER_MODE=${MODE}
  -DFACTUM_CONSUMER_SQLITE=${WITH_SQLITE}
  -DFACTUM_CONSUMER_POSTGRES=${WITH_POSTGRES}
  -DFACTUM_CONSUMER_LOG=${WITH_LOG}
  -DFACTUM_CONSUMER_CONFORMANCE=${CONFORMANCE}
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}"
  "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  # Nothing from the user's package registry or system prefixes beats what we pass.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(MAKE_PROGRAM)
  list(APPEND consumer_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

if(MODE STREQUAL "find_package")
  foreach(var FACTUM_BINARY_DIR INSTALL_LIBDIR INSTALL_INCLUDEDIR INSTALL_DOCDIR)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "run_consumer.cmake needs -D${var}=... with MODE=find_package")
    endif()
  endforeach()

  # 1. Install the build tree (which ctest runs after the build) into a staging prefix.
  set(staging "${WORK_DIR}/staging")
  run("${CMAKE_COMMAND}" --install "${FACTUM_BINARY_DIR}" --prefix "${staging}" ${config_args})

  # 2. The package holds what a user needs, and names no path of this machine.
  set(cmake_dir "${staging}/${INSTALL_LIBDIR}/cmake/factum")
  set(expected
    "${staging}/${INSTALL_INCLUDEDIR}/factum/factum.hpp"
    "${staging}/${INSTALL_INCLUDEDIR}/factum/config/version.hpp"
    "${cmake_dir}/factum-config.cmake"
    "${cmake_dir}/factum-config-version.cmake"
    "${cmake_dir}/factum-targets.cmake"
    "${staging}/${INSTALL_INCLUDEDIR}/factum/store/conformance.hpp"
    "${staging}/${INSTALL_LIBDIR}/pkgconfig/factum.pc"
    "${staging}/${INSTALL_DOCDIR}/LICENSE")
  if(WITH_SQLITE)
    list(APPEND expected "${staging}/${INSTALL_INCLUDEDIR}/factum/store/sqlite_store.hpp"
                         "${staging}/${INSTALL_INCLUDEDIR}/factum/store/sqlite_read_model.hpp")
  endif()
  foreach(component IN ITEMS sqlite postgres log)
    string(TOUPPER ${component} C)
    if(WITH_${C})
      list(APPEND expected "${cmake_dir}/factum-${component}-targets.cmake"
                           "${staging}/${INSTALL_LIBDIR}/pkgconfig/factum-${component}.pc")
    endif()
  endforeach()
  foreach(f IN LISTS expected)
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "the installed package lacks ${f}")
    endif()
  endforeach()
  if(WITH_INSPECT)
    # The tool comes with the package and runs from it.
    run("${staging}/${INSTALL_BINDIR}/factum-inspect" --version)
  endif()
  file(GLOB cmake_files "${cmake_dir}/*.cmake" "${staging}/${INSTALL_LIBDIR}/pkgconfig/*.pc")
  foreach(f IN LISTS cmake_files)
    file(READ "${f}" text)
    foreach(path IN ITEMS "${staging}" "${FACTUM_SOURCE_DIR}" "${FACTUM_BINARY_DIR}")
      string(FIND "${text}" "${path}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "${f} names ${path}: the package is not relocatable")
      endif()
    endforeach()
  endforeach()

  # 3. The version file: 0.1 and 0.1.0 fit, 0.2, 1.0 and 0.1.1 do not (SameMinorVersion).
  file(STRINGS "${FACTUM_SOURCE_DIR}/include/factum/config/version.hpp" version_lines
       REGEX "^#define FACTUM_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
  foreach(part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define FACTUM_VERSION_${part} ([0-9]+).*" "\\1" v_${part}
                         "${version_lines}")
  endforeach()
  function(probe_version requested expect_compatible)
    set(PACKAGE_FIND_NAME factum)
    set(PACKAGE_FIND_VERSION ${requested})
    string(REPLACE "." ";" parts "${requested}.0.0")
    list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
    list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
    list(GET parts 2 PACKAGE_FIND_VERSION_PATCH)
    set(PACKAGE_VERSION_COMPATIBLE)
    include("${cmake_dir}/factum-config-version.cmake")
    if(NOT "${PACKAGE_VERSION_COMPATIBLE}" STREQUAL "${expect_compatible}")
      message(FATAL_ERROR "factum ${PACKAGE_VERSION} asked for ${requested}: compatible is "
                          "'${PACKAGE_VERSION_COMPATIBLE}', expected ${expect_compatible}")
    endif()
  endfunction()
  math(EXPR next_minor "${v_MINOR} + 1")
  math(EXPR next_major "${v_MAJOR} + 1")
  math(EXPR next_patch "${v_PATCH} + 1")
  probe_version(${v_MAJOR}.${v_MINOR} TRUE)
  probe_version(${v_MAJOR}.${v_MINOR}.${v_PATCH} TRUE)
  probe_version(${v_MAJOR}.${next_minor} FALSE)
  probe_version(${next_major}.0 FALSE)
  probe_version(${v_MAJOR}.${v_MINOR}.${next_patch} FALSE)

  # 4. Move the prefix: the consumer may only find it where it is now.
  set(prefix "${WORK_DIR}/moved/factum-prefix")
  file(MAKE_DIRECTORY "${WORK_DIR}/moved")
  file(RENAME "${staging}" "${prefix}")
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${prefix}")

  # 5. pkg-config, from the moved prefix: a program on the compiled
  # components asked for, built with the flags of their .pc files alone.
  if(PKG_CONFIG AND (WITH_SQLITE OR WITH_POSTGRES))
    set(ENV{PKG_CONFIG_PATH} "${prefix}/${INSTALL_LIBDIR}/pkgconfig")
    set(packages)
    set(defines)
    foreach(component IN ITEMS sqlite postgres)
      string(TOUPPER ${component} C)
      if(WITH_${C})
        list(APPEND packages factum-${component})
        list(APPEND defines -DFACTUM_CONSUMER_${C})
      endif()
    endforeach()
    execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs ${packages}
      RESULT_VARIABLE rc OUTPUT_VARIABLE pc_flags ERROR_VARIABLE pc_err
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "pkg-config --cflags --libs ${packages} failed: ${pc_err}")
    endif()
    message(STATUS "pkg-config ${packages}: ${pc_flags}")
    separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
    separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS} ${EXE_LINKER_FLAGS}")
    run("${CXX_COMPILER}" -std=c++20 ${cxx_flags} ${defines}
      "${CONSUMER_DIR}/pkgconfig.cpp" -o "${WORK_DIR}/factum_pkgconfig" ${pc_flags})
    execute_process(COMMAND "${WORK_DIR}/factum_pkgconfig" WORKING_DIRECTORY "${WORK_DIR}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE pc_out ERROR_VARIABLE pc_err)
    message(STATUS "factum_pkgconfig -> ${rc}\n${pc_out}${pc_err}")
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "the program built with pkg-config failed (${rc})")
    endif()
  endif()
else()
  list(APPEND consumer_args "-DFACTUM_SOURCE_DIR=${FACTUM_SOURCE_DIR}")
endif()

# 6. Configure, build and run the consumer.
set(build "${WORK_DIR}/build")
run("${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${build}" -G "${GENERATOR}" ${consumer_args})
if(MODE STREQUAL "find_package")
  # It found the moved package, not another factum on this machine.
  file(STRINGS "${build}/CMakeCache.txt" found REGEX "^factum_DIR:")
  if(NOT found MATCHES "=${prefix}/")
    message(FATAL_ERROR "the consumer found factum elsewhere: ${found}")
  endif()
endif()
# One compile at a time: ctest may run other builds beside this one.
run("${CMAKE_COMMAND}" --build "${build}" ${config_args} --parallel 1)

# RUN: the programs to run, relative to the build folder, in order (default
# the consumer); WANT: what their output must contain (default the
# consumer's lines).
if(NOT DEFINED RUN)
  set(RUN bin/factum_consumer)
  if(CONFORMANCE)
    list(APPEND RUN bin/factum_consumer_conformance)
  endif()
endif()
if(NOT DEFINED WANT)
  set(WANT "memory_store: ok")
  if(WITH_SQLITE)
    list(APPEND WANT "sqlite_store: ok")
  endif()
  if(WITH_POSTGRES)
    list(APPEND WANT "postgres component linked")
  endif()
  if(WITH_LOG)
    list(APPEND WANT "log component: ok")
  endif()
  if(CONFORMANCE)
    list(APPEND WANT "All tests passed \\([0-9]+ assertions in [0-9]+ test cases\\)")
  endif()
endif()
set(out "")
foreach(program IN LISTS RUN)
  execute_process(COMMAND "${build}/${program}" WORKING_DIRECTORY "${build}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE program_out ERROR_VARIABLE err)
  message(STATUS "${program} -> ${rc}\n${program_out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${program} failed (${rc})")
  endif()
  string(APPEND out "${program_out}")
endforeach()
foreach(w IN LISTS WANT)
  if(NOT out MATCHES "${w}")
    message(FATAL_ERROR "the output does not match '${w}'")
  endif()
endforeach()

# Keep the disk tidy when everything passed; a failure leaves the files to look at.
foreach(var WITH_POSTGRES WITH_LOG CONFORMANCE)
  if(NOT DEFINED ${var})
    set(${var} OFF)
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
