"""POP3 base protocol (RFC 1939, RFC 2449 CAPA, RFC 6856 UTF8/LANG).

Real clients against a real `yubin serve`: Python's poplib and raw sockets
for the protocol; messages are put in over LMTP (server.deliver) or with
`yubin deliver` (server.deliver_cmd), and RETR results are compared byte
for byte with what the message must look like on the wire.

What a retrieved message looks like: the trace headers yubin prepends
(Return-Path, Delivered-To and, over LMTP, Received) followed by the
message exactly as submitted, every line ending in CRLF.
"""
import base64
import hashlib
import os
import poplib
import random
import re
import socket
import time

import pytest

from conftest import USERS

ALICE = ("alice", USERS["alice"])
BOB = ("bob", USERS["bob"])
CAROL = ("carol@example.org", USERS["carol@example.org"])

# Header lines yubin may put in front of a delivered message (and their
# folded continuation lines).
TRACE_LINE = re.compile(rb"^(Return-Path: <[^>]*>|Delivered-To: \S+|Received: .*|\t.*)$")


@pytest.fixture(autouse=True)
def long_lines(monkeypatch):
    # poplib refuses lines over 2048 bytes; RFC 5322 allows 998 and real
    # mail has longer ones. We want to see what the server sends.
    monkeypatch.setattr(poplib, "_MAXLINE", 1 << 24)


# ---------------------------------------------------------------- helpers


def msg(test_id, body=b"Hello.\r\n", extra_headers=b""):
    """A small CRLF message with a unique Message-ID."""
    return (b"From: sender@example.org\r\nTo: alice@example.org\r\n"
            b"Subject: test " + test_id.encode() + b"\r\n"
            b"Message-ID: <" + test_id.encode() + b"@test>\r\n" + extra_headers +
            b"\r\n" + body)


def deliver(server, message, rcpt="alice"):
    assert server.deliver(rcpt, message) == {}


def read_reply(c):
    line = c.readline()
    assert line.endswith(b"\r\n"), f"incomplete reply {line!r}"
    return line


def command(c, line):
    c.send(line + b"\r\n")
    return read_reply(c)


def login_raw(server, user=ALICE[0], password=ALICE[1]):
    c = server.raw()
    assert read_reply(c).startswith(b"+OK")
    assert command(c, b"USER " + user.encode()) .startswith(b"+OK")
    reply = command(c, b"PASS " + password.encode())
    assert reply.startswith(b"+OK"), reply
    return c


def read_until_terminator(sock, timeout=60):
    """Everything up to and including the first '\\r\\n.\\r\\n' (a status line
    plus a multi-line body); fast for many megabytes."""
    sock.settimeout(timeout)
    data = bytearray()
    while not data.endswith(b"\r\n.\r\n"):
        chunk = sock.recv(1 << 20)
        assert chunk, f"connection closed mid-response after {len(data)} bytes"
        data += chunk
    return bytes(data)


def unstuff(raw_body):
    """The multi-line body (without status line and terminator) as the
    client must reassemble it: RFC 1939 3 byte-unstuffing of each line."""
    assert raw_body == b"" or raw_body.endswith(b"\r\n")
    out = bytearray()
    for line in raw_body.split(b"\r\n")[:-1]:
        out += (line[1:] if line.startswith(b".") else line) + b"\r\n"
    return bytes(out)


def retr_raw(c, n, cmd=b"RETR"):
    """(status line, raw stuffed body) of RETR n over a RawClient."""
    c.send(cmd + b" " + str(n).encode() + b"\r\n")
    data = c.buf + read_until_terminator(c.sock)
    c.buf = b""
    status, _, rest = data.partition(b"\r\n")
    assert status.startswith(b"+OK"), status
    if rest == b".\r\n":
        return status, b""
    assert rest.endswith(b"\r\n.\r\n")
    return status, rest[:-3]


def strip_trace(body):
    """Split a retrieved message into (trace header lines, the rest)."""
    pos = 0
    trace = []
    while True:
        end = body.find(b"\r\n", pos)
        line = body[pos:end]
        if end < 0 or not TRACE_LINE.match(line):
            return trace, body[pos:]
        trace.append(line)
        pos = end + 2


def check_retrieved(body, expected, via_lmtp=True):
    """body (unstuffed, CRLF) must be yubin's trace headers + expected."""
    trace, rest = strip_trace(body)
    assert rest == expected
    names = [t.split(b":")[0] for t in trace if not t.startswith(b"\t")]
    if via_lmtp:
        assert names == [b"Return-Path", b"Delivered-To", b"Received"], trace
    else:
        assert names[-1:] == [b"Delivered-To"], trace


def poplib_octets_and_body(p, n):
    resp, lines, octets = p.retr(n)
    return resp, octets, b"".join(line + b"\r\n" for line in lines)


