#!/bin/bash
# Every crate's tests, built once and run in two lanes at once: the app's (the GUI test, about
# five minutes mostly spent waiting on Xvfb, AT-SPI and the app) beside all the others (libvirtd,
# polkitd, fixtures). The test programs are run as `cargo test` runs them (from their package's
# directory, one after another within a lane), but straight from cargo's build list, so both lanes
# use the one build: `cargo test -p X` for a subset would resolve features for that subset and
# build every other crate's tests a second time. A lane that runs longer than the limit is
# killed; the test named by the harness's "running for over 60 seconds" line is the one to read.
# usage: build-aux/test-lanes.sh [LIMIT_SECONDS]      (default 2400)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-2400}
lanes=$(mktemp -d); trap 'rm -rf "$lanes"' EXIT
cargo test --workspace --no-run --message-format=json-render-diagnostics > "$lanes/build.json"
# The GUI test and testkit bring passagectl and the helper up to date with `cargo build -p` (its
# features resolved for that package alone): done here, before the lanes, so that no lane
# relinks a program the other lane may be running.
cargo build -q -p passagectl
cargo build -q -p passage-helper
python3 - "$lanes" <<'PY'
import json, os, sys
lanes = sys.argv[1]
out = {"app": [], "crates": []}
for line in open(os.path.join(lanes, "build.json")):
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    pkg_dir = os.path.dirname(m["manifest_path"])
    name = m["package_id"]
    lane = "app" if os.path.abspath(pkg_dir) == os.getcwd() else "crates"
    out[lane].append(f"{pkg_dir}\t{m['executable']}\t{m['target']['name']}")
for lane, rows in out.items():
    with open(os.path.join(lanes, lane + ".list"), "w") as f:
        f.write("\n".join(sorted(rows, key=lambda r: (r.split("\t")[0], r.split("\t")[2]))) + "\n")
PY
export CARGO=${CARGO:-$(command -v cargo)}
run_lane(){ local name=$1 rc=0 dir exe target
  while IFS=$'\t' read -r dir exe target; do
    [ -n "$exe" ] || continue
    echo "     Running $target (${exe#"$PWD"/})"
    (cd "$dir" && "$exe" </dev/null) || rc=$?
  done < "$lanes/$name.list"
  return $rc; }
lane(){ local name=$1 rc=0
  timeout --kill-after=60 "$limit" bash -c "$(declare -f run_lane); lanes=$lanes; run_lane $name" \
    > "$lanes/$name.log" 2>&1 || rc=$?
  echo "$rc" > "$lanes/$name.rc"; }
lane app & app_pid=$!
lane crates & crates_pid=$!
wait "$app_pid" "$crates_pid" || true
failed=0
for name in crates app; do
  echo "--- lane: $name ($(wc -l < "$lanes/$name.list") test programs)"
  cat "$lanes/$name.log"
  rc=$(cat "$lanes/$name.rc")
  [ "$rc" = 124 ] && echo "the $name lane did not end in ${limit}s: see the test named as running longest above" >&2
  [ "$rc" = 0 ] || failed=$rc
done
exit "$failed"
