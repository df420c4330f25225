#!/bin/bash
# Benchmark (sessions issue): the time from `passagectl vm start --wait` (pre-flight included)
# to libvirt reporting the domain running, against `virsh start` of the same VM on the same
# private libvirtd (a small software-emulated VM), medians and the difference printed.
# Target: Passage adds at most 100 ms. Needs root (it starts libvirtd). usage: [RUNS=9] bench-session.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
cargo test --release -q -p passagectl --test vm_session -- --ignored --exact session_start_benchmark --nocapture 2>&1 \
  | grep -E 'median|adds'