def maildir_files(server, user="alice"):
    root = server.maildir(user)
    return sorted(f for sub in ("new", "cur") for f in os.listdir(root / sub))


def login_retry(server, user, password, deadline=5.0):
    """Log in, retrying while the server still holds a lock from a
    connection it has not yet seen close."""
    end = time.time() + deadline
    while True:
        p = server.pop3()
        try:
            p.user(user)
            p.pass_(password)
            return p
        except poplib.error_proto as e:
            p.close()
            if b"[IN-USE]" not in e.args[0] or time.time() > end:
                raise
            time.sleep(0.05)


# ---------------------------------------------------------------- greeting, login


def test_greeting(server):
    c = server.raw()
    greeting = read_reply(c)
    # no {PLAIN} user: no APOP timestamp
    assert greeting.startswith(b"+OK ")
    assert b"<" not in greeting
    c.close()


def test_user_pass_and_password_with_spaces(server):
    p = server.pop3(*ALICE)
    assert p.stat() == (0, 0)
    assert p.quit().startswith(b"+OK")
    p = server.pop3()
    assert p.user("bob").startswith(b"+OK")
    assert p.pass_(USERS["bob"]).startswith(b"+OK")
    assert p.stat() == (0, 0)
    p.quit()


def test_user_with_domain(server):
    deliver(server, msg("carol-1"), rcpt="carol@example.org")
    p = server.pop3(*CAROL)
    count, size = p.stat()
    assert count == 1
    resp, octets, body = poplib_octets_and_body(p, 1)
    check_retrieved(body, msg("carol-1"))
    assert octets == size
    p.quit()


@pytest.mark.parametrize("user,password", [
    ("alice", "wrong"),
    ("alice", "alice-secret "),     # trailing space is part of the password
    ("bob", "bob"),                 # only the first word of bob's password
    ("nosuchuser", "whatever"),
    ("alice", ""),
    ("", "alice-secret"),
])
def test_wrong_credentials(server, user, password):
    c = server.raw()
    read_reply(c)
    if user == "":
        # USER needs a name
        assert command(c, b"USER ").startswith(b"-ERR")
        assert command(c, b"PASS alice-secret").startswith(b"-ERR")
        assert command(c, b"USER alice") == b"+OK\r\n"
        assert command(c, b"PASS alice-secret").startswith(b"+OK")
        return
    assert command(c, b"USER " + user.encode()) == b"+OK\r\n"
    reply = command(c, b"PASS " + password.encode())
    # RFC 3206 4: [AUTH] for a credentials problem; the unknown user gets
    # the same reply as a wrong password (no user enumeration)
    assert reply == b"-ERR [AUTH] Authentication failed.\r\n"
    # the session is still usable after one failure
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"PASS alice-secret").startswith(b"+OK")
    c.close()


def test_user_names_are_case_insensitive(server):
    # lib/username.h: names are normalised to lower case
    deliver(server, msg("case-user"))
    p = server.pop3("ALICE", USERS["alice"])
    assert p.stat()[0] == 1
    p.quit()
    p = server.pop3("Carol@Example.ORG", USERS["carol@example.org"])
    assert p.stat()[0] == 0
    p.quit()


def test_pass_before_user_and_user_twice(server):
    c = server.raw()
    read_reply(c)
    assert command(c, b"PASS alice-secret").startswith(b"-ERR")
    assert command(c, b"USER bob") == b"+OK\r\n"
    # a second USER replaces the first
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"PASS alice-secret").startswith(b"+OK")
    c.close()


def test_quit_in_authorization_state(server):
    c = server.raw()
    read_reply(c)
    assert command(c, b"QUIT").startswith(b"+OK")
    assert c.closed()
    c = server.raw()
    read_reply(c)
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"QUIT").startswith(b"+OK")
    assert c.closed()


def test_commands_in_wrong_state(server):
    deliver(server, msg("state-1"))
    c = server.raw()
    read_reply(c)
    for cmd in (b"STAT", b"LIST", b"RETR 1", b"DELE 1", b"UIDL", b"TOP 1 0", b"NOOP",
                b"RSET"):
        assert command(c, cmd).startswith(b"-ERR"), cmd
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"PASS alice-secret").startswith(b"+OK")
    for cmd in (b"USER alice", b"PASS alice-secret", b"APOP alice " + b"0" * 32,
                b"AUTH PLAIN", b"STLS", b"UTF8"):
        assert command(c, cmd).startswith(b"-ERR"), cmd
    # still in TRANSACTION, nothing broken
    assert command(c, b"STAT").startswith(b"+OK 1 ")
    c.close()


