#!/bin/bash
# The payload exchange of l2-exchange.sh, as a systemd service: /dev/vdb holds the payload (a
# tar with run.sh), whatever run.sh leaves in $OUT goes back as a tar on /dev/vdc.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say(){ echo "L2[$(cut -d' ' -f1 /proc/uptime)]: $*"; }
say "systemd $(systemctl --version | head -1 | cut -d' ' -f2) is PID 1 ($(cat /proc/1/comm)); payload starts"
mkdir -p /opt/payload /tmp/out
if tar -xf /dev/vdb -C /opt/payload 2>/tmp/untar.err; then
  export OUT=/tmp/out
  ( cd /opt/payload && . ./run.sh ) > /tmp/out/run.log 2>&1
  echo $? > /tmp/out/run.rc
  say "payload finished rc=$(cat /tmp/out/run.rc)"
  tail -20 /tmp/out/run.log | sed 's/^/L2 payload| /'
else
  say "payload: cannot read /dev/vdb: $(cat /tmp/untar.err)"
  echo "no payload" > /tmp/out/run.log; echo 99 > /tmp/out/run.rc
fi
tar -cf /dev/vdc -C /tmp/out . && sync && say "results written to /dev/vdc"
say "ALL DONE"
systemctl poweroff --force --force
