#!/bin/bash
# The payload exchange of l2-exchange.sh (the payload from /dev/vdb, its results to /dev/vdc),
# run as a systemd service when L2 boots systemd as PID 1; then it powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say(){ echo "L2[$(cut -d' ' -f1 /proc/uptime)]: $*"; }
say "systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1 ($(cat /proc/1/comm)); payload starts"
. /usr/local/sbin/l2-exchange.sh
say "ALL DONE"
systemctl poweroff --force --force
