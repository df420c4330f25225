#!/bin/bash
# The Debian package installed as users install it, on a clean Debian 12 booted with systemd as
# PID 1: a debootstrap minbase rootfs (with systemd-sysv and dbus) booted by systemd-nspawn.
# Inside it:
#   - `apt install ./passage_VERSION_amd64.deb` pulls the dependencies, and the Recommends as
#     apt does by default, from the mirror this machine's apt uses (build-aux/apt-mirror.sh);
#   - a read-only helper call (History) on the system bus D-Bus-activates the installed
#     passage-helper.service (inactive before, active after, its MainPID /usr/libexec/passage-helper);
#   - polkit knows every action of the installed policy (pkaction --action-id);
#   - desktop-file-validate and appstreamcli validate pass on the installed files;
#   - the app started as the app menu starts it (gtk-launch io.github.passage.Passage, as a
#     user with a session bus, on an Xvfb display of this machine) shows System Check: its window
#     is titled Passage (xwininfo), its widget dump shows the check page alone, and the
#     screenshot (target/gui-screenshots/package-installed-check.png) is not blank;
#   - with a change in effect (a VM authorized through the helper: a journaled change),
#     `apt remove` says so and keeps /var/lib/passage, `apt purge` keeps it too and says what
#     stays; installed again, the change undone (passagectl undo), `apt purge` leaves nothing
#     of Passage. The file lists (find) before the install, after remove, after purge and
#     after the last purge are compared, and the host's network links before and after.
# usage: build-aux/check-package-system.sh [DEB]
#   DEB defaults to a package built here as check-package.sh builds it (unoptimised binaries).
# Everything is below $CARGO_TARGET_DIR/package-system (the container's root a tmpfs of up to
# 6 GB in a mount namespace of the script's own) and removed at exit. This machine's
# /etc, /var and /usr are not written: the container is not registered (--register=no,
# --keep-unit: no machined, no unit on the host), has its own /tmp and /run, sees /sys and
# /proc/sys read-only, and without CAP_NET_ADMIN (nspawn's default when it shares the host's
# network, which apt needs for the mirror) the libvirtd it installs cannot add bridges or
# firewall rules. The script ends only what it started: the container (poweroff inside it,
# then its nspawn by pid) and its Xvfb by pid.
set -euo pipefail
# In a mount namespace of its own: the container's root is a tmpfs there (no disk written, no
# fsync to wait for; gone with the namespace), unseen by the rest of the machine.
if [ -z "${PASSAGE_PACKAGE_SYSTEM_NS:-}" ]; then
  exec env PASSAGE_PACKAGE_SYSTEM_NS=1 unshare --mount --propagation private -- "$0" "$@"
fi
cd "$(dirname "$0")/.."
repo=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
work=$CARGO_TARGET_DIR/package-system
id=io.github.passage.Passage
machine=passage-pkgcheck-$$
T0=$(date +%s)
step() { echo "package-system: $* (+$(( $(date +%s) - T0 ))s)"; }
fail() { echo "package-system: FAIL: $*" >&2; exit 1; }

