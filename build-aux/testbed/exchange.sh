#!/bin/bash
# Runs a payload inside the test bed's real kernel and collects what it leaves behind.
# usage: build-aux/testbed/exchange.sh WORKDIR PAYLOAD_DIR OUT_DIR
#   PAYLOAD_DIR must hold run.sh (sourced in L2 with OUT=dir-to-fill); OUT_DIR receives OUT's files.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(cd "$1" && pwd); PAYLOAD=$2; OUTDIR=$3
[ -f "$PAYLOAD/run.sh" ] || { echo "exchange: $PAYLOAD/run.sh missing" >&2; exit 2; }
mkdir -p "$OUTDIR"
# This run's own exchange disks (in WORKDIR, gone at exit) and serial log, so that test-bed runs
# can go side by side (build-aux/testbed/test-all.sh).
XIN=$(mktemp "$W/xin.XXXXXX"); XOUT=$(mktemp "$W/xout.XXXXXX")
SERIAL=$W/serial-exchange.${XIN##*.}.log
trap 'rm -f "$XIN" "$XOUT"' EXIT
tar -cf "$XIN" -C "$PAYLOAD" .
truncate -s %1M "$XIN"
truncate -s 64M "$XOUT"
SERIAL_LOG=$SERIAL EXCHANGE_IN=$XIN EXCHANGE_OUT=$XOUT "$HERE/run.sh" exchange "$W"
tar -xf "$XOUT" -C "$OUTDIR"
[ -f "$OUTDIR/run.rc" ] || { echo "exchange: no results came back" >&2; exit 1; }
exit "$(cat "$OUTDIR/run.rc")"
