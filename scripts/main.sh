#!/usr/bin/env bash
# The main job: build colscope and run it on the bundled default data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build --target colscope_cli >/dev/null
mkdir -p out
build/colscope profile examples/ --json out/profile.json --csv out/profile.csv
# The example tensors as the down projections they stand in for: cycles on a
# 128x128 array (SCALE-Sim-exact dense, and with zero columns skipped), then
# on the default accelerator with GDDR6 under each memory layout.
bind=(--activation unet_level0_ff2=examples/unet_geglu_level0.npy
      --activation dit_block13_fc2=examples/dit_gelu_block13.safetensors
      --activation mld_layer4_linear2=examples/mld_gelu_layer4.npy --threshold 0.01)
build/colscope compute --array 128x128 --dataflow os -t examples/ffn_topology.csv -i gemm "${bind[@]}" \
  --json out/compute.json
build/colscope simulate -t examples/ffn_topology.csv -i gemm --dataflow os "${bind[@]}" \
  --json out/simulate.json --csv out/simulate.csv
echo "colscope: wrote out/profile.{json,csv}, out/compute.json and out/simulate.{json,csv}"
