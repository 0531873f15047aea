# ---- The installed files, used the way a project using adarts would (README,
# "Use it from your project") ----
# install_into_test_prefix installs the build into <build>/test-prefix (a
# fixture); each consumer then builds and runs an example against that prefix
# alone, with no path into the build tree (tests/install_consumers.sh).
# Included from the top level, after the bindings and CPack.

set(ADARTS_TEST_PREFIX ${PROJECT_BINARY_DIR}/test-prefix)
set(_scratch ${PROJECT_BINARY_DIR}/install-consumers)
set(_consumers ${CMAKE_COMMAND} -E env
    ADARTS_LIBDIR=${CMAKE_INSTALL_LIBDIR} ADARTS_DATADIR=${CMAKE_INSTALL_DATADIR}
    ADARTS_PYTHON_DIR=${ADARTS_PYTHON_INSTALL_DIR} ADARTS_BUILD_DIR=${PROJECT_BINARY_DIR}
    CMAKE=${CMAKE_COMMAND} CPACK=${CMAKE_CPACK_COMMAND} CC=${CMAKE_C_COMPILER}
    JAVAC=${Java_JAVAC_EXECUTABLE} JAVA=${Java_JAVA_EXECUTABLE} MCS=${ADARTS_MCS} MONO=${ADARTS_MONO}
    PYTHON=${Python3_EXECUTABLE}
    sh ${PROJECT_SOURCE_DIR}/tests/install_consumers.sh)

# cmake --install writes install_manifest.txt into the build tree, and cpack
# installs from it too: the two never run at once (adarts_build_tree_install).
add_test(NAME install_into_test_prefix COMMAND ${_consumers} install_prefix ${PROJECT_BINARY_DIR} ${ADARTS_TEST_PREFIX})
set_tests_properties(install_into_test_prefix PROPERTIES
  FIXTURES_SETUP adarts_test_prefix RESOURCE_LOCK adarts_build_tree_install TIMEOUT 300)

function(adarts_install_consumer name consumer)
  add_test(NAME ${name} COMMAND ${_consumers} ${consumer} ${ADARTS_TEST_PREFIX} ${_scratch}/${consumer})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED adarts_test_prefix TIMEOUT 300)
endfunction()
adarts_install_consumer(install_layout_soname_runpath check_layout)
adarts_install_consumer(install_consumer_c_cmake c_cmake)
adarts_install_consumer(install_consumer_c_pkgconfig c_pkgconfig)
if(TARGET adarts_java_jar)
  adarts_install_consumer(install_consumer_java java_example)
endif()
if(TARGET adarts_csharp_assembly)
  adarts_install_consumer(install_consumer_csharp csharp_example)
endif()
if(TARGET adarts_python_package)
  adarts_install_consumer(install_consumer_python python_example)
endif()

# The Debian package (CPack section of the top level), only where its
# dependencies are Debian packages (ADARTS_TORCH_FROM_DEBIAN): built by cpack
# into its own folder, unpacked, its adarts and the C consumers run from it.
find_program(ADARTS_DPKG_DEB dpkg-deb)
find_program(ADARTS_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(ADARTS_TORCH_FROM_DEBIAN AND ADARTS_DPKG_DEB AND ADARTS_DPKG_SHLIBDEPS)
  add_test(NAME deb_package_unpacks_and_runs COMMAND ${_consumers} deb_package ${PROJECT_BINARY_DIR} ${_scratch}/deb)
  set_tests_properties(deb_package_unpacks_and_runs PROPERTIES RESOURCE_LOCK adarts_build_tree_install TIMEOUT 900)
endif()
