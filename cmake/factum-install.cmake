# Install rules: a relocatable package found with
#   find_package(factum 0.1 REQUIRED COMPONENTS sqlite)
# and, for builds without CMake, pkg-config files (factum, factum-sqlite,
# factum-postgres, factum-log). Each component has an export set of its own,
# so that factum-config.cmake loads, and looks up the dependencies of, only
# the components a project asks for.
include(CMakePackageConfigHelpers)

set(FACTUM_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/factum")
set(FACTUM_PKGCONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# An install after a partial build (`cmake --build ... --target bank`) would
# stop at the first file not built with "file INSTALL cannot find ...". Check
# first, and say what to build. factum-inspect is defined later (tools/), so
# it is named through generator expressions, evaluated once every target is.
set(_factum_built_targets)
foreach(_factum_target IN ITEMS factum_sqlite factum_postgres)
  if(TARGET ${_factum_target})
    list(APPEND _factum_built_targets ${_factum_target})
  endif()
endforeach()
set(_factum_install_check "")
foreach(_factum_target IN LISTS _factum_built_targets ITEMS factum-inspect)
  string(APPEND _factum_install_check
    "$<$<TARGET_EXISTS:${_factum_target}>:"
    "if(NOT EXISTS \"$<TARGET_FILE:${_factum_target}>\")\n"
    "  list(APPEND _factum_missing ${_factum_target})\n"
    "endif()\n>")
endforeach()
install(CODE "set(_factum_missing)
${_factum_install_check}
if(_factum_missing)
  string(REPLACE \";\" \" \" _factum_missing \"\${_factum_missing}\")
  message(FATAL_ERROR \"factum: not built yet, so not installed: \${_factum_missing}. \"
    \"Build them first: cmake --build ${CMAKE_BINARY_DIR} --target \${_factum_missing}\"
    \" (or a plain cmake --build ${CMAKE_BINARY_DIR}, which with FACTUM_BUILD_TESTS, \"
    \"FACTUM_BUILD_EXAMPLES and FACTUM_BUILD_BENCH off builds only what is installed).\")
endif()")

install(DIRECTORY include/factum TYPE INCLUDE)

# factum::factum, then one export set per component.
install(TARGETS factum EXPORT factum-targets)
install(EXPORT factum-targets NAMESPACE factum:: FILE factum-targets.cmake
  DESTINATION ${FACTUM_CMAKE_DIR})
foreach(_factum_component IN ITEMS sqlite postgres log)
  if(TARGET factum_${_factum_component})
    install(TARGETS factum_${_factum_component} EXPORT factum-${_factum_component}-targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    install(EXPORT factum-${_factum_component}-targets NAMESPACE factum::
      FILE factum-${_factum_component}-targets.cmake DESTINATION ${FACTUM_CMAKE_DIR})
  endif()
endforeach()

# The components built, for factum-config.cmake.
set(FACTUM_COMPONENTS)
foreach(_factum_component IN ITEMS sqlite postgres log)
  if(TARGET factum_${_factum_component})
    list(APPEND FACTUM_COMPONENTS ${_factum_component})
  endif()
endforeach()
configure_package_config_file(cmake/factum-config.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config.cmake"
  INSTALL_DESTINATION ${FACTUM_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/factum-config-version.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config-version.cmake"
  DESTINATION ${FACTUM_CMAKE_DIR})

# pkg-config: prefix is found from the .pc file's own place, so the prefix
# may move like the CMake package.
file(RELATIVE_PATH FACTUM_PC_TO_PREFIX "/prefix/${FACTUM_PKGCONFIG_DIR}" "/prefix")
string(REGEX REPLACE "/$" "" FACTUM_PC_TO_PREFIX "${FACTUM_PC_TO_PREFIX}")
# A static library's users link its dependencies too: public then, private
# when it is shared.
set(_factum_pc_components sqlite postgres)
set(_factum_pc_dependencies sqlite3 libpq)
foreach(_factum_component _factum_dependency IN ZIP_LISTS
        _factum_pc_components _factum_pc_dependencies)
  set(FACTUM_PC_${_factum_component}_REQUIRES "")
  set(FACTUM_PC_${_factum_component}_REQUIRES_PRIVATE "")
  if(TARGET factum_${_factum_component})
    get_target_property(_factum_type factum_${_factum_component} TYPE)
    if(_factum_type STREQUAL "STATIC_LIBRARY")
      set(FACTUM_PC_${_factum_component}_REQUIRES ", ${_factum_dependency}")
    else()
      set(FACTUM_PC_${_factum_component}_REQUIRES_PRIVATE " ${_factum_dependency}")
    endif()
  endif()
endforeach()
foreach(_factum_pc IN ITEMS factum factum-sqlite factum-postgres factum-log)
  string(REPLACE "factum-" "factum_" _factum_pc_target "${_factum_pc}")
  if(TARGET ${_factum_pc_target})
    configure_file(cmake/${_factum_pc}.pc.in "${CMAKE_CURRENT_BINARY_DIR}/${_factum_pc}.pc" @ONLY)
    install(FILES "${CMAKE_CURRENT_BINARY_DIR}/${_factum_pc}.pc" DESTINATION ${FACTUM_PKGCONFIG_DIR})
  endif()
endforeach()

install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
