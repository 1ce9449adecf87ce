# vz_module(NAME DEPS dep1 dep2 ... [LIBS extra link libraries])
# Builds src/vz/NAME/*.cc (minus *_test.cc) into the static library vz_NAME and, when tests are on,
# every *_test.cc into one GoogleTest executable vz_NAME_test that links only this module (and what
# it depends on), so a wrong dependency fails at link time.
set(VZ_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
                -Woverloaded-virtual -Wimplicit-fallthrough)

function(vz_apply_flags target)
  target_compile_options(${target} PRIVATE ${VZ_WARNINGS})
  if(VZ_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(vz_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(tests)
    list(REMOVE_ITEM srcs ${tests})
  endif()
  set(deps)
  foreach(d ${ARG_DEPS})
    list(APPEND deps vz_${d})
  endforeach()
  add_library(vz_${name} STATIC ${srcs})
  target_include_directories(vz_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vz_${name} PUBLIC ${deps} ${ARG_LIBS})
  vz_apply_flags(vz_${name})
  if(VZ_TESTS AND tests)
    add_executable(vz_${name}_test ${tests})
    target_link_libraries(vz_${name}_test PRIVATE vz_${name} GTest::gtest GTest::gtest_main)
    target_compile_definitions(vz_${name}_test PRIVATE
      VZ_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    vz_apply_flags(vz_${name}_test)
    add_test(NAME unit.${name} COMMAND vz_${name}_test)
    set_tests_properties(unit.${name} PROPERTIES LABELS unit)
  endif()
endfunction()
