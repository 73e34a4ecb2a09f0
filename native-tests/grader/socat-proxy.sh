#!/bin/sh
# A proxy in the classic command-line form, made of socat: a rival to grade.
# socat has no stall timeout, so it must fail the two timeout phases (and only those).
# usage: socat-proxy.sh dest-host dest-port listen-port
[ $# -eq 3 ] || { echo "usage: socat-proxy.sh dest-host dest-port listen-port" >&2; exit 2; }
exec socat "TCP-LISTEN:$3,fork,reuseaddr" "TCP:$1:$2"