nspawn="" xvfb=""
# Whether PID $1 is the container's systemd: named systemd, in a PID namespace that is not this
# script's. in_box enters that process's namespaces, so anything else (nspawn's own child under
# load, say) would run the commands, and cleanup's poweroff, on this machine.
in_own_pid_ns() {
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = systemd ] &&
    [ "$(readlink "/proc/$1/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ]
}
cleanup() {
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    ! in_own_pid_ns "$leader" || in_box systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 60); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
    kill "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
  fi
  [ -z "$xvfb" ] || kill "$xvfb" 2>/dev/null || true
  rmdir "/run/systemd/nspawn/propagate/$machine" 2>/dev/null || true
  umount "$work/root" 2>/dev/null || true
  # Its logs, for a failure's diagnosis: target/package-system.log.
  tail -n +1 "$work"/*.log >"$CARGO_TARGET_DIR/package-system.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "package-system: FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

# ---- the package and the clean system -------------------------------------------------------

package() {
  if [ -n "${1:-}" ]; then realpath "$1"; return; fi
  PASSAGE_DEB_CARGO_PROFILE=${PASSAGE_DEB_CARGO_PROFILE:-debug} build-aux/package.sh "$work/deb" >&2
  echo "$work/deb/passage_$(dpkg-parsechangelog -S Version)_amd64.deb"
}

# A minimal Debian 12 with systemd as init, its apt pointed at this machine's mirror (the
# release, its updates and, where this machine has them, its security updates).
rootfs() {
  local suite=bookworm main security
  . build-aux/apt-mirror.sh
  main=$(debian_mirror $suite)
  [ -n "$main" ] || fail "no Debian mirror for $suite in this machine's /etc/apt"
  security=$(debian_mirror $suite-security)
  mkdir -p "$work/root"
  mount -t tmpfs -o size=6g,mode=0755 passage-package-system "$work/root"
  debootstrap --variant=minbase --include=systemd-sysv,dbus $suite "$work/root" "$main" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap $suite from $main failed"; }
  rm -f "$work/root/etc/apt/sources.list"
  { printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$main" $suite $suite
    [ -z "$security" ] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" $suite
  } >"$work/root/etc/apt/sources.list.d/debian.sources"
}

# Boots it; in_box then runs a command inside it (its mount, UTS, IPC, PID and cgroup
# namespaces) with a clean environment.
leader=""
boot() {
  systemd-nspawn --quiet --register=no --keep-unit --machine="$machine" -D "$work/root" \
    -b --console=read-only >"$work/console.log" 2>&1 &
  nspawn=$!
  for _ in $(seq 100); do
    leader=$(cat "/proc/$nspawn/task/$nspawn/children" 2>/dev/null | awk '{print $1}')
    [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
    sleep 0.1
  done
  in_own_pid_ns "$leader" || { cat "$work/console.log" >&2; fail "the container's systemd did not start"; }
  local state=""
  for _ in $(seq 180); do
    state=$(in_box systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded|maintenance|stopping) break ;; esac
    sleep 0.5
  done
  [ "$state" = running ] || { in_box systemctl --failed --no-pager >&2 || true; fail "the booted system is '$state', not running"; }
  [ "$(in_box readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] || fail "PID 1 in the container is not systemd"
}
in_box() {
  in_own_pid_ns "$leader" || { echo "package-system: not the container's systemd: $leader" >&2; return 99; }
  nsenter -t "$leader" -m -u -i -p -C -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# Every path of the container's own file systems, but apt's caches and the logs.
files() {
  in_box find / -xdev \( -path /var/cache -o -path /var/log \) -prune -o -print | sort >"$work/$1.files"
}
passage_paths() { grep -i passage "$work/$1.files" | grep -vx /root/passage.deb || true; }

# ---- the checks ---------------------------------------------------------------------------

install_package() {
  cp "$deb" "$work/root/root/passage.deb"
  in_box apt-get update -q >"$work/apt-update.log" 2>&1 || { cat "$work/apt-update.log" >&2; fail "apt-get update in the container"; }
  files before
  in_box apt install -y -o Dpkg::Options::=--force-unsafe-io /root/passage.deb >"$work/install.log" 2>&1 \
    || { tail -30 "$work/install.log" >&2; fail "apt install ./$(basename "$deb")"; }
  in_box dpkg-query -W -f='${Status}\n' passage | grep -qx 'install ok installed' || fail "passage is not installed"
  step "apt install: $(grep -o '[0-9]* newly installed' "$work/install.log") from $(debian_mirror bookworm)"
  # The test's own tools, after the package so that they pull none of its dependencies.
  in_box apt-get install -y -q --no-install-recommends desktop-file-utils appstream libgtk-3-bin libglib2.0-bin \
    >"$work/tools.log" 2>&1 || { tail -20 "$work/tools.log" >&2; fail "installing the test's tools"; }
}

helper_is_activated() {
  local state pid
  state=$(in_box systemctl show -p ActiveState --value passage-helper.service)
  [ "$state" = inactive ] || fail "passage-helper.service is $state before any call (the package must not start it)"
  in_box busctl call io.github.passage.Helper1 /io/github/passage/Helper1 io.github.passage.Helper1 History \
    >/dev/null || fail "History through D-Bus activation"
  state=$(in_box systemctl show -p ActiveState --value passage-helper.service)
  [ "$state" = active ] || fail "passage-helper.service is $state after a call: D-Bus did not start it through its unit"
  pid=$(in_box systemctl show -p MainPID --value passage-helper.service)
  [ "$(in_box readlink "/proc/$pid/exe")" = /usr/libexec/passage-helper ] || fail "the unit's MainPID is not /usr/libexec/passage-helper"
  step "the helper was D-Bus-activated through passage-helper.service (active, pid $pid)"
}

polkit_knows_the_actions() {
  local actions a
  actions=$(in_box sed -n 's/.*<action id="\([^"]*\)".*/\1/p' /usr/share/polkit-1/actions/io.github.passage.policy)
  [ -n "$actions" ] || fail "no actions in the installed policy"
  for a in $actions; do
    in_box pkaction --action-id "$a" >/dev/null || fail "pkaction does not know $a"
  done
  step "polkit knows the $(echo "$actions" | wc -l) actions of the installed policy"
}

