#!/bin/bash
# The daily loop on a real guest: a private libvirtd starts a software-emulated guest (the test
# bed's kernel, with a busybox PID 1 that powers off on the ACPI power button: guest/acpi-init)
# through `passagectl vm start --wait`; `passagectl vm shutdown` brings it down gracefully; a
# guest that ignores the button is not forced off unless asked, and is with --force.
# usage: build-aux/testbed/test-shutdown.sh [WORKDIR]   (prints RESULT: PASS or RESULT: FAIL)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=$(mkdir -p "${1:-$HERE/work}" && cd "${1:-$HERE/work}" && pwd)
[ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
if [ ! -f "$W/initrd-acpi.gz" ]; then   # a test bed built before this test existed
  (cd "$W" && MD=$(echo kernel/lib/modules/*) && . "$HERE/initrd.sh" && mkacpi)
fi
if PASSAGE_TESTBED_GUEST=$W cargo test -q -p passagectl --manifest-path "$TOP/Cargo.toml" \
     --test vm_session -- --ignored --nocapture live_guest; then
  echo "RESULT: PASS"
else
  echo "RESULT: FAIL"; exit 1
fi
