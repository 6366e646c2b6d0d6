# Tests that check onnxq against ONNX itself. Included from tests/CMakeLists.txt when ONNXQ_PYTHON (an
# interpreter with numpy, onnx and onnxruntime; tools/setup.sh creates one) is given. Two harnesses:
#   onnx_node/*  the ONNX backend node tests (tests/onnx_node/README.md, node_tests.cmake)
#   e2e/*        PaddleOCR models, onnxq vs ONNX Runtime (tests/e2e/test_ort_models.py)
# Run them with `ctest -L onnx_node` / `ctest -L e2e`; a single op's node tests with `ctest -L op:Conv`.

include(${CMAKE_CURRENT_LIST_DIR}/onnx_node/node_tests.cmake)

# ---------------------------------------------------------------- e2e: onnxq vs ONNX Runtime
# One CTest per (model, input shape). Each regenerates the deterministic input and ORT's output (cheap,
# and never stale against the installed ORT), runs `onnxq run`, and requires max|a-b|/max|b| <= 1e-4.
# The models directory is resolved by the script at run time: $ONNXQ_MODELS, else
# `tools/fetch_models.py --print-dir`, else ../shared/models next to the repo.
set(ONNXQ_E2E_WORK ${CMAKE_BINARY_DIR}/e2e)
foreach(case det_640 det_960 rec_1x320 rec_8x320 cls_1x192)
  add_test(NAME e2e/${case}
           COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_ort_models.py
                   --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK} --case ${case})
  # det at 960x960 is ~15 GMAC: generous timeout for reference kernels on a small machine.
  set_tests_properties(e2e/${case} PROPERTIES LABELS e2e TIMEOUT 1800)
endforeach()

# OQ_OPSET_MAX guard: every ONNX revision of a registered op up to the limit has been reviewed.
add_test(NAME tools/check_op_versions COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/check_op_versions.py
         --repo ${CMAKE_SOURCE_DIR})
set_tests_properties(tools/check_op_versions PROPERTIES LABELS unit)

# ---------------------------------------------------------------- e2e: opset upgrade (graph/opset_upgrade.h)
# The PaddleOCR models upgraded to opsets 13 and 21 by a test-only driver must pass onnx.checker (full_check)
# and give ONNX Runtime the same outputs as the originals; onnx.version_converter is run alongside for comparison.
add_executable(opset_upgrade_driver ${CMAKE_CURRENT_LIST_DIR}/e2e/opset_upgrade_driver.c)
target_compile_options(opset_upgrade_driver PRIVATE ${ONNXQ_WARN})
target_link_libraries(opset_upgrade_driver PRIVATE onnxq_obj onnxq_pb)
add_test(NAME e2e/opset_upgrade
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_opset_upgrade.py
                 --driver $<TARGET_FILE:opset_upgrade_driver> --work ${CMAKE_BINARY_DIR}/e2e/opset_upgrade)
set_tests_properties(e2e/opset_upgrade PROPERTIES LABELS e2e TIMEOUT 1800)

# ---------------------------------------------------------------- e2e: QDQ writer vs ONNX Runtime
# tests/e2e/test_qdq_ort.py: QDQ models of the PaddleOCR cls/rec/det models made by the QDQ writer (through
# the test-only tests/e2e/qdq_writer_driver.c until `onnxq quantize` lands) load and run in ORT, shrink ~4x,
# are fused by ORT into integer kernels, and agree with onnxq's float-simulated run of the same QDQ model.
add_executable(qdq_writer_driver ${CMAKE_CURRENT_LIST_DIR}/e2e/qdq_writer_driver.c)
target_compile_options(qdq_writer_driver PRIVATE ${ONNXQ_WARN})
target_link_libraries(qdq_writer_driver PRIVATE onnxq_obj onnxq_pb)
foreach(case cls rec det cls_weights_only rec_weights_only16)
  add_test(NAME e2e/qdq_${case}
           COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_qdq_ort.py
                   --driver $<TARGET_FILE:qdq_writer_driver> --onnxq $<TARGET_FILE:onnxq>
                   --work ${ONNXQ_E2E_WORK}/qdq --case ${case})
  set_tests_properties(e2e/qdq_${case} PROPERTIES LABELS e2e TIMEOUT 1800)
endforeach()

# ---------------------------------------------------------------- eval: accuracy-bench metrics (eval/ocr_metrics.py)
# CTC decoding, edit distance / CER, polygon IoU, matching and F-score, the numpy DB post-processing and the
# preprocessing geometry on hand-made cases (numpy + Pillow only, no models or datasets).
add_test(NAME eval/metrics COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/eval/test_metrics.py)
set_tests_properties(eval/metrics PROPERTIES LABELS unit)

# ---------------------------------------------------------------- e2e: INT8 numerics vs ONNX Runtime (issue 4)
# tests/e2e/test_int8_numerics.py: cls, rec and det (256x256) quantized with `onnxq quantize --data random`, run by
# onnxq with the INT8 lowering (exec/lower_qdq.h) and by ORT's integer kernels; every QuantizeLinear output is
# compared, and the last one before each graph output must be >= 99.9% identical and never more than 1 step apart.
foreach(case cls rec det)
  add_test(NAME e2e/int8_numerics_${case}
           COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_int8_numerics.py
                   --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/int8 --case ${case})
  set_tests_properties(e2e/int8_numerics_${case} PROPERTIES LABELS e2e TIMEOUT 900)
endforeach()

