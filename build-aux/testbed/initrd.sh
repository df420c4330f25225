# Sourced by build.sh and test-shutdown.sh, in the work directory, with MD set to the kernel's
# module tree (kernel/lib/modules/KV) and HERE to build-aux/testbed.

# mkmods DIR mod... : copy modules + deps (decompressed) into DIR, load order in DIR/order
mkmods(){ local dir=$1; shift; mkdir -p "$dir"
  for m in "$@"; do
    local line; line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" $MD/modules.dep) || {
      grep -qE "(^|/)$m\.ko" $MD/modules.builtin && continue; echo "no module $m" >&2; return 1; }
    for f in $(echo ${line#*:} | tr ' ' '\n' | tac) ${line%%:*}; do echo $f; done
  done | awk '!s[$0]++' | while read -r f; do
    b=$(basename "$f"); b=${b%.xz}; b=${b%.zst}; b=${b%.gz}
    case $f in *.xz) xz -dc $MD/$f;; *.zst) zstd -qdc $MD/$f;; *.gz) gzip -dc $MD/$f;; *) cat $MD/$f;; esac > "$dir/$b"
    echo "$b" >> "$dir/order"
  done; }
mkinitrd(){ local src=$1 init=$2 out=$3; shift 3
  mkdir -p $src/bin $src/proc $src/sys $src/dev $src/newroot; cp /bin/busybox $src/bin/
  install -m755 "$init" $src/init; mkdir -p $src/mods; mkmods $src/mods "$@"
  (cd $src && find . | cpio -o -H newc 2>/dev/null | gzip -1) > $out; }

# The guest of the shutdown test: busybox as PID 1, which powers off on the ACPI power button
# (the kernel's button driver reports it on an input device; evdev gives it to PID 1).
mkacpi(){ rm -rf ira; mkinitrd ira "$HERE/guest/acpi-init" initrd-acpi.gz evdev button; }
