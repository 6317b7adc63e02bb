#!/bin/sh
# dev-run.sh - `make run`: set up ./dev and run the server in the
# foreground, after printing how to connect.
set -eu
cd "$(dirname "$0")/.."
scripts/dev-setup.sh dev
CONF=dev/yubin.conf
port() { sed -n "s/^$1 = 127.0.0.1:\([0-9]*\)$/\1/p" "$CONF"; }
POP3=$(port pop3)
POP3S=$(port pop3s)
LMTP=$(port lmtp)
IMAP=$(port imap)
IMAPS=$(port imaps)
cat <<INFO

  yubin is starting with the configuration in $CONF

  POP3   127.0.0.1:$POP3  (STLS available)
  POP3S  127.0.0.1:$POP3S (implicit TLS, self-signed certificate)
  IMAP   127.0.0.1:$IMAP  (STARTTLS available)
  IMAPS  127.0.0.1:$IMAPS (implicit TLS, self-signed certificate)
  LMTP   127.0.0.1:$LMTP  (deliver mail here)
  user   demo   password   demo

  List the mailbox:      curl pop3://demo:demo@127.0.0.1:$POP3/
  Read message 1:        curl pop3://demo:demo@127.0.0.1:$POP3/1
  The same over TLS:     curl -k pop3s://demo:demo@127.0.0.1:$POP3S/1
  IMAP folders:          curl imap://demo:demo@127.0.0.1:$IMAP/
  IMAP message 1:        curl -k 'imaps://demo:demo@127.0.0.1:$IMAPS/INBOX;UID=1'
  Deliver a message:     printf 'Subject: hi\n\nhello\n' | build/yubin deliver -c $CONF -u demo

  Ctrl-C stops the server.

INFO
exec build/yubin serve -c "$CONF"
