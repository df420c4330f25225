#!/bin/bash
# The boot switch on a real kernel. L2 boots four times: its GPU-like pair (VGA + HD audio) is a
# second card next to a boot display that has other IDs (cirrus: Passage binds by ID, through
# modprobe.d) or the same IDs (std: Passage binds by address, through a udev rule), each without
# and with passage.vfio=off on the kernel command line. Each time passagectl plans "bind the pair
# at boot" on the real sysfs, the plan's files are installed, and udevd replays the pair's
# boot-time "add" events (see payload-boot-switch/run.sh). Without the switch the pair must end
# up on vfio-pci; with it, on its own drivers (bochs-drm, snd_hda_intel). The boots with the
# switch use the command line of the entry without passthrough that Debian's grub-mkconfig
# wrote, with Passage's grub.d script, in the boot before.
# usage: build-aux/testbed/test-boot-switch.sh [WORKDIR]     (default build-aux/testbed/work)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); TOP=$(cd "$HERE/../.." && pwd)
W=${1:-$HERE/work}
[ -f "$W/l2.img" ] && [ -f "$W/vmlinuz" ] || "$HERE/build.sh" "$W"
cargo build --release -q -p passagectl -p passage-helper --manifest-path "$TOP/Cargo.toml"
P=$(mktemp -d); R=$(mktemp -d)
trap 'rm -rf "$P" "$R"' EXIT
cp "$HERE/payload-boot-switch/run.sh" "$TOP/target/release/passagectl" "$P/"
fail=0
boot(){ # NAME HOST_VGA EXTRA_APPEND: one L2 boot; results in $R/NAME
  local rc=0 out=$R/$1
  HOST_VGA=$2 EXTRA_APPEND="$3" "$HERE/exchange.sh" "$W" "$P" "$out" >/dev/null || rc=$?
  [ "${KEEP:-}" ] && { mkdir -p "$KEEP/$1"; cp -r "$out/." "$KEEP/$1/"; }
  [ $rc = 0 ] || { echo "FAIL: $1: L2 did not finish the payload (rc $rc):"; tail -30 "$out/run.log" 2>/dev/null; exit 1; }
}
expect(){ # NAME FILE-THE-PLAN-MUST-WRITE VGA-DRIVER HDA-DRIVER
  local out=$R/$1 got want="0000:01:00.0 $3 0000:01:00.1 $4"
  got=$(tr '\n' ' ' < "$out/drivers.txt" | sed 's/ $//')
  jq -e --arg f "$2" '[.changes[].path] | index($f)' "$out/plan.json" >/dev/null \
    || { echo "FAIL: $1: the plan does not write $2"; fail=1; }
  if [ "$got" = "$want" ]; then echo "ok: $1: $got"
  else echo "FAIL: $1: $got, want $want"; tail -30 "$out/run.log"; fail=1; fi
}
# The kernel arguments of a grub.cfg entry: its `linux` line after the image.
entry_args(){ # GRUB_CFG TITLE-PART
  awk -v t="$2" '/^menuentry / { on = index($0, t) > 0 } on && $1 == "linux" { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$1"
}
# The grub.cfg Debian's grub-mkconfig wrote with Passage's script: the entry without
# passthrough is there once, last, with the switch and the IOMMU on but no vfio-pci.ids.
check_grub(){ # NAME
  local cfg=$R/$1/grub.cfg fb normal
  [ -s "$cfg" ] || { echo "FAIL: $1: no grub.cfg"; fail=1; return; }
  fb=$(entry_args "$cfg" ", without GPU passthrough"); normal=$(entry_args "$cfg" "menuentry '")
  [ "$(grep -c "^menuentry '.*without GPU passthrough'" "$cfg")" = 1 ] || { echo "FAIL: $1: not one entry without passthrough"; fail=1; }
  grep -E '^(menuentry|submenu) ' "$cfg" | tail -1 | grep -q "without GPU passthrough" || { echo "FAIL: $1: the entry is not last"; fail=1; }
  case " $fb " in *" passage.vfio=off "*" "*|*" passage.vfio=off ") ;; *) echo "FAIL: $1: no switch in '$fb'"; fail=1;; esac
  case " $fb " in *" intel_iommu=on "*) ;; *) echo "FAIL: $1: IOMMU argument lost in '$fb'"; fail=1;; esac
  case " $fb " in *vfio-pci.ids*) echo "FAIL: $1: vfio-pci.ids kept in '$fb'"; fail=1;; esac
  case " $normal " in *" vfio-pci.ids=1234:1111,8086:293e "*) ;; *) echo "FAIL: $1: default entry changed: '$normal'"; fail=1;; esac
  case " $normal " in *passage.vfio*) echo "FAIL: $1: default entry has the switch"; fail=1;; esac
  grep -q '^  save_env passage_show_menu$' "$cfg" || { echo "FAIL: $1: no one-time menu block"; fail=1; }
  echo "ok: $1: grub-mkconfig's entry without passthrough boots with: $fb"
}
# Each pair of boots: without the switch, then with the command line of the grub.cfg entry
# without passthrough that the first boot's grub-mkconfig wrote.
boot by-id cirrus ""
check_grub by-id
boot by-id-off cirrus "$(entry_args "$R/by-id/grub.cfg" ", without GPU passthrough")"
boot by-address std ""
check_grub by-address
boot by-address-off std "$(entry_args "$R/by-address/grub.cfg" ", without GPU passthrough")"
for n in by-id-off by-address-off; do grep -qw passage.vfio=off "$R/$n/cmdline.txt" || { echo "FAIL: $n booted without the switch"; fail=1; }; done
expect by-id /etc/modprobe.d/passage-vfio.conf vfio-pci vfio-pci
expect by-id-off /etc/modprobe.d/passage-vfio.conf bochs-drm snd_hda_intel
expect by-address /etc/udev/rules.d/61-passage-vfio.rules vfio-pci vfio-pci
expect by-address-off /etc/udev/rules.d/61-passage-vfio.rules bochs-drm snd_hda_intel
[ $fail = 0 ] || exit 1
echo "boot switch: PASS"
