#!/usr/bin/env bash
# colscope profile on bad input: exit status 2, exactly one line on stderr
# naming the file and the problem, and no output file (not even a temporary
# one) left behind. usage: test_profile_errors.sh PATH/TO/colscope
set -u
cs=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect_error STATUS PHRASE -- ARGS...
expect_error() {
  local want=$1 phrase=$2
  shift 3
  rm -rf "$tmp/out" && mkdir "$tmp/out"
  "$cs" "$1" --json "$tmp/out/p.json" --csv "$tmp/out/p.csv" "${@:2}" >"$tmp/stdout" 2>"$tmp/stderr"
  local got=$?
  local lines
  lines=$(wc -l <"$tmp/stderr")
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: colscope $* exited $got, want $want"; cat "$tmp/stderr"; fail=1
  elif [ "$lines" -ne 1 ]; then
    echo "FAIL: colscope $*: want one line on stderr, got $lines:"; cat "$tmp/stderr"; fail=1
  elif ! grep -qF -- "$phrase" "$tmp/stderr"; then
    echo "FAIL: colscope $*: stderr lacks '$phrase':"; cat "$tmp/stderr"; fail=1
  elif [ -n "$(ls -A "$tmp/out")" ]; then
    echo "FAIL: colscope $*: left files behind: $(ls -A "$tmp/out")"; fail=1
  fi
}

printf '' >"$tmp/empty.npy"
printf 'garbage!' >"$tmp/garbage.npy"
printf '\x93NUMPY\x01\x00\x40\x00{"descr"' >"$tmp/trunc.npy"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":' >"$tmp/bad.safetensors"
"$CS_PYTHON" - "$tmp" <<'PY'
import numpy as np, sys, os
d = sys.argv[1]
np.save(os.path.join(d, "ok.npy"), np.ones((4, 3), np.float32))
np.save(os.path.join(d, "i64.npy"), np.ones((4, 3), np.int64))
np.save(os.path.join(d, "u2.npy"), np.ones((4, 3), np.uint16))
np.save(os.path.join(d, "big.npy"), np.ones((4, 3), ">f4"))
raw = open(os.path.join(d, "ok.npy"), "rb").read()
open(os.path.join(d, "short.npy"), "wb").write(raw[:-5])
open(os.path.join(d, "long.npy"), "wb").write(raw + b"xx")
PY

expect_error 2 "empty.npy: empty file" -- profile "$tmp/empty.npy"
expect_error 2 "garbage.npy: not a .npy file" -- profile "$tmp/garbage.npy"
expect_error 2 "trunc.npy: truncated .npy header" -- profile "$tmp/trunc.npy"
expect_error 2 "bad.safetensors: truncated safetensors header" -- profile "$tmp/bad.safetensors"
expect_error 2 "i64.npy: unsupported dtype '<i8'" -- profile "$tmp/i64.npy"
expect_error 2 "u2.npy: dtype '<u2' is an integer type" -- profile "$tmp/u2.npy"
expect_error 2 "big.npy: big-endian" -- profile "$tmp/big.npy"
expect_error 2 "short.npy: truncated data" -- profile "$tmp/short.npy"
expect_error 2 "long.npy: size mismatch" -- profile "$tmp/long.npy"
expect_error 2 "missing.npy: cannot open" -- profile "$tmp/missing.npy"
expect_error 2 "ok.npy: tensor names" -- profile "$tmp/ok.npy:x"
expect_error 2 "feature axis 7 out of range" -- profile "$tmp/ok.npy" --feature-axis 7
# a good file first and a bad one second: still no output left behind
expect_error 2 "empty.npy: empty file" -- profile "$tmp/ok.npy" "$tmp/empty.npy"
# usage errors
expect_error 2 "--thresholds: 'abc' is not a valid number" -- profile "$tmp/ok.npy" --thresholds 0.1,abc
expect_error 2 "is not a finite non-negative number" -- profile "$tmp/ok.npy" --thresholds -1
expect_error 2 "--tile-rows: 0 is outside" -- profile "$tmp/ok.npy" --tile-rows 0
expect_error 2 "unknown option '--bogus'" -- profile "$tmp/ok.npy" --bogus
expect_error 2 "no input given" -- profile
expect_error 2 "needs a value" -- profile "$tmp/ok.npy" --thresholds

# an output directory that does not exist
"$cs" profile -q "$tmp/ok.npy" --json "$tmp/nodir/p.json" 2>"$tmp/stderr"
if [ $? -ne 2 ] || ! grep -q "nodir/p.json" "$tmp/stderr"; then echo "FAIL: missing output directory"; fail=1; fi

# success: exit 0, outputs present, help and version
"$cs" profile -q "$tmp/ok.npy" --json "$tmp/p.json" --csv "$tmp/p.csv" || { echo "FAIL: good input"; fail=1; }
[ -s "$tmp/p.json" ] && [ -s "$tmp/p.csv" ] || { echo "FAIL: outputs missing"; fail=1; }
"$cs" profile --help | grep -q "usage: colscope profile" || { echo "FAIL: --help"; fail=1; }
"$cs" --version | grep -q "^colscope " || { echo "FAIL: --version"; fail=1; }
"$cs" nosuchcommand 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: unknown command status"; fail=1; }

[ $fail -eq 0 ] && echo "all profile error cases behave"
exit $fail
