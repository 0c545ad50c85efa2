# Install rules: a relocatable package found with
#   find_package(factum 0.1 REQUIRED COMPONENTS sqlite)
include(CMakePackageConfigHelpers)

set(FACTUM_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/factum")

install(DIRECTORY include/factum TYPE INCLUDE)
install(TARGETS ${FACTUM_INSTALL_TARGETS} EXPORT factum-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT factum-targets NAMESPACE factum:: FILE factum-targets.cmake
  DESTINATION ${FACTUM_CMAKE_DIR})

configure_package_config_file(cmake/factum-config.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config.cmake"
  INSTALL_DESTINATION ${FACTUM_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/factum-config-version.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/factum-config-version.cmake"
  DESTINATION ${FACTUM_CMAKE_DIR})
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