def test_case_insensitive_commands(server):
    deliver(server, msg("case-1"))
    c = server.raw()
    read_reply(c)
    assert command(c, b"user alice") == b"+OK\r\n"
    assert command(c, b"pAsS alice-secret").startswith(b"+OK")
    assert command(c, b"stat").startswith(b"+OK 1 ")
    assert command(c, b"LiSt 1").startswith(b"+OK 1 ")
    assert command(c, b"uidl 1").startswith(b"+OK 1 ")
    status, body = retr_raw(c, 1, cmd=b"retr")
    check_retrieved(unstuff(body), msg("case-1"))
    assert command(c, b"noop") == b"+OK\r\n"
    assert command(c, b"quit").startswith(b"+OK")
    c.close()


# ---------------------------------------------------------------- CAPA, UTF8, LANG


def capa_set(lines):
    return {line.split(b" ")[0].decode(): line for line in lines}


def test_capa_before_and_after_login(server):
    c = server.raw()
    read_reply(c)
    c.send(b"CAPA\r\n")
    assert read_reply(c) .startswith(b"+OK")
    before = capa_set(line.rstrip(b"\r\n") for line in c.read_multiline())
    common = {"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE",
              "IMPLEMENTATION", "UTF8", "LANG"}
    assert not common - set(before), f"missing before login: {common - set(before)}"
    assert {"USER", "SASL", "STLS"} <= set(before)
    mechs = before["SASL"].split()[1:]
    assert b"PLAIN" in mechs and b"SCRAM-SHA-256" in mechs
    assert b"SCRAM-SHA-256-PLUS" not in mechs  # no channel binding without TLS
    assert before["EXPIRE"] == b"EXPIRE NEVER"
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"PASS alice-secret").startswith(b"+OK")
    c.send(b"CAPA\r\n")
    assert read_reply(c).startswith(b"+OK")
    after = capa_set(line.rstrip(b"\r\n") for line in c.read_multiline())
    # The IANA POP3 capability registry (RFC 2449 6, RFC 5034, RFC 2595,
    # RFC 6856) lists every one of these in both states, USER, SASL and STLS
    # included, even though their commands are only valid before login.
    assert not common - set(after), f"missing after login: {common - set(after)}"
    assert {"USER", "SASL", "STLS"} <= set(after)
    assert after["SASL"] == before["SASL"]
    c.close()


def test_capa_via_poplib(server):
    p = server.pop3()
    caps = p.capa()
    assert "USER" in caps and "STLS" in caps and "TOP" in caps
    assert caps["IMPLEMENTATION"] == ["yubin"]
    p.quit()


def test_utf8_and_lang(server):
    c = server.raw()
    read_reply(c)
    assert command(c, b"UTF8").startswith(b"+OK")
    # RFC 6856 3: LANG without argument lists the languages
    c.send(b"LANG\r\n")
    assert read_reply(c).startswith(b"+OK")
    langs = c.read_multiline()
    assert langs and all(re.match(rb"^[A-Za-z-]+ \S.*\r\n$", l) for l in langs), langs
    assert any(l.startswith(b"en") for l in langs)
    assert command(c, b"LANG en").startswith(b"+OK")
    assert command(c, b"LANG *").startswith(b"+OK")
    assert command(c, b"LANG xx-unknown").startswith(b"-ERR")
    # UTF-8 in user names (RFC 6856 2) does not confuse anything
    assert command(c, "USER alïce".encode()) == b"+OK\r\n"
    assert command(c, b"PASS x") == b"-ERR [AUTH] Authentication failed.\r\n"
    assert command(c, b"USER alice") == b"+OK\r\n"
    assert command(c, b"PASS alice-secret").startswith(b"+OK")
    # LANG is valid in TRANSACTION too; UTF8 is AUTHORIZATION only
    assert command(c, b"LANG en").startswith(b"+OK")
    assert command(c, b"UTF8").startswith(b"-ERR")
    c.close()


# ---------------------------------------------------------------- TRANSACTION commands


def test_stat_list_uidl_retr(server):
    bodies = [msg(f"m{i}", body=b"line %d\r\n" % i * (i + 1)) for i in range(3)]
    for b in bodies:
        deliver(server, b)
    p = server.pop3(*ALICE)
    count, total = p.stat()
    assert count == 3
    resp, listing, _ = p.list()
    assert resp.startswith(b"+OK")
    sizes = {int(n): int(s) for n, s in (l.split() for l in listing)}
    assert sorted(sizes) == [1, 2, 3]
    assert sum(sizes.values()) == total
    for i in (1, 2, 3):
        assert p.list(i) == b"+OK %d %d" % (i, sizes[i])
    resp, uidls, _ = p.uidl()
    uid = {int(n): u for n, u in (l.split() for l in uidls)}
    assert len(set(uid.values())) == 3
    for i in (1, 2, 3):
        assert p.uidl(i) == b"+OK %d %s" % (i, uid[i])
        # RFC 1939 7: 1-70 characters in 0x21-0x7E
        assert re.fullmatch(rb"[\x21-\x7e]{1,70}", uid[i])
        resp, octets, body = poplib_octets_and_body(p, i)
        assert resp == b"+OK %d octets" % sizes[i]
        check_retrieved(body, bodies[i - 1])
        assert octets == sizes[i] == len(body)
    assert p.noop().startswith(b"+OK")
    p.quit()


