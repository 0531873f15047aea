# The `adarts` command-line tool end to end, included by tests/CMakeLists.txt
# (so CMAKE_CURRENT_SOURCE_DIR and CMAKE_CURRENT_BINARY_DIR are tests/'s).

# The command-line tool end to end on synthetic data.
add_test(NAME cli_search_synthetic
  COMMAND adarts_cli search --dataset synthetic --epochs 1 --train-subset 64
          --channels 4 --layers 3 --batch-size 16 --overwrite --out ${CMAKE_CURRENT_BINARY_DIR}/cli_search_out)
add_test(NAME cli_bad_option_fails COMMAND adarts_cli search --no-such-option)
set_tests_properties(cli_bad_option_fails PROPERTIES WILL_FAIL TRUE)

# `adarts fidelity` and `adarts search --fidelity-every` end to end on synthetic data.
set(FIDELITY_ARGS --dataset synthetic --train-subset 32 --channels 4 --layers 2 --batch-size 8 --threads 1
    --implicit-iterations 3)
add_test(NAME cli_fidelity_table COMMAND adarts_cli fidelity ${FIDELITY_ARGS} --probes 2 --train-steps 2)
set_tests_properties(cli_fidelity_table PROPERTIES PASS_REGULAR_EXPRESSION "cos_amended_fd .*2 probe\\(s\\)")
add_test(NAME cli_fidelity_json COMMAND adarts_cli fidelity ${FIDELITY_ARGS} --probes 1 --json)
set_tests_properties(cli_fidelity_json PROPERTIES PASS_REGULAR_EXPRESSION "\"mean\":{\"cos_amended_fd\":")
add_test(NAME cli_search_fidelity_every
  COMMAND adarts_cli search ${FIDELITY_ARGS} --epochs 1 --fidelity-every 1 --overwrite --out ${CMAKE_CURRENT_BINARY_DIR}/cli_search_fidelity)
set_tests_properties(cli_search_fidelity_every PROPERTIES PASS_REGULAR_EXPRESSION "fidelity: 2 probe\\(s\\)"
  FIXTURES_SETUP cli_search_fidelity_out)
# The probe on that search's newest checkpoint, in a scratch dir (the run is left as it was).
add_test(NAME cli_fidelity_checkpoint
  COMMAND adarts_cli fidelity --checkpoint ${CMAKE_CURRENT_BINARY_DIR}/cli_search_fidelity --probes 1
          --implicit-iterations 3 --threads 1)
set_tests_properties(cli_fidelity_checkpoint PROPERTIES FIXTURES_REQUIRED cli_search_fidelity_out
  PASS_REGULAR_EXPRESSION "probing .*checkpoints/epoch-000001-step-000000.pt: epoch 2, step 0/2.*1 probe\\(s\\)")
add_test(NAME cli_fidelity_bad_probes_fails COMMAND adarts_cli fidelity --dataset synthetic --probes 0)
set_tests_properties(cli_fidelity_bad_probes_fails PROPERTIES WILL_FAIL TRUE)

# `adarts report` on the metrics of a fresh 2-epoch search: every figure is written.
set(CLI_REPORT ${CMAKE_CURRENT_BINARY_DIR}/cli_report)
add_test(NAME cli_report_search
  COMMAND adarts_cli search --dataset synthetic --epochs 2 --train-subset 64 --channels 4 --layers 3
          --batch-size 16 --threads 1 --overwrite --out ${CLI_REPORT}/search)
set_tests_properties(cli_report_search PROPERTIES FIXTURES_SETUP cli_report_metrics)
add_test(NAME cli_report_draws COMMAND adarts_cli report ${CLI_REPORT}/search/metrics.jsonl --out ${CLI_REPORT}/figures)
set_tests_properties(cli_report_draws PROPERTIES FIXTURES_REQUIRED cli_report_metrics
  PASS_REGULAR_EXPRESSION "collapse.svg.*loss.svg.*accuracy.svg.*op_weights_normal.svg.*entropy_normal.svg.*op_weights_reduce.svg.*entropy_reduce.svg.*index.html")
add_test(NAME cli_report_missing_file_fails COMMAND adarts_cli report ${CLI_REPORT}/no_such_metrics.jsonl)
set_tests_properties(cli_report_missing_file_fails PROPERTIES WILL_FAIL TRUE)

