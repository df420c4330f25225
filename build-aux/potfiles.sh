#!/bin/bash
# Prints what po/POTFILES.in must list: every Rust source that calls tr/tr_f/tr_n (the message may
# start on the next line), and the data
# files with translatable strings. update-po.sh writes it; check-po.sh compares.
set -euo pipefail
cd "$(dirname "$0")/.."
{ grep -rlE '\btr(_f|_n)?\(' --include=*.rs crates src | grep -v 'crates/core/src/i18n.rs'
  ls data/io.github.passage.policy data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml.in
  grep -rl 'translatable="yes"' data/resources; } | sort
