#!/bin/bash
# Runs a payload inside the test bed's real kernel and collects what it leaves behind.
# usage: build-aux/testbed/exchange.sh WORKDIR PAYLOAD_DIR OUT_DIR
#   PAYLOAD_DIR must hold run.sh (sourced in L2 with OUT=dir-to-fill); OUT_DIR receives OUT's files.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(cd "$1" && pwd); PAYLOAD=$2; OUTDIR=$3
[ -f "$PAYLOAD/run.sh" ] || { echo "exchange: $PAYLOAD/run.sh missing" >&2; exit 2; }
mkdir -p "$OUTDIR"
tar -cf "$W/xin.img" -C "$PAYLOAD" .
truncate -s %1M "$W/xin.img"
rm -f "$W/xout.img"; truncate -s 64M "$W/xout.img"
EXCHANGE_IN=$W/xin.img EXCHANGE_OUT=$W/xout.img "$HERE/run.sh" exchange "$W"
tar -xf "$W/xout.img" -C "$OUTDIR"
[ -f "$OUTDIR/run.rc" ] || { echo "exchange: no results came back" >&2; exit 1; }
exit "$(cat "$OUTDIR/run.rc")"