# `adarts random-search`: 3 tiny samples on synthetic data, the best 2 kept and written.
set(CLI_RANDOM ${CMAKE_CURRENT_BINARY_DIR}/cli_random_search)
add_test(NAME cli_random_search_synthetic
  COMMAND adarts_cli random-search --space s1 --dataset synthetic --samples 3 --keep 2 --train-subset 32
          --val-subset 32 --epochs 1 --channels 4 --layers 3 --batch-size 16 --threads 1 --out ${CLI_RANDOM})
set_tests_properties(cli_random_search_synthetic PROPERTIES FIXTURES_SETUP cli_random_search_out
  PASS_REGULAR_EXPRESSION "rank 1: sample [1-3] .*rank 2: sample [1-3] .*results.json.*best_1.json.*best_2.txt")
add_test(NAME cli_random_search_best_trains
  COMMAND adarts_cli train --genotype ${CLI_RANDOM}/best_1.json --dataset synthetic --train-subset 32
          --test-subset 16 --channels 4 --layers 3 --epochs 1 --batch-size 16 --threads 1 --overwrite --out ${CLI_RANDOM}/train)
set_tests_properties(cli_random_search_best_trains PROPERTIES FIXTURES_REQUIRED cli_random_search_out
  PASS_REGULAR_EXPRESSION "top-1")
add_test(NAME cli_random_search_keep_too_large_fails
  COMMAND adarts_cli random-search --dataset synthetic --samples 2 --keep 3 --out ${CLI_RANDOM}/bad)
set_tests_properties(cli_random_search_keep_too_large_fails PROPERTIES WILL_FAIL TRUE)

# random-search over s2: per-cell genotypes of --layers cells, re-trained with that cell count.
add_test(NAME cli_random_search_s2
  COMMAND adarts_cli random-search --space s2 --dataset synthetic --samples 2 --keep 1 --train-subset 32
          --val-subset 32 --epochs 1 --channels 4 --layers 3 --batch-size 16 --threads 1 --out ${CLI_RANDOM}_s2)
set_tests_properties(cli_random_search_s2 PROPERTIES FIXTURES_SETUP cli_random_search_s2_out
  PASS_REGULAR_EXPRESSION "rank 1: sample [1-2] .*results.json.*best_1.json")
add_test(NAME cli_random_search_s2_best_trains
  COMMAND adarts_cli train --genotype ${CLI_RANDOM}_s2/best_1.json --dataset synthetic --train-subset 32
          --test-subset 16 --channels 4 --epochs 1 --batch-size 16 --threads 1 --overwrite --out ${CLI_RANDOM}_s2/train)
set_tests_properties(cli_random_search_s2_best_trains PROPERTIES FIXTURES_REQUIRED cli_random_search_s2_out
  PASS_REGULAR_EXPRESSION "top-1")

# Search with every consistency switch (paper 4.1.2) on the command line.
add_test(NAME cli_search_consistency_switches
  COMMAND adarts_cli search --dataset synthetic --space s1 --epochs 2 --train-subset 64 --channels 4 --layers 3
          --batch-size 16 --threads 1 --cutout 4 --drop-path-prob 0.3 --auxiliary true --auxiliary-weight 0.5
          --overwrite --out ${CMAKE_CURRENT_BINARY_DIR}/cli_search_consistency)
set_tests_properties(cli_search_consistency_switches PROPERTIES
  PASS_REGULAR_EXPRESSION "consistency options: cutout 4, drop-path 0.3 \\(ramped over epochs\\), auxiliary head weight 0.5.*epoch 2/2")

# `adarts genotype`, `adarts train` and `adarts evaluate` end to end.
set(GENOTYPES ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/genotypes)
set(CLI_OUT ${CMAKE_CURRENT_BINARY_DIR}/cli_train_tests)
file(MAKE_DIRECTORY ${CLI_OUT})
add_test(NAME cli_genotype_show COMMAND adarts_cli genotype show ${GENOTYPES}/darts_v2.txt)
set_tests_properties(cli_genotype_show PROPERTIES PASS_REGULAR_EXPRESSION "parameters: .*multiply-adds: ")
add_test(NAME cli_genotype_convert_to_json
  COMMAND adarts_cli genotype convert ${GENOTYPES}/darts_v2.txt --to json -o ${CLI_OUT}/darts_v2.json)
