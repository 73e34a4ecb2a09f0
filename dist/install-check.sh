#!/usr/bin/env bash
# make install and make uninstall, checked in a temporary DESTDIR: the tree,
# the installed binary (--version, a forward on loopback in a network
# namespace of its own), the unit's ExecStart, the man page (groff -ww),
# the bash completion; then uninstall leaves no file. Also: make help
# describes every test step. Needs root (unshare -n).
# usage: install-check.sh MAKE BINARY TEST-TARGET...
set -uo pipefail
make=$1 binary=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d "${TMPDIR:-/tmp}/tcpproxy-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

. "$top/dist/check-lib.sh"

files_are() { # root expected-file...: exactly these files (and nothing else) under root
  local root=$1
  shift
  diff <([ $# -eq 0 ] || printf '%s\n' "$@" | sort) <(cd "$root" && find . -type f -o -type l | sed 's|^\./||' | sort)
}

silent() { # command...: succeeds and prints nothing (groff -ww warns but exits 0)
  local out
  out=$("$@" 2>&1) && [ -z "$out" ] || { printf '%s\n' "$out"; return 1; }
}

completes() { # words... -- expected: bash completion of the last word
  local script=$dest/usr/local/share/bash-completion/completions/tcpproxy words=() expected
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  expected=$2
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tcpproxy; echo "${COMPREPLY[*]}"' \
    _ "$script" "${words[@]}" | diff <(echo "$expected") -
}

# Default PREFIX (/usr/local).
check "make install (DESTDIR, default PREFIX) runs" $make -s -C "$top" install DESTDIR="$dest" INSTALL_BIN="$binary"
check "the tree holds the binary, the man page, two completions, two units" files_are "$dest" \
  usr/local/bin/tcpproxy usr/local/share/man/man1/tcpproxy.1 usr/local/share/bash-completion/completions/tcpproxy \
  usr/local/share/zsh/site-functions/_tcpproxy usr/local/lib/systemd/system/tcpproxy@.service usr/local/lib/systemd/system/tcpproxy@.socket
check "the installed binary says its version" bash -c '"$1" --version | grep -Eq "^[0-9]+\.[0-9]+\.[0-9]+"' _ "$dest/usr/local/bin/tcpproxy"
check "the installed binary forwards on loopback" unshare -n sh -c \
  'ip link set lo up && python3 -B "$1" "installed forward" "$2" -q' _ "$top/dist/forward-check.py" "$dest/usr/local/bin/tcpproxy"
check "the unit starts the installed binary" grep -q '^ExecStart=/usr/local/bin/tcpproxy ' "$dest/usr/local/lib/systemd/system/tcpproxy@.service"
check "the man page renders without a warning (groff -ww)" silent groff -ww -man -Tutf8 -z "$dest/usr/local/share/man/man1/tcpproxy.1"
check "groff -ww reports a broken man page" bash -c '[ -n "$(sed "s/^\.TP$/.TPX/" "$1" | groff -ww -man -Tutf8 -z 2>&1)" ]' _ \
  "$dest/usr/local/share/man/man1/tcpproxy.1"
check "bash completes --spl to --splice" completes tcpproxy --spl -- --splice
check "bash completes --poller's values" completes tcpproxy db 5432 6432 --poller '' -- "auto epoll kqueue poll"
if command -v zsh >/dev/null 2>&1; then
  check "the zsh completion parses (zsh -n)" zsh -n "$dest/usr/local/share/zsh/site-functions/_tcpproxy"
fi
check "make uninstall runs" $make -s -C "$top" uninstall DESTDIR="$dest"
check "make uninstall leaves no file" files_are "$dest"

# Another PREFIX: the unit follows the binary.
check "make install PREFIX=/usr runs" $make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr INSTALL_BIN="$binary"
check "with PREFIX=/usr the unit starts /usr/bin/tcpproxy" grep -q '^ExecStart=/usr/bin/tcpproxy ' "$dest/usr/lib/systemd/system/tcpproxy@.service"
check "make uninstall PREFIX=/usr leaves no file" bash -c '$1 -s -C "$2" uninstall DESTDIR="$3" PREFIX=/usr && [ -z "$(find "$3" -type f)" ]' _ "$make" "$top" "$dest"

# make help names every step of make test, each with its line.
help=$($make -s -C "$top" help)
for step in "$@"; do
  check "make help describes $step" grep -Eq "^  $step +[^ ]" <<<"$help"
done

echo "install-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