installed_files_validate() {
  in_box desktop-file-validate /usr/share/applications/$id.desktop || fail "desktop-file-validate"
  in_box appstreamcli validate --no-net /usr/share/metainfo/$id.metainfo.xml >"$work/appstream.log" 2>&1 \
    || { cat "$work/appstream.log" >&2; fail "appstreamcli validate"; }
  step "desktop-file-validate and appstreamcli validate pass on the installed files"
}

# The widget dump shows the check page alone, titled, with its findings read (each host has an
# IOMMU finding), no longer "Reading this computer…".
shows_system_check() {
  [ "$(grep -c '#page-' "$1")" = 1 ] && grep -q '#page-check' "$1" && grep -q 'AdwWindowTitle System Check' "$1" \
    && grep -Eq 'GtkLabel The IOMMU is (on|off)' "$1" && ! grep -q 'Reading this computer' "$1"
}

# As the app menu starts it: gtk-launch (GDesktopAppInfo, as GNOME Shell) by the desktop id,
# as a user with a session bus, on this machine's Xvfb (the container shares the network
# namespace, so X's abstract socket reaches it).
app_shows_system_check() {
  local n bus shot=$repo/target/gui-screenshots/package-installed-check.png colors
  exec 3< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null)
  xvfb=$!   # the process substitution's pid: Xvfb itself
  read -r n <&3
  in_box useradd -m tester
  in_box systemd-run -q --unit=passage-gui --uid=tester -E DISPLAY=:"$n" -E GDK_BACKEND=x11 \
    -E HOME=/home/tester -E LANG=C.UTF-8 -E PASSAGE_DEBUG=1 \
    dbus-run-session -- sh -c 'echo "$DBUS_SESSION_BUS_ADDRESS" > /tmp/gui-bus; gtk-launch '$id' && exec sleep infinity'
  for _ in $(seq 300); do
    xwininfo -display :"$n" -root -tree 2>/dev/null | grep -q '"Passage": ("passage"' && break
    sleep 0.2
  done
  xwininfo -display :"$n" -root -tree | grep -q '"Passage": ("passage"' || {
    xwininfo -display :"$n" -root -tree >&2; in_box systemctl status passage-gui --no-pager >&2
    in_box journalctl -u passage-gui --no-pager >&2; fail "no window titled Passage in 60 s"; }
  bus=$(in_box cat /tmp/gui-bus)
  for _ in $(seq 100); do
    in_box rm -f /tmp/dump.txt
    in_box setpriv --reuid=tester --regid=tester --init-groups env DBUS_SESSION_BUS_ADDRESS="$bus" \
      gdbus call --session --dest $id --object-path /io/github/passage/Passage \
      --method org.gtk.Actions.Activate dump-widgets "[<'/tmp/dump.txt'>]" '{}' >/dev/null 2>&1 || true
    sleep 0.2
    in_box cat /tmp/dump.txt >"$work/dump.txt" 2>/dev/null || true
    shows_system_check "$work/dump.txt" && break
  done
  shows_system_check "$work/dump.txt" || { cat "$work/dump.txt" >&2; fail "the installed app does not show System Check's findings"; }
  sleep 0.5
  mkdir -p "$(dirname "$shot")"
  import -display :"$n" -window root -crop 960x680+0+0 +repage "$shot"
  colors=$(convert "$shot" -format %k info:)
  [ "$colors" -gt 100 ] || fail "the screenshot $shot is blank ($colors colours)"
  in_box systemctl stop passage-gui
  kill "$xvfb"; xvfb=""
  step "gtk-launch $id shows System Check: window 'Passage', $shot ($colors colours)"
}

