#!/usr/bin/env bash
# colscope dram from the command line: the JSON result on a reference trace,
# the command trace, --print-config round trip, and bad input: exit status 2,
# exactly one line on stderr naming the file (and line) and the problem, and
# no output file (not even a temporary one) left behind.
# usage: test_dram_cli.sh PATH/TO/colscope
set -u
cs=$1
data="$CS_SOURCE_DIR/tests/data/dram"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# --- a good run ---
if ! "$cs" dram --trace "$data/stream_20000.ldst" --json "$tmp/s.json" --command-trace "$tmp/cmds.csv" \
    >"$tmp/stdout" 2>"$tmp/stderr"; then
  echo "FAIL: colscope dram on stream_20000.ldst"; cat "$tmp/stderr"; fail=1
fi
grep -q "68684" "$tmp/stdout" || { echo "FAIL: table lacks the cycle count"; cat "$tmp/stdout"; fail=1; }
"$CS_PYTHON" - "$tmp/s.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
want = {"cycles": 68684, "requests": 20000, "reads": 16000, "writes": 4000, "bytes": 640000, "tck_ns": 0.57,
        "channels": 1, "preset": "gddr6-14", "mapping": "RoBaRaCoCh", "format": "loadstore", "refreshes": 20}
for k, v in want.items():
    if j.get(k) != v:
        sys.exit(f"FAIL: json {k} = {j.get(k)!r}, want {v!r}")
close = {"bandwidth_gbps": 20000 * 32 / (68684 * 0.57), "row_hit_rate": 19498 / 19948,
         "avg_read_latency_cycles": 2619361 / 15968}
for k, v in close.items():
    if abs(j[k] - v) > 1e-9 * v:
        sys.exit(f"FAIL: json {k} = {j[k]}, want {v}")
if not (j["cycles_all_done"] > j["cycles"] and j["p50_read_latency_cycles"] <= j["p99_read_latency_cycles"]):
    sys.exit("FAIL: json cycles_all_done / percentiles")
a = j["at_last_accept"]
if (a["row_hits"], a["row_misses"], a["row_conflicts"]) != (19498, 300, 150):
    sys.exit("FAIL: json row hits/misses/conflicts")
if j["all_done"]["reads_done"] != 16000 or j["all_done"]["writes_done"] != 4000:
    sys.exit("FAIL: json all_done")
if len(j["activations_per_bank"]) != 1 or len(j["activations_per_bank"][0]) != 16:
    sys.exit("FAIL: json activations_per_bank")
if sum(j["activations_per_bank"][0]) != j["all_done"]["commands"]["ACT"]:
    sys.exit("FAIL: activations do not add up to ACT commands")
PY
head -1 "$tmp/cmds.csv" | grep -q '^cycle,command,channel,bank_group,bank,row,column$' || { echo "FAIL: command trace header"; fail=1; }
sed -n 2p "$tmp/cmds.csv" | grep -q '^1,ACT,0,0,0,0,0$' || { echo "FAIL: first command"; head -3 "$tmp/cmds.csv"; fail=1; }

# --- DRAMsim3 format, same requests ---
awk '{print $2" "($1=="ST"?"WRITE":"READ")" 0"}' "$data/stream_20000.ldst" >"$tmp/stream.trace"
"$cs" dram -q --trace "$tmp/stream.trace" --json "$tmp/d.json" || { echo "FAIL: dramsim3 trace"; fail=1; }
"$CS_PYTHON" -c "
import json, sys
a, b = json.load(open('$tmp/s.json')), json.load(open('$tmp/d.json'))
sys.exit(0 if (a['cycles'], a['avg_read_latency_cycles']) == (b['cycles'], b['avg_read_latency_cycles']) and b['format'] == 'dramsim3' else 'FAIL: dramsim3 run differs')
" || fail=1

# --- --print-config writes an INI that reproduces the configuration ---
"$cs" dram --preset gddr6-16 --channels 2 --mapping RoCoBaRaCh --refresh per-bank --print-config >"$tmp/cfg.ini" || fail=1
grep -q '^tCK_ps = 500$' "$tmp/cfg.ini" || { echo "FAIL: print-config"; cat "$tmp/cfg.ini"; fail=1; }
"$cs" dram --preset gddr6-14 --config "$tmp/cfg.ini" --print-config >"$tmp/cfg2.ini" || fail=1
diff <(grep -v '^;' "$tmp/cfg.ini") <(grep -v '^;' "$tmp/cfg2.ini") >/dev/null || { echo "FAIL: print-config round trip"; fail=1; }