def test_top(server):
    header = (b"From: a@example.org\r\nSubject: top\r\n"
              b"X-Long: folded\r\n\tcontinuation\r\n")
    body = b"one\r\n.two\r\n\r\nfour\r\n"
    deliver(server, header + b"\r\n" + body)
    # a message that has no empty line at all: only a header
    headers_only = b"From: a@example.org\r\nSubject: no body\r\n"
    deliver(server, headers_only)
    p = server.pop3(*ALICE)

    def top(n, lines):
        resp, got, _ = p.top(n, lines)
        assert resp.startswith(b"+OK")
        return strip_trace(b"".join(l + b"\r\n" for l in got))[1]

    assert top(1, 0) == header + b"\r\n"
    assert top(1, 1) == header + b"\r\none\r\n"
    assert top(1, 2) == header + b"\r\none\r\n.two\r\n"
    assert top(1, 3) == header + b"\r\none\r\n.two\r\n\r\n"
    assert top(1, 4) == header + b"\r\n" + body
    assert top(1, 1000) == header + b"\r\n" + body
    assert top(1, 99999999999999999999) == header + b"\r\n" + body
    assert top(2, 0) == headers_only
    assert top(2, 5) == headers_only
    for bad in (b"TOP 1", b"TOP 1 -1", b"TOP 1 x", b"TOP 3 0", b"TOP 0 0", b"TOP 1 1 1"):
        with pytest.raises(poplib.error_proto):
            p._shortcmd(bad.decode())
    # TOP does not disturb a later RETR
    resp, octets, whole = poplib_octets_and_body(p, 1)
    assert strip_trace(whole)[1] == header + b"\r\n" + body
    p.quit()


@pytest.mark.parametrize("arg", [b"0", b"-1", b"+1", b"2", b"99", b"1x", b"x", b"1.0",
                                 b" 1", b"18446744073709551617",
                                 b"99999999999999999999999999999999", b"0x1", b"\xef\xbc\x91"])
def test_invalid_message_numbers(server, arg):
    deliver(server, msg("num"))
    c = login_raw(server)
    for cmd in (b"RETR", b"LIST", b"UIDL", b"DELE", b"TOP"):
        line = cmd + b" " + arg + (b" 0" if cmd == b"TOP" else b"")
        reply = command(c, line)
        assert reply.startswith(b"-ERR"), (line, reply)
    # nothing was deleted, the session works
    assert command(c, b"STAT").startswith(b"+OK 1 ")
    assert command(c, b"LIST 1").startswith(b"+OK 1 ")
    c.close()


def test_dele_rset_and_deleted_messages(server):
    for i in range(3):
        deliver(server, msg(f"d{i}"))
    c = login_raw(server)
    stat = command(c, b"STAT")
    _, count, total = stat.split()
    assert count == b"3"
    size2 = int(command(c, b"LIST 2").split()[2])
    assert command(c, b"DELE 2").startswith(b"+OK")
    # RFC 1939 5: a deleted message may not be referenced again
    for cmd in (b"RETR 2", b"LIST 2", b"DELE 2", b"UIDL 2", b"TOP 2 0"):
        assert command(c, cmd).startswith(b"-ERR"), cmd
    assert command(c, b"STAT") == b"+OK 2 %d\r\n" % (int(total) - size2)
    c.send(b"LIST\r\n")
    assert read_reply(c).startswith(b"+OK")
    assert [l.split()[0] for l in c.read_multiline()] == [b"1", b"3"]
    c.send(b"UIDL\r\n")
    assert read_reply(c).startswith(b"+OK")
    assert [l.split()[0] for l in c.read_multiline()] == [b"1", b"3"]
    # RSET undeletes
    assert command(c, b"RSET").startswith(b"+OK")
    assert command(c, b"STAT") == stat
    assert command(c, b"LIST 2") == b"+OK 2 %d\r\n" % size2
    assert command(c, b"NOOP") == b"+OK\r\n"
    c.close()


