"""Hostile LMTP clients, beyond test_lmtp.py (which has the fake DATA
terminators, bare CR/LF, long command lines and dot-stuffing): NUL bytes in
commands and in DATA, a recipient address cut at a NUL, megabyte lines with
and without an end, path characters in recipient addresses. Every test
ends by checking that the server still delivers and serves mail.
"""
import os
import socket

from conftest import USERS

SENDER = "sender@example.net"


def reply(c):
    """(code, all lines) of one reply; (0, b"") if the server closed."""
    lines = b""
    while True:
        line = c.readline()
        if not line:
            return 0, lines
        lines += line
        if line[3:4] != b"-":
            return int(line[:3]), lines


def lmtp(server):
    c = server.raw(server.lmtp_port)
    assert reply(c)[0] == 220
    c.send(b"LHLO hostile.example\r\n")
    assert reply(c)[0] == 250
    return c


def cmd(c, line):
    c.send(line + b"\r\n")
    return reply(c)


def message_files(server, user):
    out = []
    for sub in ("new", "cur"):
        d = server.maildir(user) / sub
        if d.is_dir():
            out += sorted(d.iterdir())
    return out


def body_of(path):
    """A stored message without the three trace fields yubin puts first
    (Return-Path, Delivered-To, Received with its continuation lines)."""
    data = path.read_bytes()
    rest = data
    for _ in range(3):
        end = rest.index(b"\r\n") + 2
        rest = rest[end:]
        while rest[:1] in (b" ", b"\t"):
            rest = rest[rest.index(b"\r\n") + 2:]
    return rest


def all_paths(server):
    return {str(p.relative_to(server.dir)) for p in server.dir.rglob("*")}


def assert_healthy(server):
    """Delivery and POP3 still work for another client."""
    c = lmtp(server)
    assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
    assert cmd(c, b"RCPT TO:<bob>")[0] == 250
    assert cmd(c, b"DATA")[0] == 354
    c.send(b"Subject: still alive\r\n\r\nok\r\n.\r\n")
    assert reply(c)[0] == 250
    assert cmd(c, b"QUIT")[0] == 221
    c.close()
    p = server.pop3("bob", USERS["bob"])
    assert p.stat()[0] >= 1
    p.quit()


def send_ignoring_reset(c, data):
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


# ---------------------------------------------------------------- NUL bytes


def test_nul_bytes_in_data_are_stored_exactly(server):
    body = (b"Subject: nul\r\n\r\nbefore\x00after\r\n\x00\r\n"
            b"\x00.\x00\r\n.\x00\r\nend\r\n")
    c = lmtp(server)
    assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
    assert cmd(c, b"RCPT TO:<alice>")[0] == 250
    assert cmd(c, b"DATA")[0] == 354
    # ".\x00" at a line start is stuffed like any other leading dot
    c.send(body.replace(b"\r\n.\x00", b"\r\n..\x00") + b".\r\n")
    code, text = reply(c)
    assert code == 250, text
    assert cmd(c, b"NOOP")[0] == 250
    files = message_files(server, "alice")
    assert len(files) == 1
    assert body_of(files[0]) == body
    # and POP3 hands back every byte (RETR, unstuffed by poplib)
    p = server.pop3("alice", USERS["alice"])
    got = b"\r\n".join(p.retr(1)[1]) + b"\r\n"
    p.quit()
    assert got.endswith(body)
    assert_healthy(server)


NUL_COMMANDS = [
    b"MAIL FROM:<evil\x00@example.net>",
    b"MAIL FROM:<sender@example.net>\x00 SIZE=10",
    b"LHLO host\x00name",
    b"\x00MAIL FROM:<sender@example.net>",
    b"NOOP\x00",
]


def test_nul_in_command_refused(server):
    c = lmtp(server)
    for line in NUL_COMMANDS:
        code, text = cmd(c, line)
        assert 500 <= code < 600, (line, text)
        assert cmd(c, b"NOOP")[0] == 250
        # the refused MAIL did not open a transaction
        assert cmd(c, b"RCPT TO:<alice>")[0] == 503, line
    c.close()
    assert "evil" not in server.log_text()
    assert_healthy(server)


def test_recipient_cut_at_nul_is_not_delivered(server):
    """A C string cut at the NUL would read "alice": the whole line must
    be refused instead, and nothing delivered to anyone."""
    c = lmtp(server)
    for rcpt in (b"alice\x00", b"alice\x00@example.org", b"alice\x00bob",
                 b"nobody\x00alice", b"\"alice\x00\"@example.org"):
        assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
        code, text = cmd(c, b"RCPT TO:<" + rcpt + b">")
        assert 500 <= code < 600, (rcpt, text)
        assert cmd(c, b"DATA")[0] == 503, rcpt  # no valid recipient
        assert cmd(c, b"RSET")[0] == 250
    c.close()
    assert message_files(server, "alice") == []
    assert_healthy(server)