# --- help ---
"$cs" dram --help | grep -q -- "--trace FILE" || { echo "FAIL: dram --help"; fail=1; }
"$cs" --help | grep -q "^  dram " || { echo "FAIL: colscope --help lacks dram"; fail=1; }

# --- bad input ---
# expect_error STATUS PHRASE -- ARGS...
expect_error() {
  local want=$1 phrase=$2
  shift 3
  rm -rf "$tmp/out" && mkdir "$tmp/out"
  "$cs" dram --json "$tmp/out/r.json" --command-trace "$tmp/out/c.csv" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local got=$?
  local lines
  lines=$(wc -l <"$tmp/stderr")
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: colscope dram $* exited $got, want $want"; cat "$tmp/stderr"; fail=1
  elif [ "$lines" -ne 1 ]; then
    echo "FAIL: colscope dram $*: want one line on stderr, got $lines:"; cat "$tmp/stderr"; fail=1
  elif ! grep -qF -- "$phrase" "$tmp/stderr"; then
    echo "FAIL: colscope dram $*: stderr lacks '$phrase':"; cat "$tmp/stderr"; fail=1
  elif [ -n "$(ls -A "$tmp/out")" ]; then
    echo "FAIL: colscope dram $*: left files behind: $(ls -A "$tmp/out")"; fail=1
  fi
}

printf 'LD 0x0\nLD 0x20\nLOAD 0x40\n' >"$tmp/badop.ldst"
printf '0x0 READ 5\n0x20 READ 3\n' >"$tmp/backwards.trace"
printf 'LD 0x0\nST 0x40000000\n' >"$tmp/far.ldst"
printf '[timing]\nnCL = 20\nnRAS = 100\n' >"$tmp/ras.ini"
printf '[timing]\nnCL = 20\n[controller]\nreadq = 8\n' >"$tmp/key.ini"
printf '[timing]\nnCL = twenty\n' >"$tmp/value.ini"

expect_error 2 "badop.ldst:3: expected 'LD ADDRESS' or 'ST ADDRESS', got 'LOAD 0x40'" -- --trace "$tmp/badop.ldst"
expect_error 2 "backwards.trace:2: cycle 3 is earlier than the previous request's 5" -- --trace "$tmp/backwards.trace"
expect_error 2 "far.ldst:2: address 0x40000000 is beyond the DRAM's capacity" -- --trace "$tmp/far.ldst"
expect_error 2 "ras.ini:3: impossible timing: nRAS = 100 exceeds nRC = 79" -- --trace "$data/stream_20000.ldst" --config "$tmp/ras.ini"
expect_error 2 "key.ini:4: unknown key 'readq' in [controller]" -- --trace "$data/stream_20000.ldst" --config "$tmp/key.ini"
expect_error 2 "value.ini:2: [timing] nCL: 'twenty' is not a non-negative integer" -- --trace "$data/stream_20000.ldst" --config "$tmp/value.ini"
expect_error 2 "missing.ldst: cannot open" -- --trace "$tmp/missing.ldst"
expect_error 2 "unknown DRAM preset 'gddr7'" -- --trace "$data/stream_20000.ldst" --preset gddr7
expect_error 2 "channels = 3 is not a power of two" -- --trace "$data/stream_20000.ldst" --channels 3
expect_error 2 "mapping 'RoRo' is not a bit order" -- --trace "$data/stream_20000.ldst" --mapping RoRo
expect_error 2 "--refresh: 'sometimes'" -- --trace "$data/stream_20000.ldst" --refresh sometimes
expect_error 2 "no --trace given" --
expect_error 2 "unknown option '--trase'" -- --trase x
expect_error 2 "cannot create output file" -- --trace "$data/stream_20000.ldst" --json "$tmp/nodir/r.json"

# --wrap-addresses drops the high bits instead (Ramulator's behaviour)
"$cs" dram -q --wrap-addresses --trace "$tmp/far.ldst" || { echo "FAIL: --wrap-addresses"; fail=1; }

exit $fail