def test_pipelining(server):
    bodies = [msg(f"pipe{i}", body=(b"pipelined body %d\r\n" % i) * 200) for i in range(4)]
    for b in bodies:
        deliver(server, b)
    c = server.raw()
    read_reply(c)
    # one write: login, listing, several RETRs, more commands, QUIT
    c.send(b"USER alice\r\nPASS alice-secret\r\nSTAT\r\nLIST\r\nRETR 1\r\nRETR 2\r\n"
           b"NOOP\r\nRETR 4\r\nUIDL 3\r\nDELE 3\r\nRETR 3\r\nRETR 3\r\nSTAT\r\nQUIT\r\n")
    sock = c.sock
    sock.settimeout(10)
    data = c.buf
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\r\n")
    it = iter(lines)

    def nxt():
        return next(it)

    def multiline():
        out = []
        while (l := nxt()) != b".":
            out.append(l)
        return out

    assert nxt() == b"+OK"
    assert nxt().startswith(b"+OK Logged in")
    stat = nxt()
    assert stat.startswith(b"+OK 4 ")
    assert nxt().startswith(b"+OK")
    assert len(multiline()) == 4
    for i in (1, 2):
        assert nxt().startswith(b"+OK")
        check_retrieved(unstuff(b"\r\n".join(multiline()) + b"\r\n"), bodies[i - 1])
    assert nxt() == b"+OK"
    assert nxt().startswith(b"+OK")
    check_retrieved(unstuff(b"\r\n".join(multiline()) + b"\r\n"), bodies[3])
    assert nxt().startswith(b"+OK 3 ")
    assert nxt().startswith(b"+OK")
    assert nxt().startswith(b"-ERR")
    assert nxt().startswith(b"-ERR")
    assert nxt().startswith(b"+OK 3 ")
    assert nxt().startswith(b"+OK")
    assert nxt() == b""
    with pytest.raises(StopIteration):
        nxt()


# ---------------------------------------------------------------- message content


CONTENT_CASES = {
    "dots": b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nafter lone dot\r\n"
            b"...\r\n. \r\nend\r\n",
    "dot_last": b"Subject: dot last\r\n\r\nbody\r\n.\r\n",
    "latin1": b"Subject: latin-1\r\n\r\n" + "Gr\xfc\xdfe, caf\xe9, \xa9\r\n".encode("latin-1")
              + bytes(range(0x80, 0x100)) + b"\r\n",
    "utf8": "Subject: =?UTF-8?Q?=E9?=\r\n\r\nこんにちは 世界 Ünïcödé ✉\r\n".encode(),
    "long_line": b"Subject: long\r\n\r\n" + b"x" * 100_000 + b"\r\nshort\r\n",
    "long_line_dot": b"Subject: long dot\r\n\r\n." + b"y" * 100_000 + b"\r\n",
    "empty_body": b"Subject: empty body\r\n\r\n",
    "cr_inside": b"Subject: lone CR\r\n\r\nabc\rdef\r\n",
    "many_lines": b"Subject: many\r\n\r\n" + b"".join(b"%d\r\n" % i for i in range(20000)),
    # bare LFs inside a CRLF message: sent as CRLF, counted as 2 octets
    # (no '.' after a bare LF: smtplib would stuff it, and SMTP does not
    # see a line start there)
    "bare_lf": b"Subject: bare lf\r\n\r\nabc\ndef\r\n\nend\r\n",
    "cr_crlf": b"Subject: cr crlf\r\n\r\nabc\r\r\ndef\r\n",
}