add_test(NAME cli_genotype_convert_direct
  COMMAND adarts_cli genotype convert ${GENOTYPES}/darts_v2.txt --to darts -o ${CLI_OUT}/darts_v2_direct.txt)
set_tests_properties(cli_genotype_convert_to_json cli_genotype_convert_direct PROPERTIES FIXTURES_SETUP cli_genotype_json)
add_test(NAME cli_genotype_convert_back
  COMMAND adarts_cli genotype convert ${CLI_OUT}/darts_v2.json --to darts -o ${CLI_OUT}/darts_v2_back.txt)
set_tests_properties(cli_genotype_convert_back PROPERTIES FIXTURES_REQUIRED cli_genotype_json FIXTURES_SETUP cli_genotype_back)
add_test(NAME cli_genotype_json_matches_fixture
  COMMAND ${CMAKE_COMMAND} -E compare_files ${CLI_OUT}/darts_v2.json ${GENOTYPES}/darts_v2.json)
add_test(NAME cli_genotype_round_trip
  COMMAND ${CMAKE_COMMAND} -E compare_files ${CLI_OUT}/darts_v2_back.txt ${CLI_OUT}/darts_v2_direct.txt)
set_tests_properties(cli_genotype_json_matches_fixture cli_genotype_round_trip PROPERTIES
  FIXTURES_REQUIRED "cli_genotype_json;cli_genotype_back")
add_test(NAME cli_genotype_draw_dot
  COMMAND adarts_cli genotype draw ${GENOTYPES}/darts_v2.json --format dot -o ${CLI_OUT}/darts_v2)
add_test(NAME cli_train_synthetic
  COMMAND adarts_cli train --genotype ${GENOTYPES}/darts_v2.json --dataset synthetic --train-subset 64
          --test-subset 32 --channels 4 --layers 3 --epochs 1 --batch-size 16 --threads 1 --overwrite --out ${CLI_OUT}/train)
set_tests_properties(cli_train_synthetic PROPERTIES FIXTURES_SETUP cli_trained_model PASS_REGULAR_EXPRESSION "top-1")
add_test(NAME cli_evaluate_trained COMMAND adarts_cli evaluate ${CLI_OUT}/train/model.pt)
set_tests_properties(cli_evaluate_trained PROPERTIES FIXTURES_REQUIRED cli_trained_model
  PASS_REGULAR_EXPRESSION "loss [0-9.]+ top-1 [0-9.]+% top-5 [0-9.]+% \\(32 images\\)")
add_test(NAME cli_train_bad_option_fails COMMAND adarts_cli train --genotype ${GENOTYPES}/darts_v2.txt --no-such-option)
add_test(NAME cli_train_needs_genotype_fails COMMAND adarts_cli train --dataset synthetic)
add_test(NAME cli_evaluate_missing_model_fails COMMAND adarts_cli evaluate ${CLI_OUT}/no_such_model.pt)
add_test(NAME cli_genotype_bad_format_fails COMMAND adarts_cli genotype draw ${GENOTYPES}/darts_v2.txt --format jpeg)
set_tests_properties(cli_train_bad_option_fails cli_train_needs_genotype_fails cli_evaluate_missing_model_fails
  cli_genotype_bad_format_fails PROPERTIES WILL_FAIL TRUE)

# The PyTorch export (docs/pytorch-export.md): `adarts train --export-pytorch`,
# `adarts export` and `adarts evaluate --logits` against a re-statement of
# DARTS's own modules in PyTorch (Debian: python3-torch); each variant skipped
# (77) in a Python without torch. What each checks: tests/export_pytorch.py.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  foreach(variant cifar imagenet)
    add_test(NAME cli_export_pytorch_${variant}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/export_pytorch.py $<TARGET_FILE:adarts_cli>
              ${CMAKE_CURRENT_BINARY_DIR}/cli_export_pytorch_${variant} ${variant})
    set_tests_properties(cli_export_pytorch_${variant} PROPERTIES SKIP_RETURN_CODE 77 PASS_REGULAR_EXPRESSION "PASS: "
      TIMEOUT 300)
  endforeach()
