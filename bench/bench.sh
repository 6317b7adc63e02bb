#!/bin/sh
# bench.sh - `make bench` and `make bench-quick`: install what the
# comparison with Dovecot needs, build the load generators, run bench/run.py.
#
#     bench/bench.sh full|quick [BUILD_DIR] [run.py options...]
#
# Needs root: the packages are installed with apt-get, and both servers run
# as root and switch to their unprivileged users as they would in
# production. If this script installs Dovecot, it stops and disables the
# system-wide Dovecot service that the package starts: the benchmark runs
# its own private instance, and a second one would only add noise.
set -eu
cd "$(dirname "$0")/.."
MODE=${1:-full}
BUILD=${2:-build}
[ $# -ge 2 ] && shift 2 || shift $#

if [ "$(id -u)" != 0 ]; then
	echo "make bench: needs root (apt-get, and both servers start as root)" >&2
	exit 1
fi

installed() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=""
for pkg in dovecot-core dovecot-pop3d dovecot-imapd dovecot-lmtpd gnuplot-nox openssl; do
	installed "$pkg" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
	had_dovecot=no
	installed dovecot-core && had_dovecot=yes
	echo "bench: installing$missing"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	if [ "$had_dovecot" = no ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
	fi
fi

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" src/yubin bench/pop3load bench/lmtpload bench/imapload bench/idleconn \
	bench/fsyncloop \
	>/dev/null

case "$MODE" in
quick) exec /usr/bin/python3 bench/run.py --quick --build-dir "$BUILD" --no-docs "$@" ;;
full) exec /usr/bin/python3 bench/run.py --build-dir "$BUILD" "$@" ;;
*) echo "usage: bench/bench.sh full|quick [BUILD_DIR]" >&2; exit 2 ;;
esac
