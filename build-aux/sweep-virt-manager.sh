#!/bin/bash
# Runs Passage's domain reader, device editor and session settings over the domains in
# virt-manager's test data at releases from 1.0 (2014) to 5.1: what virt-install wrote in each
# era (cli compare outputs), the XML its editor parses, and the test driver's domains.
# Same checks as build-aux/sweep-libvirt.sh (crates/core/tests/libvirt_sweep.rs); a file with
# several domains (an install then a boot, a test driver node) is swept domain by domain.
# Not part of the test command: it needs a virt-manager git clone (with its tags).
# usage: build-aux/sweep-virt-manager.sh /path/to/virt-manager.git [TAG...]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:?usage: $0 /path/to/virt-manager.git [TAG...]}
shift
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(v1.0.0 v1.2.1 v1.4.3 v1.5.1 v2.2.1 v3.2.0 v4.1.0 v5.1.0)
out=$PWD/target/virt-manager-sweep
for tag in "${tags[@]}"; do
  dir=$out/$tag
  rm -rf "$dir" && mkdir -p "$dir"
  # Every XML file under tests/ that holds a domain, flattened to one directory.
  git -C "$repo" ls-tree -r --name-only "$tag" -- tests | grep '\.xml$' | while read -r f; do
    body=$(git -C "$repo" show "$tag:$f")
    grep -q '<domain[ >]' <<<"$body" || continue
    printf '%s\n' "$body" > "$dir/$(tr '/' '_' <<<"${f#tests/}")"
  done
  echo "== $tag ($(ls "$dir" | wc -l) files)"
  LIBVIRT_TEST_DOMAINS=$dir cargo test -q -p passage-core --test libvirt_sweep -- --ignored --nocapture 2>&1 | grep -E "swept|test result|problems|: "
done
