#!/bin/sh
# dev-setup.sh - create a development instance under DIR (default ./dev):
# a configuration on unprivileged loopback ports, a self-signed TLS
# certificate, a demo user and a welcome message. Running it again keeps
# what exists.
#
#   usage: scripts/dev-setup.sh [DIR]
#   environment: YUBIN (binary, default build/yubin), YUBIN_POP3_PORT,
#   YUBIN_POP3S_PORT, YUBIN_LMTP_PORT
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-dev}
YUBIN=${YUBIN:-build/yubin}
POP3_PORT=${YUBIN_POP3_PORT:-11110}
POP3S_PORT=${YUBIN_POP3S_PORT:-11995}
LMTP_PORT=${YUBIN_LMTP_PORT:-11024}
IMAP_PORT=${YUBIN_IMAP_PORT:-11143}
IMAPS_PORT=${YUBIN_IMAPS_PORT:-11993}

mkdir -p "$DIR/tls"
DIR=$(cd "$DIR" && pwd)
CONF="$DIR/yubin.conf"

if [ ! -f "$DIR/tls/key.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 3650 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$DIR/tls/key.pem" -out "$DIR/tls/cert.pem" 2>/dev/null
	chmod 600 "$DIR/tls/key.pem"
fi

if [ ! -f "$CONF" ]; then
	cat > "$CONF" <<CONF
# yubin development configuration (created by scripts/dev-setup.sh).
# Every key is described in docs/CONFIG.md.
data_dir = $DIR/data
hostname = localhost
workers = 2
# Account the workers run as when yubin is started as root.
user = mail

[listen]
pop3 = 127.0.0.1:$POP3_PORT
pop3s = 127.0.0.1:$POP3S_PORT
lmtp = 127.0.0.1:$LMTP_PORT
imap = 127.0.0.1:$IMAP_PORT
imaps = 127.0.0.1:$IMAPS_PORT

[tls]
cert = $DIR/tls/cert.pem
key = $DIR/tls/key.pem

[auth]
# Plain-text passwords only over TLS or from this machine.
plaintext = tls-or-loopback
CONF
fi

if ! "$YUBIN" user list -c "$CONF" | grep -qx demo; then
	printf 'demo\n' | "$YUBIN" user add demo --password-stdin -c "$CONF"
	"$YUBIN" deliver -c "$CONF" -u demo -f postmaster@localhost <<MSG
From: yubin <postmaster@localhost>
To: demo@localhost
Subject: Welcome to yubin
Date: $(LC_ALL=C date -R)
Message-ID: <welcome.$(date +%s)@localhost>
Content-Type: text/plain; charset=utf-8

Hello!

This message was delivered by \`yubin deliver\` when your development
instance was created. Fetch it with any POP3 client; deliver more with
LMTP on 127.0.0.1:$LMTP_PORT.
MSG
fi
