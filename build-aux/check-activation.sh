#!/bin/sh
# The D-Bus activation file and the systemd unit name the same bus name, start the helper
# from libexecdir, and point at each other.
# usage: check-activation.sh DBUS_SERVICE_FILE SYSTEMD_UNIT LIBEXECDIR
set -eu
svc=$1 unit=$2 libexec=$3
fail=0
grep -qx 'Name=io.github.passage.Helper1' "$svc" || { echo "$svc: Name is not io.github.passage.Helper1"; fail=1; }
grep -qx "Exec=$libexec/passage-helper" "$svc" || { echo "$svc: Exec is not $libexec/passage-helper"; fail=1; }
grep -qx 'User=root' "$svc" || { echo "$svc: the helper must run as root"; fail=1; }
grep -qx "SystemdService=$(basename "$unit")" "$svc" || { echo "$svc: SystemdService is not $(basename "$unit")"; fail=1; }
grep -qx 'BusName=io.github.passage.Helper1' "$unit" || { echo "$unit: BusName is not io.github.passage.Helper1"; fail=1; }
grep -qx "ExecStart=$libexec/passage-helper" "$unit" || { echo "$unit: ExecStart is not $libexec/passage-helper"; fail=1; }
grep -qE '@[A-Za-z_]+@' "$svc" "$unit" && { echo "an @placeholder@ was left unconfigured"; fail=1; }
[ $fail = 0 ] && echo "activation: $svc and $unit agree"
exit $fail