# A change in effect: the helper authorizes a VM (journaled, under /var/lib/passage only).
authorize_a_vm() {
  in_box busctl --timeout=60 call io.github.passage.Helper1 /io/github/passage/Helper1 io.github.passage.Helper1 \
    AuthorizeVm ssastau 6d3b1c4e-0000-4000-8000-000000000001 check-vm 0 0 0 >/dev/null || fail "AuthorizeVm"
  in_box passagectl history | grep -q '^000001 *applied' || fail "the authorization is not in the history"
}

# Paths with "passage" in their name that are not those expected ($2, a regex of whole paths).
only_expected() {
  local left
  left=$(passage_paths "$1" | grep -Evx "$2" || true)
  [ -z "$left" ] || { echo "$left" >&2; fail "after $1, more of Passage is left than the package says"; }
}

remove_then_purge() {
  local state='/var/lib/passage(/.*)?'
  # debhelper keeps a removed package's unit enablement (configuration) until purge.
  local enabled='/etc/systemd/system/sysinit\.target\.wants/passage-helper-recover\.service|/var/lib/systemd/deb-systemd-helper-enabled/.*passage-helper-recover\.service(\.dsh-also)?'
  local dpkg_rc='/var/lib/dpkg/info/passage\.(list|postrm)'
  in_box dpkg -L passage >"$work/owned"
  in_box apt remove -y passage >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "apt remove"; }
  grep -q 'change 000001 (applied)' "$work/remove.log" || { cat "$work/remove.log" >&2; fail "apt remove did not say the change is in effect"; }
  files removed
  only_expected removed "$state|$enabled|$dpkg_rc"
  in_box test -f /var/lib/passage/journal/000001/entry.json || fail "apt remove lost the journal"
  local kept
  kept=$(in_box sh -c 'while read -r f; do [ -d "$f" ] || [ ! -e "$f" ] || echo "$f"; done' <"$work/owned")
  [ -z "$kept" ] || { echo "$kept" >&2; fail "apt remove left files of the package"; }
  step "apt remove: the package's $(wc -l <"$work/owned") paths gone, the journal kept and the change named"

  in_box apt purge -y passage >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "apt purge"; }
  grep -q '/var/lib/passage (the journal' "$work/purge.log" || { cat "$work/purge.log" >&2; fail "apt purge did not say the journal stays"; }
  files purged
  only_expected purged "$state"
  step "apt purge with the change in effect: only /var/lib/passage stays ($(passage_paths purged | wc -l) paths), as it says"

  in_box apt install -y /root/passage.deb >"$work/reinstall.log" 2>&1 || { tail -20 "$work/reinstall.log" >&2; fail "apt install again"; }
  in_box passagectl undo 000001 >/dev/null || fail "passagectl undo 000001"
  in_box apt purge -y passage >"$work/purge2.log" 2>&1 || { cat "$work/purge2.log" >&2; fail "apt purge after the undo"; }
  files clean
  only_expected clean '^$'
  # Nothing Passage's among the paths the whole run added, but what its dependencies own.
  comm -13 "$work/before.files" "$work/clean.files" | grep -i passage && fail "paths of Passage the install added remain"
  step "installed again, undone, apt purge: nothing of Passage left ($(comm -13 "$work/before.files" "$work/clean.files" | wc -l) paths more than before the install, none Passage's)"
}

# ---- the run ------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap and systemd-nspawn need it)"
rm -rf "$work"; mkdir -p "$work"
links_before=$(ip -br link | awk '{print $1}' | sort)
deb=$(package "${1:-}")
[ -f "$deb" ] || fail "no package $deb"
step "package $(basename "$deb")"
rootfs
step "debootstrap: a clean Debian 12 ($(du -sh "$work/root" | cut -f1))"
boot
step "booted with systemd as PID 1 (systemd-nspawn, not registered)"
install_package
helper_is_activated
polkit_knows_the_actions
installed_files_validate
app_shows_system_check
authorize_a_vm
remove_then_purge
[ "$(ip -br link | awk '{print $1}' | sort)" = "$links_before" ] || fail "this machine's network links changed"
step "passed in $(( $(date +%s) - T0 ))s"
