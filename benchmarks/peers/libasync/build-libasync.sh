#!/usr/bin/env bash
# Builds libasync (the async/ library of an sfslite checkout) under OUT, for the libasync peer.
# usage: build-libasync.sh SFSLITE-CHECKOUT OUT
#   OUT/src  a copy of the checkout: setup.gnu (autoreconf) and configure write into the
#            source tree, and the checkout stays as it was cloned
#   OUT/src/async/.libs/libasync.a  the result
# Only async/ is built: the peer needs nothing else (no rpcc, tame, arpc or crypt).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: build-libasync.sh SFSLITE-CHECKOUT OUT" >&2; exit 2; }
sfslite=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$sfslite/async/core.C" ] && [ -f "$sfslite/setup.gnu" ] || {
  echo "build-libasync: $sfslite is not an sfslite checkout (no async/core.C or setup.gnu);" \
       "get one with: git clone https://github.com/OkCupid/sfslite" >&2
  exit 2
}
# Debian 12: tirpc replaced glibc's Sun RPC headers; pcre is libasync's regex engine (rxx.C).
"$here/../../../scripts/ensure-packages.sh" g++ make m4 autoconf automake libtool libtirpc-dev libpcre3-dev

src=$out/src
mkdir -p "$out/logs"
# The copy is made afresh when the checkout changed (names, sizes, times of its files).
id=$(cd "$sfslite" && find . -path ./.git -prune -o -type f -printf '%P %s %T@\n' | sort | md5sum | cut -d' ' -f1)
if [ "$(cat "$out/src.id" 2>/dev/null)" != "$id" ] || [ ! -f "$src/config.status" ]; then
  echo "build-libasync: copying $sfslite to $src; setup.gnu, configure (logs in $out/logs)"
  rm -rf "$src" "$out/src.id"
  mkdir -p "$src" && tar -C "$sfslite" --exclude=./.git -cf - . | tar -C "$src" -xf -
  (cd "$src" && sh setup.gnu -f -i -s) > "$out/logs/setup.log" 2>&1 \
    || { tail -20 "$out/logs/setup.log" >&2; exit 1; }
  # tirpc's headers live in their own directory; --disable-dependency-tracking: a one-off build.
  (cd "$src" && ./configure CPPFLAGS="-I/usr/include/tirpc" LIBS="-ltirpc" --disable-dependency-tracking) \
    > "$out/logs/configure.log" 2>&1 || { tail -20 "$out/logs/configure.log" >&2; exit 1; }
  echo "$id" > "$out/src.id"
fi
# autoconf.h is made by the top-level Makefile before it recurses; async/ alone needs it first.
# -Werror comes from configure (WFLAGS, CXXWFLAGS) and gcc 12 warns about C++98 idioms
# (dynamic exception specifications): build without warnings, as a user of the library would.
jobs=$(nproc 2>/dev/null || echo 2)
(make -C "$src" autoconf.h && make -C "$src/async" -j"$jobs" WFLAGS=-w CXXWFLAGS=-w libasync.la) \
  > "$out/logs/build.log" 2>&1 || { tail -20 "$out/logs/build.log" >&2; exit 1; }
grep -q '^#define HAVE_EPOLL 1' "$src/config.h" || echo "build-libasync: warning: configure found no epoll" >&2
echo "build-libasync: $src/async/.libs/libasync.a"
