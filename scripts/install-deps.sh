#!/bin/sh
# install-deps.sh - install the Debian packages yubin needs to build and test.
#
# Runs apt-get only when something is missing, and only as root; otherwise it
# names the missing packages and stops, so that a developer without root knows
# exactly what to ask for.
set -e

# Build: compiler toolchain and the libraries listed in docs/ARCHITECTURE.md.
BUILD_PKGS="gcc pkg-config meson ninja-build libevent-dev libssl-dev libgsasl-dev
 libcrypt-dev libsqlite3-dev zlib1g-dev openssl"
# Tests: unit test framework, real clients, the SASL command-line client used
# as an independent SCRAM implementation, clang for the fuzz smoke run.
TEST_PKGS="libcmocka-dev python3 python3-pytest curl gsasl clang fetchmail mpop getmail6 postfix
 isync offlineimap3 mutt"

want="$BUILD_PKGS"
[ "$1" = "--test" ] && want="$BUILD_PKGS $TEST_PKGS"

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "yubin: missing Debian packages:$missing" >&2
	echo "yubin: install them with: sudo apt-get install$missing" >&2
	exit 1
fi

echo "yubin: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix is only a test peer (tests run private instances): never let its
# package configure and start a system-wide MTA.
case "$missing" in
*postfix*) echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections ;;
esac
# A fresh machine may have empty package lists; refresh them once if the
# install cannot find a package.
apt-get install -y -q --no-install-recommends $missing ||
	{ apt-get update -q && apt-get install -y -q --no-install-recommends $missing; }
