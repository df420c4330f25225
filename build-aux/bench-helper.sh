#!/bin/bash
# Benchmark: the median round trip of an authorized verb (History) through passage-helper with a
# real polkitd deciding, and of a denied one, on a private system bus (300 calls each).
# Target (issue 3): ≤ 10 ms median. Needs root (it starts polkitd and a bus).
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
cargo build --release -q -p passage-helper
cargo test --release -q -p passagectl --test helper_bus -- --ignored --exact helper_round_trip_benchmark --nocapture 2>&1 | grep -E 'History round trip'
