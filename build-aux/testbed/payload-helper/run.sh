# Payload (sourced in L2): passage-helper on the guest's real kernel, over a system bus, with a
# real polkitd. The guest is thrown away afterwards, so its own /etc and /usr are used.
P=/opt/payload
run_as(){ uid=$1; shift; setpriv --reuid=$uid --regid=$uid --clear-groups env DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS NO_COLOR=1 "$@"; }
wait_name(){ for i in $(seq 1 200); do dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:$1 2>/dev/null | grep -q true && return 0; sleep 0.05; done; echo "no $1" >&2; return 1; }
cp $P/io.github.passage.policy /usr/share/polkit-1/actions/
cat > /etc/polkit-1/rules.d/50-passage-test.rules <<'RULES'
polkit.addRule(function(action, subject) {
  if (action.id.indexOf("io.github.passage.") == 0) {
    if (subject.user == "daemon") return polkit.Result.YES;
    if (subject.user == "nobody") return polkit.Result.NO;
  }
});
RULES
mkdir -p /run/dbus
cat > /tmp/bus.conf <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
  <include>$P/io.github.passage.Helper1.conf</include>
</busconfig>
CONF
dbus-daemon --config-file=/tmp/bus.conf --fork
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
/usr/lib/polkit-1/polkitd --no-debug > $OUT/polkitd.log 2>&1 &
wait_name org.freedesktop.PolicyKit1
$P/passage-helper > $OUT/helper.log 2>&1 &
wait_name io.github.passage.Helper1
VGA=0000:01:00.0; HDA=0000:01:00.1
drv(){ for a in $VGA $HDA; do echo "$a $(basename "$(readlink /sys/bus/pci/devices/$a/driver)" 2>/dev/null)"; done; }
drv > $OUT/before.txt
run_as 1 $P/passagectl bind $VGA $HDA > $OUT/refused.txt 2>&1; echo $? > $OUT/refused.rc
run_as 1 $P/passagectl bind --override-host $VGA > $OUT/partial.txt 2>&1; echo $? > $OUT/partial.rc
run_as 65534 $P/passagectl bind --override-host $VGA $HDA > $OUT/denied.txt 2>&1; echo $? > $OUT/denied.rc
run_as 1 $P/passagectl bind --override-host $VGA $HDA > $OUT/bind.txt 2>&1; echo $? > $OUT/bind.rc
drv > $OUT/after-bind.txt
ls /dev/vfio > $OUT/dev-vfio.txt
# A process holding the group open (as QEMU does): restore is refused, naming it.
G=$(basename "$(readlink /sys/bus/pci/devices/$VGA/iommu_group)")
sleep 120 3</dev/vfio/$G & HOLDER=$!
sleep 0.5
run_as 1 $P/passagectl restore $VGA $HDA > $OUT/held.txt 2>&1; echo $? > $OUT/held.rc
echo "$HOLDER" > $OUT/held.pid
kill $HOLDER; wait $HOLDER 2>/dev/null
drv > $OUT/after-held.txt
run_as 1 $P/passagectl restore $VGA $HDA > $OUT/restore.txt 2>&1; echo $? > $OUT/restore.rc
drv > $OUT/after-restore.txt
run_as 1 $P/passagectl bind --override-host $VGA $HDA > $OUT/bind2.txt 2>&1
id=$(sed -n 's/^Change \([0-9]*\):.*/\1/p' $OUT/bind2.txt)
drv > $OUT/after-bind2.txt
run_as 1 $P/passagectl undo $id > $OUT/undo.txt 2>&1; echo $? > $OUT/undo.rc
drv > $OUT/after-undo.txt
run_as 1 $P/passagectl history --json > $OUT/history.json 2>&1
# Hugepages on the real kernel: reserve, see them in /proc/meminfo, give them back.
run_as 1 $P/passagectl hugepages 64 > $OUT/huge.txt 2>&1; echo $? > $OUT/huge.rc
grep HugePages_Total /proc/meminfo > $OUT/huge-meminfo.txt
run_as 1 $P/passagectl hugepages --release > $OUT/huge-release.txt 2>&1; echo $? > $OUT/huge-release.rc
grep HugePages_Total /proc/meminfo > $OUT/huge-meminfo-after.txt
