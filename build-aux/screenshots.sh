#!/bin/bash
# Refreshes data/screenshots (the metainfo's screenshots) from the GUI tests: every page on
# the demo host, wide and light, then 360 px wide and dark, plus Apply and Undo through a
# private helper.
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/install-deps.sh
mkdir -p data/screenshots
PASSAGE_SCREENSHOTS=$PWD/data/screenshots cargo test -q -p passage --test gui
ls data/screenshots