def wire_form(message):
    """What RETR must deliver for a stored message (unstuffed): bare LF
    becomes CRLF (a CR that is not followed by LF stays as it is), and an
    unterminated last line is ended (a final lone CR gets its LF)."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", message)
    if out.endswith(b"\r\n"):
        return out
    return out + (b"\n" if out.endswith(b"\r") else b"\r\n")


@pytest.mark.parametrize("case", sorted(CONTENT_CASES))
def test_retr_byte_exact_lmtp(server, case):
    message = CONTENT_CASES[case]
    deliver(server, message)
    p = server.pop3(*ALICE)
    size = int(p.list(1).split()[2])
    resp, octets, body = poplib_octets_and_body(p, 1)
    check_retrieved(body, wire_form(message))
    assert resp == b"+OK %d octets" % size
    assert octets == size == len(body)
    p.quit()
    # the raw wire form: every line starting with '.' is stuffed
    c = login_raw(server)
    status, raw = retr_raw(c, 1)
    assert unstuff(raw) == body
    for line in raw.split(b"\r\n"):
        assert not line.startswith(b".") or line.startswith(b"..")
    c.close()


@pytest.mark.parametrize("message", [
    b"Subject: no final newline\r\n\r\nlast line without CRLF",
    b"Subject: ends in CR\r\n\r\nlast line ends in CR\r",
    b"Subject: headers only, no newline",
])
def test_retr_message_without_final_newline(server, message):
    assert server.deliver_cmd("alice", message).returncode == 0
    p = server.pop3(*ALICE)
    size = int(p.list(1).split()[2])
    count, total = p.stat()
    resp, octets, body = poplib_octets_and_body(p, 1)
    # RFC 1939 3: the multi-line response ends with CRLF "." CRLF, so the
    # last line gets a CRLF; LIST must count the octets RETR sends.
    check_retrieved(body, wire_form(message), via_lmtp=False)
    assert octets == len(body)
    assert resp == b"+OK %d octets" % octets, resp
    assert size == total == octets, f"LIST says {size}, RETR sent {octets}"
    p.quit()


def test_retr_message_without_final_newline_dot(server):
    # ends in "\r\n." with no newline: the last line is a lone '.' that must
    # be stuffed, and may not be read as the terminator
    message = b"Subject: trailing dot\r\n\r\nbody\r\n."
    assert server.deliver_cmd("alice", message).returncode == 0
    c = login_raw(server)
    status, raw = retr_raw(c, 1)
    assert raw.endswith(b"body\r\n..\r\n")
    check_retrieved(unstuff(raw), message + b"\r\n", via_lmtp=False)
    c.close()


@pytest.mark.parametrize("message", [
    b"Subject: lf only\n\nline one\n.dot line\n\nline four\n",
    b"Subject: lf no final newline\n\nline one\nlast",
    b"Subject: mixed\r\n\nline one\r\nline two\nline three\r\n",
    b"\n\nstarts with empty lines\n",
])
def test_retr_lf_only_via_deliver(server, message):
    res = server.deliver_cmd("alice", message)
    assert res.returncode == 0, res.stderr
    p = server.pop3(*ALICE)
    size = int(p.list(1).split()[2])
    count, total = p.stat()
    resp, octets, body = poplib_octets_and_body(p, 1)
    check_retrieved(body, wire_form(message), via_lmtp=False)
    # LIST counts the octets after the CRLF conversion (RFC 1939 11)
    assert octets == len(body)
    assert size == total == octets, (size, total, octets)
    p.quit()


def test_top_lf_only(server):
    message = b"Subject: lf top\nX-A: b\n\nbody 1\nbody 2\n"
    assert server.deliver_cmd("alice", message).returncode == 0
    p = server.pop3(*ALICE)
    resp, lines, _ = p.top(1, 1)
    got = strip_trace(b"".join(l + b"\r\n" for l in lines))[1]
    assert got == b"Subject: lf top\r\nX-A: b\r\n\r\nbody 1\r\n"
    p.quit()


def test_large_message_20mb(server):
    rnd = random.Random(20)
    payload = base64.encodebytes(rnd.randbytes(15 * 1024 * 1024)).replace(b"\n", b"\r\n")
    message = (b"Subject: big\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--XX--\r\n")
    deliver(server, message)
    c = login_raw(server)
    size = int(command(c, b"LIST 1").split()[2])
    status, raw = retr_raw(c, 1)
    assert status == b"+OK %d octets" % size
    body = unstuff(raw)
    assert len(body) == size
    trace, rest = strip_trace(body)
    assert len(rest) == len(message)
    assert hashlib.sha256(rest).hexdigest() == hashlib.sha256(message).hexdigest()
    assert command(c, b"QUIT").startswith(b"+OK")
    c.close()
    # and through poplib (octets = what RETR sent, unstuffed)
    p = server.pop3(*ALICE)
    resp, lines, octets = p.retr(1)
    assert octets == size
    p.quit()


def test_sizes_consistent_for_mixed_mailbox(server):
    messages = list(CONTENT_CASES.values())
    for m in messages:
        deliver(server, m)
    server.deliver_cmd("alice", b"Subject: lf\n\n.a\nb")
    p = server.pop3(*ALICE)
    count, total = p.stat()
    assert count == len(messages) + 1
    _, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sum(sizes) == total
    for i, size in enumerate(sizes, 1):
        _, octets, body = poplib_octets_and_body(p, i)
        assert octets == size, f"message {i}: LIST {size}, RETR {octets}"
    p.quit()


def test_snapshot_fixed_during_session(server):
    # RFC 1939 5/6: message numbers and sizes are fixed for the session; a
    # message delivered meanwhile appears in the next session and is not
    # touched by this session's UPDATE.
    deliver(server, msg("snap-1"))
    p = server.pop3(*ALICE)
    stat = p.stat()
    deliver(server, msg("snap-2"))
    assert p.stat() == stat
    assert p.list()[1] == [b"1 %d" % stat[1]]
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    p.dele(1)
    p.quit()
    p = server.pop3(*ALICE)
    assert p.stat()[0] == 1
    assert b"Message-ID: <snap-2@test>" in p.retr(1)[1]
    p.quit()


def test_files_written_by_other_programs(server):
    # The Maildir is the truth: files another program put into new/ and
    # cur/ (no S=/W= sizes in their names) are listed with their CRLF
    # sizes, retrieved exactly, and deleted on request.
    deliver(server, msg("first"))  # makes the Maildir
    root = server.maildir("alice")
    made = {
        "new/1700000001.M1P1.other": b"Subject: lf\n\n.dot\nbody\n",
        "new/1700000002.M2P1.other": b"Subject: crlf\r\n\r\nbody\r\n",
        "cur/1700000003.M3P1.other:2,S": b"Subject: seen\n\n" + b"x" * 5000 + b"\n",
        "new/1700000004.M4P1.other": b"Subject: cr\r\n\r\na\rb\r\n",
    }
    for name, data in made.items():
        (root / name).write_bytes(data)
        os.chmod(root / name, 0o644)
    p = server.pop3(*ALICE)
    count, total = p.stat()
    assert count == 5
    _, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sum(sizes) == total
    bodies = {}
    for i, size in enumerate(sizes, 1):
        _, octets, body = poplib_octets_and_body(p, i)
        assert octets == size == len(body), (i, size, octets)
        bodies[body] = i
    for data in made.values():
        assert wire_form(data) in bodies
    uids = uidl_map(p)
    assert len(set(uids)) == 5
    deleted = {bodies[wire_form(data)] for data in made.values()}
    for i in deleted:
        p.dele(i)
    p.quit()
    assert len(maildir_files(server)) == 1
    kept = ({1, 2, 3, 4, 5} - deleted).pop()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == [uids[kept - 1]]
    p.quit()


def test_files_renamed_by_another_program_during_session(server):
    # another mail program (an IMAP server, mutt) moves new/ -> cur/ and
    # adds flags while a POP3 session is open: RETR and DELE still work
    deliver(server, msg("mv-1"))
    deliver(server, msg("mv-2"))
    root = server.maildir("alice")
    p = server.pop3(*ALICE)
    uids = uidl_map(p)
    for sub in ("new", "cur"):
        for name in os.listdir(root / sub):
            os.rename(root / sub / name, root / "cur" / (name.split(":")[0] + ":2,S"))
    assert b"Message-ID: <mv-1@test>" in p.retr(1)[1]
    p.dele(2)
    p.quit()
    assert len(maildir_files(server)) == 1
    p = server.pop3(*ALICE)
    assert uidl_map(p) == uids[:1]
    p.quit()


# ---------------------------------------------------------------- UIDL


def uidl_map(p):
    return [l.split()[1] for l in p.uidl()[1]]


def test_uidl_stable_across_sessions_and_deletions(server):
    for i in range(4):
        deliver(server, msg(f"u{i}"))
    p = server.pop3(*ALICE)
    first = uidl_map(p)
    p.quit()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == first
    p.dele(1)
    p.dele(3)
    p.quit()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == [first[1], first[3]]
    # the messages behind them are the same ones
    assert b"u1@test" in b"\r\n".join(p.retr(1)[1])
    assert b"u3@test" in b"\r\n".join(p.retr(2)[1])
    p.quit()


def test_uidl_never_reused(server):
    seen = set()
    for i in range(5):
        deliver(server, msg(f"r{i}"))
        p = server.pop3(*ALICE)
        uids = uidl_map(p)
        assert len(uids) == 1
        assert uids[0] not in seen
        seen.add(uids[0])
        p.dele(1)
        p.quit()


def test_uidl_survives_index_rebuild(server):
    for i in range(3):
        deliver(server, msg(f"ix{i}"))
    server.deliver_cmd("alice", b"Subject: lf\n\nx\n")
    p = server.pop3(*ALICE)
    before = uidl_map(p)
    sizes = p.list()[1]
    p.retr(1)
    p.dele(2)
    p.quit()
    server.stop()
    maildir = server.maildir("alice")
    removed = 0
    for name in os.listdir(maildir):
        if name.startswith("yubin.sqlite"):
            os.unlink(maildir / name)
            removed += 1
    assert removed >= 1
    server.start()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == [before[0], before[2], before[3]]
    assert p.list()[1] == [b"1 " + sizes[0].split()[1], b"2 " + sizes[2].split()[1],
                           b"3 " + sizes[3].split()[1]]
    p.quit()


# ---------------------------------------------------------------- deletion semantics


def test_dele_quit_removes_files(server):
    for i in range(3):
        deliver(server, msg(f"q{i}"))
    assert len(maildir_files(server)) == 3
    p = server.pop3(*ALICE)
    for i in (1, 2, 3):
        p.dele(i)
    resp = p.quit()
    assert resp.startswith(b"+OK")
    assert maildir_files(server) == []
    p = server.pop3(*ALICE)
    assert p.stat() == (0, 0)
    p.quit()


def test_dele_rset_quit_keeps(server):
    for i in range(2):
        deliver(server, msg(f"k{i}"))
    files = maildir_files(server)
    p = server.pop3(*ALICE)
    p.dele(1)
    p.dele(2)
    p.rset()
    p.quit()
    p = server.pop3(*ALICE)
    assert p.stat()[0] == 2
    p.quit()
    assert len(maildir_files(server)) == len(files) == 2


def test_dele_then_dropped_connection_keeps_everything(server):
    for i in range(2):
        deliver(server, msg(f"drop{i}"))
    c = login_raw(server)
    assert command(c, b"DELE 1").startswith(b"+OK")
    assert command(c, b"DELE 2").startswith(b"+OK")
    c.close()  # no QUIT
    p = login_retry(server, *ALICE)
    assert p.stat()[0] == 2
    p.quit()
    assert len(maildir_files(server)) == 2


def test_dele_then_reset_by_peer_keeps_everything(server):
    deliver(server, msg("rst"))
    c = login_raw(server)
    assert command(c, b"DELE 1").startswith(b"+OK")
    # RST instead of FIN
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    p = login_retry(server, *ALICE)
    assert p.stat()[0] == 1
    p.quit()


def test_second_session_in_use(server):
    deliver(server, msg("lock"))
    p1 = server.pop3(*ALICE)
    p1.dele(1)
    c = server.raw()
    read_reply(c)
    assert command(c, b"USER alice") == b"+OK\r\n"
    reply = command(c, b"PASS alice-secret")
    assert reply.startswith(b"-ERR [IN-USE]"), reply
    # a different user is not affected
    p3 = server.pop3(*BOB)
    p3.quit()
    p1.quit()
    # RFC 2449 8.1.2: IN-USE is temporary: the same connection may retry
    assert command(c, b"USER alice") == b"+OK\r\n"
    reply = command(c, b"PASS alice-secret")
    assert reply == b"+OK Logged in, 0 messages (0 octets).\r\n"
    c.close()


def test_no_lock_allows_two_sessions(make_server):
    server = make_server(overrides={"pop3.lock": "no"})
    deliver(server, msg("nolock-1"))
    deliver(server, msg("nolock-2"))
    p1 = server.pop3(*ALICE)
    p2 = server.pop3(*ALICE)
    assert p1.stat()[0] == 2
    assert p2.stat()[0] == 2
    p1.dele(1)
    p1.quit()
    # p2 keeps its own snapshot: message numbers do not move under it
    assert p2.stat()[0] == 2
    _, lines, _ = p2.retr(2)
    assert b"Message-ID: <nolock-2@test>" in lines
    # the message p1 removed is gone: an error, not a crash or wrong data
    with pytest.raises(poplib.error_proto):
        p2.retr(1)
    p2.quit()
    p3 = server.pop3(*ALICE)
    assert p3.stat()[0] == 1
    p3.quit()


# ---------------------------------------------------------------- RFC 2449 policies


def test_login_delay(make_server):
    server = make_server(overrides={"pop3.login_delay": "60"})
    p = server.pop3()
    assert p.capa()["LOGIN-DELAY"] == ["60"]
    p.user("alice")
    p.pass_(ALICE[1])
    assert "LOGIN-DELAY" in p.capa()
    p.quit()
    c = server.raw()
    read_reply(c)
    command(c, b"USER alice")
    # RFC 2449 8.1.1
    assert command(c, b"PASS " + ALICE[1].encode()).startswith(b"-ERR [LOGIN-DELAY]")
    c.close()
    # per user: bob is not delayed by alice's login
    p = server.pop3(*BOB)
    p.quit()


def test_expire_zero_removes_retrieved_at_quit(make_server):
    server = make_server(overrides={"pop3.expire_days": "0"})
    for i in range(4):
        deliver(server, msg(f"exp{i}"))
    p = server.pop3(*ALICE)
    assert p.capa()["EXPIRE"] == ["0"]
    uids = uidl_map(p)
    p.retr(1)
    p.top(2, 0)
    p.quit()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == uids[2:]
    # retrieved, but the session did not end with QUIT: nothing removed
    p.retr(1)
    p.close()
    p = login_retry(server, *ALICE)
    assert uidl_map(p) == uids[2:]
    p.quit()


def test_delete_hide_keeps_files(make_server):
    server = make_server(overrides={"pop3.delete": "hide"})
    for i in range(2):
        deliver(server, msg(f"hide{i}"))
    p = server.pop3(*ALICE)
    uids = uidl_map(p)
    p.dele(1)
    p.quit()
    p = server.pop3(*ALICE)
    assert uidl_map(p) == uids[1:]
    p.quit()
    assert len(maildir_files(server)) == 2
