#!/bin/bash
# README command 2: the whole test suite, as CI runs it on a fresh machine.
#   formatting, clippy -D warnings, translations, every crate's tests (fixtures, the captured
#   real-kernel host, lspci reading the fixture trees, the app under Xvfb), meson's data checks
#   and install layout, the Debian package (lintian, its files, its purge guard) and the same
#   package installed with apt on a clean Debian 12 booted with systemd (systemd-nspawn), then the
#   real-kernel stage: passagectl inside the
#   nested QEMU test bed (a real kernel with an emulated IOMMU), checked against that kernel, and
#   passage-helper binding and restoring a device group there, with a real polkitd deciding.
#   The parsers are fuzzed for a bounded time (PASSAGE_FUZZ_SECONDS per target, default 10; longer by hand).
# Set PASSAGE_SKIP_TESTBED=1 to leave out the test bed stage (ten L2 boots and a guest, two at a time:
# build-aux/testbed/test-all.sh) while iterating.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
stage(){ echo; echo "=== $* (+$(( $(date +%s) - T0 ))s)"; }

stage "system packages"
build-aux/install-deps.sh --testbed
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} CARGO_TERM_COLOR=never

stage "rustfmt"
cargo fmt --all --check

stage "clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

stage "translations (POTFILES in sync, template current, catalogues compile)"
build-aux/check-po.sh

stage "generated icons: the expander arrow PNGs are what their script draws"
build-aux/render-expander-arrow.py --check

stage "tests (the GUI test runs the app under Xvfb; the app's tests and the other crates' run side by side)"
build-aux/test-lanes.sh "${PASSAGE_TEST_TIMEOUT:-2400}"

stage "the diagnosis on real start errors no rule was tuned on (held-out hit rate)"
cargo test -q -p passage-core --test diagnose -- held_out --nocapture 2>&1 | grep '^held-out:'

stage "crash at every point: the helper's test build dies at each journal, file and sysfs operation of an apply, an undo and a VM session's prepare and release; recovery must leave files, sysfs and History agreeing"
cargo test -p passage-helper --features crash-points --test crash

stage "meson: data files validated, meson install layout, flatpak manifest"
build-aux/check-install.sh
build-aux/check-flatpak.sh

stage "the Debian package: built by debhelper and meson, lintian, its files and modes, purge keeps the journal of applied changes"
deb_dir=$PWD/target/deb-ci
PASSAGE_DEB_CHECK_OUT=$deb_dir build-aux/check-package.sh

stage "the package installed as users install it: apt on a clean Debian 12 booted with systemd (systemd-nspawn), the helper D-Bus-activated, polkit, the app from its desktop file, remove and purge"
build-aux/check-package-system.sh "$deb_dir/passage_$(dpkg-parsechangelog -S Version)_amd64.deb"
rm -rf "$deb_dir"

stage "fuzzing the parsers (cmdline, boot configurations, modprobe.d, the helper verbs' arguments, libvirt's hook input), ${PASSAGE_FUZZ_SECONDS:-10}s each"
command -v cargo-fuzz >/dev/null || cargo install --locked -q cargo-fuzz
# cargo fuzz wants nightly features; the one toolchain here is stable, which allows them so.
export RUSTC_BOOTSTRAP=1
for t in cmdline boot_config modprobe verb_args hook_input; do
  corpus=$(mktemp -d)
  (cd fuzz && cargo fuzz run -O "$t" "$corpus" "seeds/$t" -- -max_total_time="${PASSAGE_FUZZ_SECONDS:-10}" 2>&1 | grep -E '^Done|panicked|SUMMARY|ERROR') || true
  rm -rf "$corpus"
  if ls fuzz/artifacts/"$t"/crash-* >/dev/null 2>&1; then echo "fuzz target $t found a crash: see fuzz/artifacts/$t" >&2; exit 1; fi
done
unset RUSTC_BOOTSTRAP

if [ "${PASSAGE_SKIP_TESTBED:-0}" != 1 ]; then
  stage "real kernel: the nested QEMU test bed (passagectl, the helper and polkit, the boot switch, systemd as PID 1, VM sessions, only-GPU sessions, shutdown, a remote host), two stages at a time"
  build-aux/testbed/test-all.sh
fi
stage "all passed"