endif()
# No DARTS network holds a per-cell genotype: refused before training, saying why.
add_test(NAME cli_export_pytorch_per_cell_refused
  COMMAND adarts_cli train --genotype ${GENOTYPES}/s2_three_cells.json --dataset synthetic --train-subset 32
          --test-subset 16 --channels 4 --epochs 1 --batch-size 16 --threads 1 --overwrite
          --out ${CLI_OUT}/train_s2_export --export-pytorch ${CLI_OUT}/train_s2_darts.pt)
set_tests_properties(cli_export_pytorch_per_cell_refused PROPERTIES
  PASS_REGULAR_EXPRESSION "one genotype per cell .*share one normal and one reduction cell"
  FAIL_REGULAR_EXPRESSION "train loss")

# Space s2: per-cell alphas and genotypes end to end.
add_test(NAME cli_search_s2_synthetic
  COMMAND adarts_cli search --space s2 --dataset synthetic --epochs 1 --train-subset 64
          --channels 4 --layers 3 --batch-size 16 --threads 1 --overwrite --out ${CMAKE_CURRENT_BINARY_DIR}/cli_search_s2_out)
set_tests_properties(cli_search_s2_synthetic PROPERTIES PASS_REGULAR_EXPRESSION "s2 per-cell genotype, 3 cells")
add_test(NAME cli_genotype_show_per_cell
  COMMAND adarts_cli genotype show ${GENOTYPES}/s2_three_cells.json --channels 4 --input 1x16x16)
set_tests_properties(cli_genotype_show_per_cell PROPERTIES PASS_REGULAR_EXPRESSION "3 cells.*parameters: ")
add_test(NAME cli_genotype_draw_network
  COMMAND adarts_cli genotype draw ${GENOTYPES}/s2_three_cells.json --format dot -o ${CLI_OUT}/s2)
set_tests_properties(cli_genotype_draw_network PROPERTIES PASS_REGULAR_EXPRESSION "s2_network.dot")
add_test(NAME cli_train_per_cell
  COMMAND adarts_cli train --genotype ${GENOTYPES}/s2_three_cells.json --dataset synthetic --train-subset 64
          --test-subset 32 --channels 4 --epochs 1 --batch-size 16 --threads 1 --overwrite --out ${CLI_OUT}/train_s2)
set_tests_properties(cli_train_per_cell PROPERTIES PASS_REGULAR_EXPRESSION "top-1")
add_test(NAME cli_genotype_per_cell_to_darts_fails
  COMMAND adarts_cli genotype convert ${GENOTYPES}/s2_three_cells.json --to darts)
add_test(NAME cli_train_per_cell_wrong_layers_fails
  COMMAND adarts_cli train --genotype ${GENOTYPES}/s2_three_cells.json --dataset synthetic --train-subset 64
          --test-subset 32 --channels 4 --layers 8 --epochs 1 --batch-size 16 --threads 1 --out ${CLI_OUT}/train_s2_bad)
# The error must be the one meant (the regex replaces the exit-status check).
set_tests_properties(cli_genotype_per_cell_to_darts_fails PROPERTIES
  PASS_REGULAR_EXPRESSION "DARTS text form holds one normal and one reduction cell")
set_tests_properties(cli_train_per_cell_wrong_layers_fails PROPERTIES
  PASS_REGULAR_EXPRESSION "has 3 cells but layers is 8")

# Checkpoints end to end: SIGKILL at a random step + resume gives bit-identical
# alphas; SIGINT exits 130 with a checkpoint; incompatible resumes are refused.
add_test(NAME cli_search_resume_after_kill
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_resume_after_kill.sh $<TARGET_FILE:adarts_cli>
          ${CMAKE_CURRENT_BINARY_DIR}/cli_resume_after_kill)
set_tests_properties(cli_search_resume_after_kill PROPERTIES PASS_REGULAR_EXPRESSION "PASS" TIMEOUT 900)

# `adarts --version`: the versions and CUDA availability, without a subcommand, exit status 0.
add_test(NAME cli_version COMMAND adarts_cli --version)
set_tests_properties(cli_version PROPERTIES PASS_REGULAR_EXPRESSION
  "adarts ${PROJECT_VERSION}\nC ABI: ${PROJECT_VERSION_MAJOR}\nLibTorch: [0-9][^\n]*\nCUDA available: (yes|no)")
