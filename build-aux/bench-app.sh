#!/bin/bash
# Benchmark (issue 5): time from process start to the first visible window, and resident
# memory — Passage after its Devices page is shown — side by side with
#   (a) virt-manager (Debian's package) on libvirt's test:///default, and
#   (b) the floor: a bare relm4 + libadwaita window (examples/bare_window.rs), same profile,
#       and for context the same window with a header bar and a line of text ("bare+chrome");
# on one Xvfb, with one GSK renderer (cairo, then GL on llvmpipe), medians of N runs (default 5).
# Targets: start-up ≤ 1.2× the bare window and ≤ ½ virt-manager's; memory ≤ bare + 20 MB.
# Each is measured with the accessibility bus (GTK_A11Y=atspi: GTK joins AT-SPI, as on a
# desktop with a screen reader or Orca's bus running) and without it (GTK_A11Y=none), so that
# Passage's accessibility work is seen not to be what makes start-up slower.
# The runs are interleaved (one of each in turn), so that the machine's drift hits all alike.
# BASELINE_BIN=path/to/an/older/passage adds it as "baseline" (an earlier commit's release
# build), to see what a change did to start-up.
# usage: build-aux/bench-app.sh [RUNS] [RENDERERS, default "cairo gl"] [A11Y, default "atspi none"]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
WHICH="bare bare+chrome passage virt-manager"
[ -n "${BASELINE_BIN:-}" ] && WHICH="bare bare+chrome passage baseline virt-manager"
RENDERERS=${2:-cairo gl}
A11YS=${3:-atspi none}
build-aux/install-deps.sh
command -v virt-manager >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -qy --no-install-recommends virt-manager >/dev/null
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release -q -p passage --bin passage --example bare_window

work=$(mktemp -d)
exec 3< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null)
XVFB=$!   # Xvfb's own pid: it is ended by pid, never by name (another run may have one too)
read -r n <&3
export DISPLAY=:$n GDK_BACKEND=x11 GSETTINGS_BACKEND=memory XDG_RUNTIME_DIR=$work HOME=$work
eval "$(dbus-daemon --session --fork --address="unix:path=$work/bus" --print-address=1 --print-pid=1 | { read -r a; read -r p; echo "export DBUS_SESSION_BUS_ADDRESS=$a; BUSPID=$p"; })"
cleanup(){ kill "$BUSPID" 2>/dev/null || true; kill "$XVFB" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

now(){ date +%s%N; }
rss_mb(){ awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# Polls until a viewable window with this exact name exists; prints the ms since $2.
wait_window(){ # NAME START_NS
  while ! xdotool search --onlyvisible --name "^$1\$" >/dev/null 2>&1; do :; done
  echo $(( ($(now) - $2) / 1000000 ))
}
median(){ sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# One run: prints "MS MB". $1 = which.
run(){
  local t0 pid ms mb
  t0=$(now)
  case $1 in
    passage|baseline)
      local bin=target/release/passage
      [ "$1" = baseline ] && bin=$BASELINE_BIN
      PASSAGE_DEBUG=1 PASSAGE_LIBVIRT_URI=test:///default "$bin" --demo & pid=$!
      ms=$(wait_window Passage "$t0")
      # Memory after the Devices page is on screen (the widget dump says when it is).
      until gdbus call --session --dest io.github.passage.Passage --object-path /io/github/passage/Passage \
          --method org.gtk.Actions.Activate show-page "[<'devices'>]" '{}' >/dev/null 2>&1; do sleep 0.05; done
      until gdbus call --session --dest io.github.passage.Passage --object-path /io/github/passage/Passage \
          --method org.gtk.Actions.Activate dump-widgets "[<'$work/dump'>]" '{}' >/dev/null 2>&1 \
          && grep -q '#page-devices' "$work/dump" 2>/dev/null && [ "$(grep -c '#page-' "$work/dump")" = 1 ]; do sleep 0.1; done
      sleep 1 ;;
    bare)
      target/release/examples/bare_window & pid=$!
      ms=$(wait_window Bare "$t0"); sleep 1 ;;
    bare+chrome)
      BARE_CHROME=1 target/release/examples/bare_window & pid=$!
      ms=$(wait_window Bare "$t0"); sleep 1 ;;
    virt-manager)
      virt-manager --no-fork --connect test:///default >/dev/null 2>&1 & pid=$!
      ms=$(wait_window "Virtual Machine Manager" "$t0"); sleep 1 ;;
  esac
  mb=$(rss_mb $pid)
  kill $pid; wait $pid 2>/dev/null || true
  rm -f "$work/dump"
  echo "$ms $mb"
}

for a11y in $A11YS; do
export GTK_A11Y=$a11y
# virt-manager (GTK 3) joins the bus through its ATK bridge, off with NO_AT_BRIDGE.
if [ "$a11y" = none ]; then export NO_AT_BRIDGE=1; else unset NO_AT_BRIDGE; fi
for renderer in $RENDERERS; do
  export GSK_RENDERER=$renderer
  declare -A MS MB RES
  for which in $WHICH; do run "$which" >/dev/null; RES[$which]=""; done # warm the page cache
  for _ in $(seq "$RUNS"); do
    for which in $WHICH; do RES[$which]+="$(run "$which")"$'\n'; done
  done
  for which in $WHICH; do
    MS[$which]=$(echo -n "${RES[$which]}" | awk '{print $1}' | median)
    MB[$which]=$(echo -n "${RES[$which]}" | awk '{print $2}' | median)
  done
  echo "GTK_A11Y=$a11y GSK_RENDERER=$renderer (virt-manager is GTK 3 and ignores it), medians of $RUNS:"
  printf '  %-14s %8s %8s\n' "" "start ms" "RSS MB"
  for which in $WHICH; do printf '  %-14s %8s %8s\n' "$which" "${MS[$which]}" "${MB[$which]}"; done
  if [ -n "${BASELINE_BIN:-}" ]; then
    awk -v p="${MS[passage]}" -v b="${MS[baseline]}" -v pm="${MB[passage]}" -v bm="${MB[baseline]}" 'BEGIN {
      printf "  against the baseline: start-up %.2f×, memory %+d MB\n", p/b, pm-bm }'
  fi
  awk -v p="${MS[passage]}" -v b="${MS[bare]}" -v c="${MS[bare+chrome]}" -v v="${MS[virt-manager]}" -v pm="${MB[passage]}" -v bm="${MB[bare]}" -v cm="${MB[bare+chrome]}" 'BEGIN {
    printf "  start-up: %.2f× the bare window (target ≤ 1.2×), %.2f× virt-manager (target ≤ 0.5×); %.2f× bare+chrome\n", p/b, p/v, p/c
    printf "  memory: bare + %d MB (target ≤ 20 MB); bare+chrome + %d MB\n", pm-bm, pm-cm }'
  unset MS MB RES
done
done
