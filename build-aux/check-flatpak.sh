#!/bin/bash
# The flatpak manifest is valid JSON, builds the app with meson, and gives the sandbox what
# the app needs (the helper's bus name, logind, the libvirt socket, the host's /etc read-only)
# and nothing that lets it write the host.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - flatpak/io.github.passage.Passage.json <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
fail = []
if m["id"] != "io.github.passage.Passage": fail.append("id")
if m["command"] != "passage": fail.append("command")
args = set(m["finish-args"])
for need in ["--system-talk-name=io.github.passage.Helper1", "--system-talk-name=org.freedesktop.login1",
             "--filesystem=/run/libvirt:ro", "--filesystem=host-etc:ro", "--socket=wayland"]:
    if need not in args: fail.append("missing " + need)
for a in args:
    if a.startswith("--filesystem=") and not a.endswith(":ro") and a != "--filesystem=xdg-run/passage":
        fail.append("writable host filesystem: " + a)
    if a in ("--talk-name=org.freedesktop.Flatpak", "--device=all"): fail.append("too broad: " + a)
app = m["modules"][-1]
if app["name"] != "passage" or app["buildsystem"] != "meson": fail.append("the app module is not built with meson")
for mod in m["modules"]:
    for s in mod.get("sources", []):
        if s["type"] == "archive" and len(s.get("sha256", "")) != 64: fail.append("archive without sha256: " + s["url"])
if fail:
    print("flatpak manifest:", "; ".join(fail)); sys.exit(1)
print("flatpak manifest: structure and permissions as intended")
PY
