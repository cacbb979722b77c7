#!/usr/bin/env bash
# Installs the Debian 12 packages colscope needs, or says how to.
# usage: scripts/deps.sh run|test
# As root, missing packages are installed with apt-get; otherwise the one
# command that installs them is printed and the script fails.
set -euo pipefail

run_pkgs=(gcc cmake ninja-build pkg-config libcjson-dev libinih-dev)
test_pkgs=("${run_pkgs[@]}" libcriterion-dev python3 python3-numpy python3-torch python3-pip python3-setuptools python3-wheel valgrind)

case "${1:-}" in
  run) pkgs=("${run_pkgs[@]}") ;;
  test) pkgs=("${test_pkgs[@]}") ;;
  *) echo "usage: scripts/deps.sh run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "colscope: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "colscope: missing Debian packages; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
