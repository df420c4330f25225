# Payload (sourced in L2): passagectl against the real kernel, and the kernel's own answers to
# compare with. Leaves everything in $OUT.
P=/opt/payload
set -x
$P/passagectl scan --json > $OUT/scan.json
$P/passagectl scan > $OUT/scan.txt
$P/passagectl check --json > $OUT/check.json; echo $? > $OUT/check.rc
$P/passagectl check --gpu 0000:01:00.0 --json > $OUT/check-gpu.json; echo $? > $OUT/check-gpu.rc
$P/passagectl capture $OUT/capture.tar.gz > $OUT/capture.log 2>&1; echo $? > $OUT/capture.rc
# The kernel's truth, independently of passagectl:
for g in /sys/kernel/iommu_groups/*; do for d in $g/devices/*; do echo "${g##*/} ${d##*/}"; done; done | sort -n > $OUT/groups.txt
lspci -Dnnk > $OUT/lspci.txt
for d in /sys/bus/pci/devices/*; do echo "${d##*/} $(basename "$(readlink $d/driver 2>/dev/null)" 2>/dev/null)"; done > $OUT/drivers.txt
uname -r > $OUT/release.txt
