# Sourced by test-session.sh after the session checks: what `passagectl vm verify` said in L2
# of the L3 guest with qemu-ga (payload-session/verify.sh). Uses is/has/fail from there.
is "vm verify: every passed device works in the guest (exit 0)" verify.rc 0
has "vm verify names the guest" verify.txt "l3v: the guest (Linux"
has "vm verify: the GPU-like VGA with its driver inside L3" verify.txt "(1234:1111): working in Linux, driver bochs-drm"
has "vm verify: its HD audio with its driver inside L3" verify.txt "(8086:293e): working in Linux, driver snd_hda_intel"
has "vm verify says libvirt taints the domain" verify.txt "(custom-ga-command)"
has "vm verify --json" verify.json '"result": "checked"'
has "libvirt marked the domain tainted by the agent command" qemu-l3v.log "custom-ga-command"
is "started without the pair, the live domain has no hostdev" verify-bare-hostdevs.txt 0
is "vm verify: a device the guest lacks (exit 3)" verify-missing.rc 3
has "vm verify: the VGA missing" verify-missing.txt "(1234:1111): not seen by Linux"
has "vm verify: the audio missing" verify-missing.txt "(8086:293e): not seen by Linux"
echo "vm verify: agent up $(cat "$OUT/verify-agent.ms" 2>/dev/null) ms after virsh start; the check took $(cat "$OUT/verify.ms" 2>/dev/null) ms (emulated L2)"
