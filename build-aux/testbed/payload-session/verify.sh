# Payload part (sourced by run.sh in L2, after the sessions): `passagectl vm verify` against a
# real guest agent. The L3 guest runs Debian's qemu-ga (initrd-ga.gz, guest/ga-init) on a
# libvirt agent channel, with the GPU-like pair passed (managed='yes': libvirt moves it to
# vfio-pci; the domain has no Passage metadata, so the hook leaves it alone). Checked: the
# guest lists the pair with the drivers it loaded; started without the pair (a live XML
# without the hostdevs, the definition keeps them), verify reports both missing.
cp $P/initrd-ga.gz /boot/ga.cpio.gz
cat > /tmp/l3v.xml <<XML
<domain type='$T'>
  <name>l3v</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>/boot/vmlinuz-l3</kernel><initrd>/boot/ga.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='/tmp/l3v.log'/><target port='0'/></serial>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    $HD
    <memballoon model='none'/>
  </devices>
</domain>
XML
agent_up(){ for i in $(seq 1 240); do virsh dumpxml l3v | grep -q "name='org.qemu.guest_agent.0' state='connected'" && return 0; sleep 0.5; done; return 1; }
nomon; virsh define /tmp/l3v.xml > /dev/null
rm -f /tmp/l3v.log
s=$(ms); virsh start l3v > $OUT/verify-start.txt 2>&1
wait_log /tmp/l3v.log "GUEST: AGENT UP"; agent_up; echo $(( $(ms)-s )) > $OUT/verify-agent.ms
s=$(ms); $P/passagectl vm verify l3v > $OUT/verify.txt 2>&1; echo $? > $OUT/verify.rc; echo $(( $(ms)-s )) > $OUT/verify.ms
$P/passagectl vm verify l3v --json > $OUT/verify.json 2>&1
cp /tmp/l3v.log $OUT/l3v.log
virsh destroy l3v > /dev/null 2>&1; wait_state l3v "shut off"
# Started without the pair: the same domain, live, without its hostdevs.
virsh dumpxml --inactive l3v | sed '/<hostdev/,/<\/hostdev>/d' > /tmp/l3v-bare.xml
rm -f /tmp/l3v.log; nomon
virsh create /tmp/l3v-bare.xml > $OUT/verify-bare-start.txt 2>&1
wait_log /tmp/l3v.log "GUEST: AGENT UP"; agent_up
$P/passagectl vm verify l3v > $OUT/verify-missing.txt 2>&1; echo $? > $OUT/verify-missing.rc
virsh dumpxml l3v | grep -c '<hostdev' > $OUT/verify-bare-hostdevs.txt
virsh destroy l3v > /dev/null 2>&1; wait_state l3v "shut off"
virsh undefine l3v > /dev/null 2>&1
cp /var/log/libvirt/qemu/l3v.log $OUT/qemu-l3v.log 2>/dev/null
true
