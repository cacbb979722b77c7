#!/usr/bin/env bash
# Every subcommand on small inputs under valgrind memcheck: no invalid access,
# no uninitialised use, no leak. usage: test_valgrind.sh PATH/TO/colscope
set -u
cs=$1
src=${CS_SOURCE_DIR:?}
if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed (scripts/deps.sh test installs it)"; exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vg() {
  valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect "$cs" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 99 ]; then echo "FAIL: valgrind reports errors for: colscope $*"; cat "$tmp/err"; return 1; fi
  return 0
}
fail=0
printf 'Layer, M, N, K,\nffn2, 6, 256, 1024,\nother, 40, 48, 56,\n' >"$tmp/t.csv"
vg profile -q "$src/examples/" --json "$tmp/p.json" --csv "$tmp/p.csv" --channels || fail=1
vg profile -q "$src/examples/unet_geglu_level0.npy" --feature-axis 1 -r 7,16 || fail=1
vg compute -q --array 32x32 --dataflow os -t "$tmp/t.csv" -i gemm \
  --activation "ffn2=$src/examples/mld_gelu_layer4.npy" --json "$tmp/c.json" -p "$tmp/rep" || fail=1
vg compute -q -c "$src/tests/data/scalesim/configs/v3_ws32_sparse_rowwise.cfg" \
  -t "$src/tests/data/scalesim/topologies/v3_g0_rowwise.csv" -i gemm -p "$tmp/rep" || fail=1
vg simulate -q --machine "$src/configs/machines/edge.ini" -t "$tmp/t.csv" -i gemm \
  --activation "ffn2=$src/examples/mld_gelu_layer4.npy" --json "$tmp/s.json" -j 2 || fail=1
vg simulate -q --machine "$src/configs/machines/edge.ini" -t "$tmp/t.csv" -i gemm --memory bandwidth \
  --column-sparsity other=0.5 -j 1 || fail=1
vg profile -q "$tmp/missing.npy" || fail=1     # error paths too
vg compute --array 4x4 -t "$tmp/missing.csv" || fail=1
[ $fail -eq 0 ] && echo "valgrind: no errors in profile, compute, simulate (success and error paths)"
exit $fail
