# sourced from l2-test.sh when l2test=exchange: runs a payload the host shipped on a raw disk.
# /dev/vdb holds a tar (the payload, with run.sh at its top); whatever run.sh leaves in $OUT is
# written back as a tar to /dev/vdc. run.sh gets OUT and the helper `say` in its environment.
mkdir -p /opt/payload /tmp/out
if tar -xf /dev/vdb -C /opt/payload 2>/tmp/untar.err; then
  say "payload: $(ls /opt/payload | tr '\n' ' ')"
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
