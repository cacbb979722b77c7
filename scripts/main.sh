#!/usr/bin/env bash
# The main job: build colscope and run it on the bundled default data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build --target colscope_cli >/dev/null
mkdir -p out
build/colscope profile examples/ --json out/profile.json --csv out/profile.csv
echo "colscope: wrote out/profile.json and out/profile.csv"