# ---------------------------------------------------------------- very long lines


def test_megabyte_command_without_end(server):
    c = lmtp(server)
    send_ignoring_reset(c, b"RCPT TO:<" + b"a" * (1 << 20))
    code, _ = reply(c)
    assert code in (0, 500), code  # refused and closed, or just closed
    assert c.closed()
    assert_healthy(server)


def test_long_arguments_within_the_line_limit(server):
    c = lmtp(server)
    for what in (b"LHLO %s", b"VRFY %s", b"MAIL FROM:<%s@example.net>", b"RCPT TO:<%s@x.org>"):
        if what.startswith(b"RCPT"):
            assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
        code, text = cmd(c, what % (b"x" * 1500))
        # over the 256-octet path limit (RFC 5321 4.5.3.1.3): refused
        if what.startswith((b"MAIL", b"RCPT")):
            assert code in (501, 553), (what, text)
        else:
            assert code in (250, 252, 501, 550, 553), (what, text)
        assert cmd(c, b"NOOP")[0] == 250
    c.close()
    assert_healthy(server)


def test_single_line_message_over_the_size_limit(make_server):
    server = make_server(overrides={"limits.max_message_size": "1M"})
    c = lmtp(server)
    assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
    assert cmd(c, b"RCPT TO:<alice>")[0] == 250
    assert cmd(c, b"DATA")[0] == 354
    # 3 MB without a single line end, then the terminator
    chunk = b"z" * 65536
    for _ in range(48):
        c.send(chunk)
    c.send(b"\r\n.\r\n")
    code, text = reply(c)
    assert code == 552, text
    assert cmd(c, b"NOOP")[0] == 250
    c.close()
    assert message_files(server, "alice") == []
    spool = server.data_dir / "tmp"
    assert not spool.is_dir() or list(spool.iterdir()) == []
    assert_healthy(server)


def test_data_dropped_midway_leaves_nothing(server):
    c = lmtp(server)
    assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
    assert cmd(c, b"RCPT TO:<alice>")[0] == 250
    assert cmd(c, b"DATA")[0] == 354
    c.send(b"Subject: cut\r\n\r\n" + b"y" * 400_000)  # past the in-memory part
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # reset
    assert_healthy(server)
    assert message_files(server, "alice") == []
    tmp = server.maildir("alice") / "tmp"
    assert not tmp.is_dir() or list(tmp.iterdir()) == []


# ---------------------------------------------------------------- path characters


HOSTILE_RCPTS = [
    b"../alice", b"..", b"alice/../bob", b"../../etc/passwd", b".alice", b"alice.",
    b"%2e%2e", b"alice%2f..", b"%u", b"*", b"\"../../etc\"@example.org",
    b"\"alice/..\"@example.org", b"\"..\"@example.org", b"\"alice\\\\bob\"@example.org",
    b"alice@..", b"alice@../../etc", b"alice@example.org/../x", b"alice+../../bob",
    b"alice+/etc", b"bob+..", b"\"/tmp/x\"",
]


def test_path_characters_in_recipients(server):
    """An address is only ever resolved to a user of the users file (RFC
    5321 address, then local part, each without the +detail): a 250 must
    mean the message is in that user's own INBOX; nothing is created
    anywhere else."""
    c = lmtp(server)
    for i, rcpt in enumerate(HOSTILE_RCPTS):
        before = all_paths(server)
        counts = {u: len(message_files(server, u)) for u in USERS}
        assert cmd(c, b"MAIL FROM:<" + SENDER.encode() + b">")[0] == 250
        code, text = cmd(c, b"RCPT TO:<" + rcpt + b">")
        assert code in (250, 501, 550, 553), (rcpt, text)
        if code == 250:
            assert cmd(c, b"DATA")[0] == 354
            c.send(b"Subject: path %d\r\n\r\nwhere am I\r\n.\r\n" % i)
            assert reply(c)[0] == 250
        else:
            assert cmd(c, b"RSET")[0] == 250
        new = sorted(all_paths(server) - before)
        got = [u for u in USERS if len(message_files(server, u)) > counts[u]]
        if code == 250:
            assert len(got) == 1, (rcpt, got)
            inbox = os.path.relpath(server.maildir(got[0]), server.dir)
            for p in new:  # the Maildir (and data/mail above it), the spool
                assert p.startswith(inbox) or inbox.startswith(p + "/") or \
                    p.startswith("data/tmp"), (rcpt, p)
        else:
            assert got == [], rcpt
            assert all(p.startswith("data/tmp") for p in new), (rcpt, new)
    c.close()
    assert_healthy(server)