# ---------------------------------------------------------------- e2e: benchmarks (issue 4)
# tests/e2e/test_bench_cli.py: `onnxq bench INT8 --compare FP32 --profile` on the cls model quantized with
# --data random: line format, the ratio line equals the printed medians' ratio, GOP/s lines, a missing
# --compare file is a clear error. bench_smoke runs bench/bench_int8.py --smoke (cls, 1 thread, 2 runs) so the
# benchmark script keeps working; the full benchmark is never run by ctest.
add_test(NAME e2e/bench_cli
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_bench_cli.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/bench_cli)
set_tests_properties(e2e/bench_cli PROPERTIES LABELS e2e TIMEOUT 300)
add_test(NAME e2e/bench_int8_smoke
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/bench/bench_int8.py --smoke --onnxq $<TARGET_FILE:onnxq>
                 --cache-dir ${ONNXQ_E2E_WORK}/bench_int8 --json ${ONNXQ_E2E_WORK}/bench_int8/smoke.json)
set_tests_properties(e2e/bench_int8_smoke PROPERTIES LABELS e2e TIMEOUT 300)

# ---------------------------------------------------------------- e2e: per-layer analysis (issue 5)
# tests/e2e/test_compare.py: `onnxq compare` figures (cosine, SQNR, rel L2, max abs, clipped share) recomputed
# with numpy from `onnxq dump` of both models; self-compare exact; unrelated models a clear error.
add_test(NAME e2e/compare
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_compare.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/compare)
set_tests_properties(e2e/compare PROPERTIES LABELS e2e TIMEOUT 600)
# tests/e2e/test_sensitivity.py: `onnxq sensitivity` on cls: every quantized layer ranked once; its output SQNR
# equals `onnxq compare`'s on the model `onnxq quantize` writes; skipping the top layer gains what it announced.
add_test(NAME e2e/sensitivity
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_sensitivity.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/sensitivity)
set_tests_properties(e2e/sensitivity PROPERTIES LABELS e2e TIMEOUT 900)
# tests/e2e/test_tune.py: `onnxq tune` on cls from per-tensor min_max: the loss only goes down, the written
# config reproduces the model byte for byte, the final metric is compare's output cosine, --eval CMD plumbing.
add_test(NAME e2e/tune
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_tune.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/tune)
set_tests_properties(e2e/tune PROPERTIES LABELS e2e TIMEOUT 1500)

# ---------------------------------------------------------------- e2e: models quantized by ONNX Runtime (issue 4)
# tests/e2e/test_ort_quantized.py: cls, rec and det (256x256) quantized by ORT's quantize_static (QDQ and QOperator,
# per-channel) and quantize_dynamic, run by onnxq and ORT: QDQ and QOperator within 2 output steps (both are bit
# exact today), dynamic within a relative bound, and every integer op of the QOperator / dynamic models bit-exact
# given identical inputs. `ops`: one-node models of each new op (QLinearConv, QLinearMatMul, MatMulInteger,
# ConvInteger, DynamicQuantizeLinear, com.microsoft QLinear*/QGemm) vs ORT, integer outputs identical.
foreach(case cls rec det ops)
  add_test(NAME e2e/ort_quantized_${case}
           COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_ort_quantized.py
                   --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/ort_quantized --case ${case})
  set_tests_properties(e2e/ort_quantized_${case} PROPERTIES LABELS e2e TIMEOUT 900)
endforeach()

# ---------------------------------------------------------------- e2e: hardening (issue 7)
# tests/e2e/test_determinism.py: cls quantized with --data random twice with --threads 1 and once with
# --threads 2, with min_max and with percentile (histograms): byte-identical .onnx and .calib.json.
# tests/e2e/test_calib_rss.py: peak RSS of `onnxq quantize` calibrating cls on 10 and on 1000 random samples
# (batch size 1, percentile histograms), each its own process (os.wait4): within 10%.
# tests/e2e/test_bad_inputs_cli.py: the CLI-level entries of docs/bad_inputs.md (the exact messages).
add_test(NAME e2e/determinism
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_determinism.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/determinism)
set_tests_properties(e2e/determinism PROPERTIES LABELS e2e TIMEOUT 600)
add_test(NAME e2e/calib_rss
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_calib_rss.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/calib_rss)
set_tests_properties(e2e/calib_rss PROPERTIES LABELS e2e TIMEOUT 900)
add_test(NAME e2e/bad_inputs_cli
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_bad_inputs_cli.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/bad_inputs_cli)
set_tests_properties(e2e/bad_inputs_cli PROPERTIES LABELS e2e TIMEOUT 600)
# tests/e2e/test_report.py: `onnxq compare --report`: Markdown + one self-contained HTML page (charts, histograms of
# the worst layers), rendered by headless Chromium into a screenshot that shows the charts.
add_test(NAME e2e/report
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/test_report.py
                 --onnxq $<TARGET_FILE:onnxq> --work ${ONNXQ_E2E_WORK}/report)
set_tests_properties(e2e/report PROPERTIES LABELS e2e TIMEOUT 600)

# ---------------------------------------------------------------- python: the onnxq package (issue 9)
# tests/python/run_tests.py: `pip install` of the package (pyproject.toml + setup.py, the library taken from this
# build tree) into a throwaway folder, then pytest on tests/python: dtype round trips, cls vs ORT, quantize()
# from a generator and a CalibrationDataReader (byte-identical to `onnxq quantize`), errors, RSS over 1000 runs.
add_test(NAME python/package
         COMMAND ${ONNXQ_PYTHON} ${CMAKE_SOURCE_DIR}/tests/python/run_tests.py
                 --build-dir ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/python_pkg --cli $<TARGET_FILE:onnxq>
                 $<$<BOOL:${ONNXQ_SANITIZE}>:--asan>)
set_tests_properties(python/package PROPERTIES LABELS python TIMEOUT 600)