add_test(NAME cli_version_exits_zero COMMAND adarts_cli --version)

# `adarts genotype convert` without --to: DARTS text -> JSON and JSON -> DARTS text.
add_test(NAME cli_genotype_convert_default_to_json
  COMMAND adarts_cli genotype convert ${GENOTYPES}/darts_v2.txt -o ${CLI_OUT}/darts_v2_default.json)
add_test(NAME cli_genotype_convert_default_to_darts
  COMMAND adarts_cli genotype convert ${GENOTYPES}/darts_v2.json -o ${CLI_OUT}/darts_v2_default.txt)
set_tests_properties(cli_genotype_convert_default_to_json cli_genotype_convert_default_to_darts PROPERTIES
  FIXTURES_SETUP cli_genotype_default)
add_test(NAME cli_genotype_default_json_matches_fixture
  COMMAND ${CMAKE_COMMAND} -E compare_files ${CLI_OUT}/darts_v2_default.json ${GENOTYPES}/darts_v2.json)
add_test(NAME cli_genotype_default_darts_matches_direct
  COMMAND ${CMAKE_COMMAND} -E compare_files ${CLI_OUT}/darts_v2_default.txt ${CLI_OUT}/darts_v2_direct.txt)
set_tests_properties(cli_genotype_default_json_matches_fixture cli_genotype_default_darts_matches_direct PROPERTIES
  FIXTURES_REQUIRED "cli_genotype_default;cli_genotype_json")

# A 2-rank data-parallel search: a killed rank stops the other within the
# timeout, the resumed run ends as an uninterrupted one; `adarts launch` alike.
add_test(NAME cli_distributed_kill_and_resume
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_distributed_kill.sh $<TARGET_FILE:adarts_cli>
          ${CMAKE_CURRENT_BINARY_DIR}/cli_distributed_kill)
set_tests_properties(cli_distributed_kill_and_resume PROPERTIES PASS_REGULAR_EXPRESSION "PASS" TIMEOUT 900)

# `adarts launch`: the process handling, driven through the hidden --program
# with a rank script (tests/fixtures/launch_rank.sh); cli_distributed_kill.sh
# launches real searches.
foreach(case ok fail fail_alone fail_stubborn kill exec_fails sigterm sigint second_signal)
  add_test(NAME cli_launch_${case}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli_launch.sh $<TARGET_FILE:adarts_cli>
            ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/launch_rank.sh ${CMAKE_CURRENT_BINARY_DIR}/cli_launch_${case} ${case})
  set_tests_properties(cli_launch_${case} PROPERTIES PASS_REGULAR_EXPRESSION "PASS" TIMEOUT 60)
endforeach()
# Refusals, each with its message (the regex replaces the exit-status check).
add_test(NAME cli_launch_nproc_zero_refused COMMAND adarts_cli launch --nproc 0 -- search)
set_tests_properties(cli_launch_nproc_zero_refused PROPERTIES PASS_REGULAR_EXPRESSION "--nproc must be >= 1, got 0")
add_test(NAME cli_launch_rank_in_command_refused COMMAND adarts_cli launch --nproc 2 -- search --epochs 1 --rank 1)
add_test(NAME cli_launch_world_size_in_command_refused COMMAND adarts_cli launch --nproc 2 -- train --world-size=2)
set_tests_properties(cli_launch_rank_in_command_refused cli_launch_world_size_in_command_refused PROPERTIES
  PASS_REGULAR_EXPRESSION "launch sets --world-size, --rank and --rendezvous for each rank; remove '--(rank|world-size=2)'")
add_test(NAME cli_launch_bad_rendezvous_refused COMMAND adarts_cli launch --nproc 2 --rendezvous /tmp/x -- search)
set_tests_properties(cli_launch_bad_rendezvous_refused PROPERTIES
  PASS_REGULAR_EXPRESSION "--rendezvous must be file:///ABSOLUTE/PATH or tcp://HOST:PORT, got '/tmp/x'")
add_test(NAME cli_launch_no_subcommand_refused COMMAND adarts_cli launch --nproc 2 --grace 1)
set_tests_properties(cli_launch_no_subcommand_refused PROPERTIES WILL_FAIL TRUE)
