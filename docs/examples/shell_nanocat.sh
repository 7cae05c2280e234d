#!/bin/sh
# The protocol from the shell with nanocat (Debian package nanomsg-utils):
# one REQ request a command, the JSON reply printed as text. Put a key on
# every submit (uuidgen, or /proc/sys/kernel/random/uuid) so that a resent
# request never makes a second job.
set -e
rundir=${AIOJOBS_RUNDIR:-${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/aiojobsd}}
rundir=${rundir:-/tmp/aiojobsd-$(id -u)}
[ "$(id -u)" = 0 ] && [ -z "$AIOJOBS_RUNDIR" ] && rundir=/run/aiojobsd
url=${AIOJOBS_URL:-ipc://$rundir/aiojobsd.sock}

req() {
	nanocat --req --connect "$url" --data "$1" -A --recv-timeout 35
}

key=$(cat /proc/sys/kernel/random/uuid)
reply=$(req '{"op":"submit","job":{"kind":"exec","args":{"argv":["uname","-a"]},"key":"'"$key"'"}}')
echo "submit: $reply"
id=$(printf '%s\n' "$reply" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
# a wait is held at most max_hold (30 s); ask again while "pending" is not empty
req '{"op":"wait","ids":['"$id"'],"timeout_ms":30000}'
