# ONNX backend node tests (included from tests/py.cmake).
#
# One CTest per listed case (conventions item 18). Why not one per op: a failing CTest then names the exact
# case, `ctest -R onnx_node/test_conv_with_strides` reruns just it, and each op still gets a label
# (`ctest -L op:Conv`). The cost is ~1000 tiny processes (each loads a one-node model), a few seconds.
# xfail cases run too: the runner exits 0 when they still fail (XFAIL) and 1 when they pass (XPASS), so an
# out-of-date list fails the suite instead of hiding a fixed op.
#
# The data is not in the repo: the `onnx_node/fetch` fixture runs tools/fetch_onnx_node_tests.py into
# ONNXQ_NODE_TEST_DIR (idempotent; a no-op when the cache matches the installed onnx).
# Refresh the list after ops change: `cmake --build <build> --target update_node_cases`.

if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_oq_cache_default "$ENV{XDG_CACHE_HOME}/onnxq/onnx_node")
else()
  set(_oq_cache_default "$ENV{HOME}/.cache/onnxq/onnx_node")
endif()
set(ONNXQ_NODE_TEST_DIR "${_oq_cache_default}" CACHE PATH
    "Where tools/fetch_onnx_node_tests.py puts the ONNX node tests (outside the repo)")

set(_oq_nt_dir ${CMAKE_CURRENT_LIST_DIR})
set(_oq_nt_cases ${_oq_nt_dir}/cases.txt)
set(_oq_nt_tols ${_oq_nt_dir}/tolerances.txt)

add_executable(run_node_test ${_oq_nt_dir}/run_node_test.c)
target_compile_options(run_node_test PRIVATE ${ONNXQ_WARN})
target_link_libraries(run_node_test PRIVATE onnxq_obj onnxq_pb)

add_test(NAME onnx_node/fetch
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/fetch_onnx_node_tests.py ${ONNXQ_NODE_TEST_DIR})
set_tests_properties(onnx_node/fetch PROPERTIES FIXTURES_SETUP onnx_node_data LABELS onnx_node TIMEOUT 600)

# The list must name exactly the cases that exercise a registered op (no silent omissions).
add_test(NAME onnx_node/list_complete
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/update_node_cases.py --check
                 --cache ${ONNXQ_NODE_TEST_DIR})
set_tests_properties(onnx_node/list_complete PROPERTIES FIXTURES_REQUIRED onnx_node_data LABELS onnx_node
                     TIMEOUT 300)

set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_oq_nt_cases})
file(STRINGS ${_oq_nt_cases} _oq_nt_lines)
foreach(line IN LISTS _oq_nt_lines)
  if(line MATCHES "^([A-Za-z0-9_]+) ([A-Za-z0-9_.:]+) (pass|xfail .+)$")
    set(case ${CMAKE_MATCH_1})
    set(op ${CMAKE_MATCH_2})
    add_test(NAME onnx_node/${case}
             COMMAND run_node_test --list ${_oq_nt_cases} --tolerances ${_oq_nt_tols}
                     --dir ${ONNXQ_NODE_TEST_DIR} --only ${case})
    set_tests_properties(onnx_node/${case} PROPERTIES LABELS "onnx_node;op:${op}"
                         FIXTURES_REQUIRED onnx_node_data TIMEOUT 120)
  elseif(NOT line STREQUAL "")
    # The runner rejects such a line too; failing at configure time says so sooner.
    message(FATAL_ERROR "${_oq_nt_cases}: malformed line '${line}'")
  endif()
endforeach()

add_custom_target(update_node_cases
  COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/fetch_onnx_node_tests.py ${ONNXQ_NODE_TEST_DIR}
  COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/update_node_cases.py
          --runner $<TARGET_FILE:run_node_test> --cache ${ONNXQ_NODE_TEST_DIR}
  DEPENDS run_node_test
  USES_TERMINAL
  COMMENT "Running every selected ONNX node test and rewriting tests/onnx_node/cases.txt")
