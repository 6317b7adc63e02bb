"""LMTP (RFC 2033) against a running yubin: commands, replies, delivery.

Raw sockets are used wherever the exact bytes or the number of replies
matter (smtplib.LMTP reads only one reply after DATA, RFC 2033 4.2 wants
one per recipient). Delivered messages are checked on disk (the Maildir
file, byte for byte) and over POP3.
"""
import os
import re
import shutil
import smtplib
import threading

import pytest

from conftest import USERS

SENDER = "sender@example.net"
NAME_RE = re.compile(r"^(\d+)\.M(\d+)P(\d+)\.([^,:/]+),S=(\d+),W=(\d+)$")


# ---- helpers -------------------------------------------------------------

def read_reply(c):
    """One (possibly multi-line) SMTP reply: (code, [lines without CRLF])."""
    lines = []
    while True:
        line = c.readline()
        assert line, f"connection closed, got so far: {lines}"
        assert line.endswith(b"\r\n"), f"reply line without CRLF: {line!r}"
        text = line[:-2].decode()
        assert re.match(r"^\d{3}[ -]", text) or re.match(r"^\d{3}$", text), text
        lines.append(text)
        if len(text) == 3 or text[3] == " ":
            return int(text[:3]), lines


def code(c):
    return read_reply(c)[0]


def lmtp_raw(server, lhlo=True):
    c = server.raw(server.lmtp_port)
    assert code(c) == 220
    if lhlo:
        c.send(b"LHLO client.example\r\n")
        assert code(c) == 250
    return c


def cmd(c, line):
    c.send(line.encode() + b"\r\n")
    return read_reply(c)


def new_files(server, user, folder=""):
    d = server.maildir(user) / folder / "new"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if not p.name.startswith("."))


def all_message_files(server, user):
    out = []
    for sub in ("new", "cur"):
        d = server.maildir(user) / sub
        if d.is_dir():
            out += [p for p in d.iterdir()]
    return out


def tmp_files(server, user):
    d = server.maildir(user) / "tmp"
    return list(d.iterdir()) if d.is_dir() else []


def only_message(server, user):
    files = new_files(server, user)
    assert len(files) == 1, files
    return files[0].read_bytes()


def split_trace(data):
    """(trace header lines, the rest) of a delivered file: the first three
    header fields (with their continuation lines) are ours."""
    fields = []
    rest = data
    while len(fields) < 3:
        end = rest.index(b"\r\n") + 2
        line, rest = rest[:end], rest[end:]
        if line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
        # a continuation of the third field?
        while len(fields) == 3 and rest[:1] in (b" ", b"\t"):
            end = rest.index(b"\r\n") + 2
            fields[-1] += rest[:end]
            rest = rest[end:]
    return fields, rest


def send_transaction(c, rcpts, body, sender=SENDER):
    """MAIL, RCPT..., DATA, body (already dot-stuffed, ending CRLF), ".".
    Returns the list of reply codes after the final dot (one per accepted
    recipient)."""
    assert cmd(c, f"MAIL FROM:<{sender}>")[0] == 250
    accepted = 0
    for r in rcpts:
        if cmd(c, f"RCPT TO:<{r}>")[0] == 250:
            accepted += 1
    assert cmd(c, "DATA")[0] == 354
    c.send(body + b".\r\n")
    return [read_reply(c) for _ in range(accepted)]


def pop3_messages(server, user):
    p = server.pop3(user, USERS[user])
    try:
        count, _ = p.stat()
        msgs = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(count)]
    finally:
        p.quit()
    return msgs


MSG = (b"From: sender@example.net\r\nTo: alice@example.org\r\n"
       b"Subject: hello\r\n\r\nHello, world.\r\n")


# ---- greeting and LHLO -----------------------------------------------------

def test_greeting_and_lhlo_capabilities(make_server):
    srv = make_server(overrides={"limits.max_message_size": "1M"})
    c = srv.raw(srv.lmtp_port)
    rc, lines = read_reply(c)
    assert rc == 220 and "LMTP" in lines[0] and lines[0].startswith("220 test.example")
    rc, lines = cmd(c, "LHLO client.example")
    assert rc == 250
    assert lines[0].startswith("250-test.example")
    caps = {l[4:].upper() for l in lines[1:]}
    for want in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 1048576",
                 "CHUNKING"):
        assert want in caps, (want, lines)
    assert lines[-1][3] == " " and all(l[3] == "-" for l in lines[:-1])
    assert cmd(c, "QUIT")[0] == 221
    assert c.closed()


def test_lhlo_with_smtplib(server):
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=10) as c:
        c.ehlo_or_helo_if_needed()  # smtplib.LMTP sends LHLO
        assert c.does_esmtp and c.ehlo_resp.startswith(b"test.example")
        for ext in ("pipelining", "enhancedstatuscodes", "8bitmime", "size", "chunking"):
            assert c.has_extn(ext), ext
        assert int(c.esmtp_features["size"]) == 64 * 1024 * 1024


def test_lhlo_without_host_refused(server):
    c = lmtp_raw(server, lhlo=False)
    assert cmd(c, "LHLO")[0] == 501
    assert cmd(c, "LHLO client.example")[0] == 250


@pytest.mark.parametrize("verb", ["HELO", "EHLO"])
def test_helo_ehlo_refused(server, verb):
    c = lmtp_raw(server, lhlo=False)
    rc, lines = cmd(c, f"{verb} client.example")
    assert 500 <= rc < 600, lines
    # HELO/EHLO did not open a session: MAIL still needs LHLO.
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 503
    assert cmd(c, "LHLO client.example")[0] == 250
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250


# ---- recipients and per-recipient replies ----------------------------------

def test_one_reply_per_accepted_recipient(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice@example.org>")[0] == 250
    rc, lines = cmd(c, "RCPT TO:<nobody@example.org>")
    assert rc == 550 and lines[0].startswith("550 5.1.1"), lines
    assert cmd(c, "RCPT TO:<bob@example.org>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    c.send(MSG + b".\r\n")
    r1 = read_reply(c)
    r2 = read_reply(c)
    assert r1[0] == 250 and "alice@example.org" in r1[1][0], r1
    assert r2[0] == 250 and "bob@example.org" in r2[1][0], r2
    # exactly two: the next reply is the one to NOOP
    rc, lines = cmd(c, "NOOP")
    assert rc == 250 and lines[0].startswith("250 2.0.0"), lines
    assert only_message(server, "alice").endswith(MSG)
    assert only_message(server, "bob").endswith(MSG)


@pytest.mark.parametrize("smtplib_client", [False, True])
def test_all_recipients_unknown_data_refused(server, smtplib_client):
    if smtplib_client:
        with server.lmtp() as c:
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                c.sendmail(SENDER, ["nobody@example.org", "ghost"], MSG)
        return
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<nobody@example.org>")[0] == 550
    rc, lines = cmd(c, "DATA")
    assert rc in (503, 554), lines
    # no body phase was entered: a command is a command
    assert cmd(c, "NOOP")[0] == 250


def test_plus_detail_delivered_to_base_user(server):
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice+lists@example.org"], MSG)
    assert [r[0] for r in replies] == [250]
    data = only_message(server, "alice")
    fields, rest = split_trace(data)
    assert fields[1] == b"Delivered-To: alice+lists@example.org\r\n"
    assert rest == MSG
    assert not (server.data_dir / "mail" / "alice+lists").exists()


def test_recipient_delimiter_can_be_turned_off(make_server):
    srv = make_server(overrides={"lmtp.recipient_delimiter": '""'})
    c = lmtp_raw(srv)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice+lists@example.org>")[0] == 550
    assert cmd(c, "RCPT TO:<alice@example.org>")[0] == 250


def test_domain_user(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<carol@example.org>")[0] == 250
    # carol exists only as carol@example.org: another domain is another user
    assert cmd(c, "RCPT TO:<carol@example.com>")[0] == 550
    assert cmd(c, "RCPT TO:<carol>")[0] == 550
    assert cmd(c, "DATA")[0] == 354
    c.send(MSG + b".\r\n")
    assert code(c) == 250
    assert only_message(server, "carol@example.org").endswith(MSG)
    msgs = pop3_messages(server, "carol@example.org")
    assert len(msgs) == 1 and msgs[0].endswith(MSG)


@pytest.mark.parametrize("rcpt,user", [
    ("ALICE@EXAMPLE.ORG", "alice"),
    ("Alice", "alice"),
    ("Carol@Example.ORG", "carol@example.org"),
    ("CAROL+Tag@EXAMPLE.org", "carol@example.org"),
])
def test_address_case_insensitive(server, rcpt, user):
    c = lmtp_raw(server)
    replies = send_transaction(c, [rcpt], MSG)
    assert [r[0] for r in replies] == [250], replies
    assert only_message(server, user).endswith(MSG)


def test_unqualified_and_quoted_recipient(server):
    c = lmtp_raw(server)
    replies = send_transaction(c, ["bob", '"bob"@example.org'], MSG)
    assert [r[0] for r in replies] == [250, 250]
    assert len(new_files(server, "bob")) == 2


def test_max_recipients(make_server):
    srv = make_server(overrides={"lmtp.max_recipients": "2"})
    c = lmtp_raw(srv)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "RCPT TO:<bob>")[0] == 250
    rc, lines = cmd(c, "RCPT TO:<carol@example.org>")
    assert rc == 452 and lines[0].startswith("452 4.5.3"), lines
    assert cmd(c, "DATA")[0] == 354
    c.send(MSG + b".\r\n")
    assert [code(c), code(c)] == [250, 250]
    assert cmd(c, "NOOP")[0] == 250
    assert new_files(srv, "carol@example.org") == []


def test_per_recipient_failure(server):
    # alice's Maildir exists but cannot take new files: her delivery fails
    # temporarily, bob's succeeds, each gets its own reply (RFC 2033 4.2).
    server.deliver("alice", MSG)
    tmp = server.maildir("alice") / "tmp"
    os.rmdir(tmp)
    tmp.write_bytes(b"not a directory")
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice", "bob"], MSG)
    assert replies[0][0] == 451 and replies[0][1][0].startswith("451 4."), replies
    assert "alice" in replies[0][1][0]
    assert replies[1][0] == 250 and "bob" in replies[1][1][0], replies
    assert cmd(c, "NOOP")[0] == 250
    assert len(new_files(server, "alice")) == 1  # only the first one
    assert len(new_files(server, "bob")) == 1


def test_large_message_to_two_recipients(server):
    # big enough to go through the spool file rather than memory
    line = b"0123456789abcdef" * 4 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * 50000  # about 3.3 MB
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice", "bob"], body)
    assert [r[0] for r in replies] == [250, 250]
    for user in ("alice", "bob"):
        assert split_trace(only_message(server, user))[1] == body


def test_lhlo_resets_transaction(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "LHLO again.example")[0] == 250
    assert cmd(c, "DATA")[0] == 503
    assert cmd(c, "RCPT TO:<alice>")[0] == 503


def test_line_too_long(server):
    c = lmtp_raw(server)
    c.send(b"NOOP " + b"x" * 5000 + b"\r\n")
    rc, lines = read_reply(c)
    assert rc == 500, lines
    assert c.closed()


def test_too_many_bad_commands(server):
    c = lmtp_raw(server)
    codes = []
    for _ in range(25):
        c.send(b"BOGUS\r\n")
        line = c.readline()
        if not line:
            break
        codes.append(int(line[:3]))
        if codes[-1] == 421:
            break
    assert codes[-1] == 421 and len(codes) <= 21, codes
    assert c.closed()


# ---- sequence and syntax errors ----------------------------------------------

def test_mail_without_lhlo(server):
    c = lmtp_raw(server, lhlo=False)
    rc, lines = cmd(c, f"MAIL FROM:<{SENDER}>")
    assert rc == 503 and lines[0].startswith("503 5.5.1"), lines


def test_rcpt_without_mail(server):
    c = lmtp_raw(server)
    rc, lines = cmd(c, "RCPT TO:<alice>")
    assert rc == 503 and lines[0].startswith("503 5.5.1"), lines


def test_data_without_mail(server):
    c = lmtp_raw(server)
    assert cmd(c, "DATA")[0] == 503
    assert cmd(c, "NOOP")[0] == 250


def test_nested_mail(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    rc, lines = cmd(c, "MAIL FROM:<other@example.net>")
    assert rc == 503 and lines[0].startswith("503 5.5.1"), lines
    # the first transaction is still open
    assert cmd(c, "RCPT TO:<alice>")[0] == 250


@pytest.mark.parametrize("line", [
    "MAIL FROM:sender@example.net",       # no angle brackets
    "MAIL FROM:<sender@exa mple.net>",
    "MAIL FROM:<sender@example.net",
    "MAIL TO:<sender@example.net>",
    "MAIL",
    "MAIL FROM:<sender@example.net> SIZE=abc",
])
def test_bad_mail_syntax(server, line):
    c = lmtp_raw(server)
    rc, lines = cmd(c, line)
    assert rc == 501, lines
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250


@pytest.mark.parametrize("line", [
    "RCPT TO:alice",
    "RCPT TO:<alice@>",
    "RCPT TO:<>",
    "RCPT FROM:<alice>",
    "RCPT",
])
def test_bad_rcpt_syntax(server, line):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    rc, lines = cmd(c, line)
    assert rc == 501, lines
    assert cmd(c, "RCPT TO:<alice>")[0] == 250


def test_unknown_mail_parameter(server):
    c = lmtp_raw(server)
    # RFC 5321 4.1.1.11 / 4.5.3.1: unrecognised parameter -> 555
    rc, lines = cmd(c, f"MAIL FROM:<{SENDER}> FOO=BAR")
    assert rc == 555, lines


def test_null_sender_accepted(server):
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice"], MSG, sender="")
    assert [r[0] for r in replies] == [250]
    fields, rest = split_trace(only_message(server, "alice"))
    assert fields[0] == b"Return-Path: <>\r\n"


def test_unknown_command_and_garbage(server):
    c = lmtp_raw(server)
    assert cmd(c, "FOOBAR")[0] == 500
    c.send(b"\x01\x02\r\n")
    assert code(c) in (500, 501)
    assert cmd(c, "NOOP")[0] == 250


def test_unknown_rcpt_parameter(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    # RFC 5321 4.1.1.11: an unrecognised RCPT parameter -> 555
    rc, lines = cmd(c, "RCPT TO:<alice> FOO=BAR")
    assert rc == 555, lines
    # the ones LMTP clients send (RFC 3461 DSN) are accepted
    assert cmd(c, "RCPT TO:<alice> NOTIFY=NEVER ORCPT=rfc822;alice@example.org")[0] == 250


def test_binarymime_needs_bdat(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}> BODY=BINARYMIME")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    # RFC 3030 3: DATA after BODY=BINARYMIME MUST get 503
    rc, lines = cmd(c, "DATA")
    assert rc == 503, lines
    assert cmd(c, "RSET")[0] == 250
    # with BDAT it works, binary bytes and all
    body = b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n" + bytes(range(256))
    assert cmd(c, f"MAIL FROM:<{SENDER}> BODY=BINARYMIME")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    bdat(c, body, last=True)
    assert code(c) == 250
    assert split_trace(only_message(server, "alice"))[1] == body


# ---- SIZE ---------------------------------------------------------------------

def test_size_parameter_over_limit(make_server):
    srv = make_server(overrides={"limits.max_message_size": "1M"})
    c = lmtp_raw(srv)
    rc, lines = cmd(c, f"MAIL FROM:<{SENDER}> SIZE=1048577")
    assert rc == 552 and lines[0].startswith("552 5.3.4"), lines
    # no transaction was opened
    assert cmd(c, "RCPT TO:<alice>")[0] == 503
    assert cmd(c, f"MAIL FROM:<{SENDER}> SIZE=1048576")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250


def test_body_over_limit_without_size(make_server):
    srv = make_server(overrides={"limits.max_message_size": "1M"})
    c = lmtp_raw(srv)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "RCPT TO:<bob>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    line = b"x" * 998 + b"\r\n"
    body = MSG + line * 1100  # about 1.1 MB
    c.send(body + b".\r\n")
    r1, r2 = read_reply(c), read_reply(c)
    assert r1[0] == 552 and r1[1][0].startswith("552 5.3.4"), r1
    assert r2[0] == 552, r2
    assert cmd(c, "NOOP")[0] == 250
    for user in ("alice", "bob"):
        assert new_files(srv, user) == []
        assert tmp_files(srv, user) == []
    spool_dir = srv.data_dir / "tmp"
    assert not spool_dir.is_dir() or list(spool_dir.iterdir()) == []
    # the connection is still usable for a message of the right size
    replies = send_transaction(c, ["alice"], MSG)
    assert [r[0] for r in replies] == [250]


def test_body_at_limit_accepted(make_server):
    srv = make_server(overrides={"limits.max_message_size": "64k"})
    c = lmtp_raw(srv)
    body = b"Subject: x\r\n\r\n" + b"y" * (65536 - len(b"Subject: x\r\n\r\n") - 2) + b"\r\n"
    assert len(body) == 65536
    replies = send_transaction(c, ["alice"], body)
    assert [r[0] for r in replies] == [250], replies
    fields, rest = split_trace(only_message(srv, "alice"))
    assert rest == body


# ---- RSET, NOOP, VRFY, QUIT ------------------------------------------------------

def test_rset(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    rc, lines = cmd(c, "RSET")
    assert rc == 250 and lines[0].startswith("250 2.0.0"), lines
    assert cmd(c, "RCPT TO:<alice>")[0] == 503
    assert cmd(c, "DATA")[0] == 503
    # a new transaction after RSET works, LHLO is still in effect
    replies = send_transaction(c, ["bob"], MSG)
    assert [r[0] for r in replies] == [250]
    assert new_files(server, "alice") == []


def test_noop_vrfy_quit(server):
    c = lmtp_raw(server)
    rc, lines = cmd(c, "NOOP")
    assert rc == 250 and lines[0].startswith("250 2.0.0")
    rc, lines = cmd(c, "VRFY alice")
    assert rc in (250, 251, 252), lines
    rc, lines = cmd(c, "QUIT")
    assert rc == 221 and lines[0].startswith("221 2.0.0"), lines
    assert c.closed()


def test_quit_mid_transaction_delivers_nothing(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "QUIT")[0] == 221
    assert c.closed()
    assert new_files(server, "alice") == []


def test_disconnect_mid_data_delivers_nothing(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    c.send(MSG)
    c.close()
    # the server is alive and a later delivery works
    c2 = lmtp_raw(server)
    assert [r[0] for r in send_transaction(c2, ["bob"], MSG)] == [250]
    assert new_files(server, "alice") == []


# ---- pipelining ---------------------------------------------------------------

def test_pipelined_transaction_in_one_write(server):
    c = server.raw(server.lmtp_port)
    c.send(b"LHLO client.example\r\n"
           b"MAIL FROM:<sender@example.net>\r\n"
           b"RCPT TO:<alice@example.org>\r\n"
           b"RCPT TO:<bob@example.org>\r\n"
           b"DATA\r\n" + MSG + b".\r\n"
           b"QUIT\r\n")
    codes = [code(c) for _ in range(8)]
    assert codes == [220, 250, 250, 250, 250, 354, 250, 250], codes
    assert code(c) == 221
    assert c.closed()
    assert split_trace(only_message(server, "alice"))[1] == MSG
    assert split_trace(only_message(server, "bob"))[1] == MSG


def test_pipelined_two_transactions(server):
    c = lmtp_raw(server)
    one = (b"MAIL FROM:<sender@example.net>\r\nRCPT TO:<alice>\r\n"
           b"RCPT TO:<nobody>\r\nDATA\r\n" + MSG + b".\r\n")
    c.send(one + one.replace(b"alice", b"bob") + b"QUIT\r\n")
    codes = [code(c) for _ in range(11)]
    assert codes == [250, 250, 550, 354, 250] * 2 + [221], codes
    assert len(new_files(server, "alice")) == 1
    assert len(new_files(server, "bob")) == 1


# ---- DATA: dot-stuffing and smuggling ---------------------------------------------

def test_dot_unstuffing(server):
    c = lmtp_raw(server)
    body = (b"Subject: dots\r\n\r\n"
            b"..x\r\n"
            b"..\r\n"
            b"...three\r\n"
            b"a.b\r\n")
    replies = send_transaction(c, ["alice"], body)
    assert [r[0] for r in replies] == [250]
    fields, rest = split_trace(only_message(server, "alice"))
    assert rest == (b"Subject: dots\r\n\r\n.x\r\n.\r\n..three\r\na.b\r\n")
    # and POP3 stuffs them again on the way out; poplib unstuffs
    msg = pop3_messages(server, "alice")[0]
    assert msg.endswith(b"\r\n.x\r\n.\r\n..three\r\na.b\r\n")


SMUGGLED = b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" \
           b"Subject: smuggled\r\n\r\nowned\r\n"


@pytest.mark.parametrize("fake_end,stored_as", [
    (b"\n.\n", b"\n.\n"),
    (b"\r.\n", b"\r.\n"),
    (b"\n.\r\n", b"\n.\r\n"),
    (b"\r\n.\n", b"\r\n.\n"),
    (b"\r.\r", b"\r.\r"),
    (b"\n.\r", b"\n.\r"),
    (b"\r\n.\r", b"\r\n.\r"),
], ids=["LF.LF", "CR.LF", "LF.CRLF", "CRLF.LF", "CR.CR", "LF.CR", "CRLF.CR"])
def test_smuggling_fake_terminators(server, fake_end, stored_as):
    c = lmtp_raw(server)
    body = b"Subject: s\r\n\r\nbefore" + fake_end + SMUGGLED + b"after\r\n"
    replies = send_transaction(c, ["alice"], body)
    assert [r[0] for r in replies] == [250], replies
    # nothing more: the smuggled commands were never executed
    rc, lines = cmd(c, "NOOP")
    assert rc == 250 and lines[0].startswith("250 2.0.0"), lines
    fields, rest = split_trace(only_message(server, "alice"))
    assert rest == b"Subject: s\r\n\r\nbefore" + stored_as + SMUGGLED + b"after\r\n"
    assert new_files(server, "bob") == []
    assert "from=evil@attacker.example" not in server.log_text()


@pytest.mark.parametrize("bare", [b"\r", b"\n"], ids=["CR", "LF"])
def test_bare_cr_lf_do_not_end_lines(server, bare):
    c = lmtp_raw(server)
    body = b"Subject: b\r\n\r\nline1" + bare + b"." + bare + b"." + bare + SMUGGLED
    replies = send_transaction(c, ["alice"], body)
    assert [r[0] for r in replies] == [250]
    assert cmd(c, "NOOP")[0] == 250
    fields, rest = split_trace(only_message(server, "alice"))
    assert rest == body
    assert new_files(server, "bob") == []
    # retrievable as one message over POP3, with the smuggled text inside
    msgs = pop3_messages(server, "alice")
    assert len(msgs) == 1 and b"MAIL FROM:<evil@attacker.example>" in msgs[0]


def test_dot_stuffing_across_large_reads(server):
    """Many stuffed lines at every offset of a 2 MB body, so the held-back
    line-start states cross the server's read chunks."""
    import random
    rnd = random.Random(1939)
    lines = []
    total = 0
    while total < 2 * 1024 * 1024:
        n = rnd.choice([0, 1, 2, 3, 70, 500, 4000, 20000])
        text = bytes(rnd.choice(b"abc.") for _ in range(min(n, 64))) * max(1, n // 64)
        if rnd.random() < 0.4:
            text = b"." + text
        lines.append(text)
        total += len(text) + 2
    original = b"Subject: dots\r\n\r\n" + b"".join(l + b"\r\n" for l in lines)
    stuffed = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                       for l in original.split(b"\r\n")[:-1])
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice"], stuffed)
    assert [r[0] for r in replies] == [250]
    assert split_trace(only_message(server, "alice"))[1] == original


def test_long_line_in_data(server):
    c = lmtp_raw(server)
    body = b"Subject: long\r\n\r\n" + b"L" * 300000 + b"\r\nend\r\n"
    replies = send_transaction(c, ["alice"], body)
    assert [r[0] for r in replies] == [250]
    assert split_trace(only_message(server, "alice"))[1] == body


def test_terminator_split_across_writes(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    data = MSG + b"..dot\r\n.\r\n"
    for i in range(len(data)):  # byte by byte
        c.send(data[i:i + 1])
    assert code(c) == 250
    fields, rest = split_trace(only_message(server, "alice"))
    assert rest == MSG + b".dot\r\n"


def test_empty_body(server):
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice"], b"")
    assert [r[0] for r in replies] == [250]
    data = only_message(server, "alice")
    # LMTP carries CRLF lines (store.h: "LMTP: CRLF"); our trace headers are
    # the whole message here and must use CRLF too.
    assert data.startswith(b"Return-Path: <sender@example.net>\r\nDelivered-To: alice\r\n"), \
        data
    fields, rest = split_trace(data)
    assert rest == b""


def test_8bit_body_kept(server):
    c = lmtp_raw(server)
    body = "Subject: =?utf-8?q?x?=\r\n\r\nGrüße, 郵便\r\n".encode() + bytes(range(0x80, 0x100)) \
        + b"\r\n"
    assert cmd(c, f"MAIL FROM:<{SENDER}> BODY=8BITMIME")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    c.send(body + b".\r\n")
    assert code(c) == 250
    assert split_trace(only_message(server, "alice"))[1] == body


# ---- BDAT (RFC 3030) -------------------------------------------------------------

def bdat(c, data, last=False):
    c.send(b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data)


def test_bdat_chunks(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "RCPT TO:<bob>")[0] == 250
    # chunks are binary: no dot handling, a CRLF.CRLF inside is content
    parts = [b"Subject: chunked\r\n\r\nfirst\r\n.\r\n",
             b"..second\r\nQUIT\r\n",
             b"third, no final newline"]
    bdat(c, parts[0])
    rc, lines = read_reply(c)
    assert rc == 250, lines
    bdat(c, parts[1])
    assert code(c) == 250
    bdat(c, parts[2], last=True)
    assert [code(c), code(c)] == [250, 250]
    assert cmd(c, "NOOP")[0] == 250
    whole = b"".join(parts)
    for user in ("alice", "bob"):
        data = only_message(server, user)
        assert data.endswith(whole)
        assert data.startswith(b"Return-Path: <sender@example.net>\r\n")


def test_bdat_zero_last(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    bdat(c, MSG)
    assert code(c) == 250
    bdat(c, b"", last=True)
    assert code(c) == 250
    assert split_trace(only_message(server, "alice"))[1] == MSG


def test_bdat_pipelined_with_quit(server):
    c = lmtp_raw(server)
    c.send(b"MAIL FROM:<sender@example.net>\r\nRCPT TO:<alice>\r\n"
           + b"BDAT %d LAST\r\n" % len(MSG) + MSG + b"QUIT\r\n")
    assert [code(c) for _ in range(4)] == [250, 250, 250, 221]
    assert split_trace(only_message(server, "alice"))[1] == MSG


@pytest.mark.parametrize("with_mail", [False, True])
def test_bdat_without_rcpt_consumes_chunk(server, with_mail):
    c = lmtp_raw(server)
    if with_mail:
        assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    # the chunk looks like commands; it must be swallowed, not executed
    chunk = b"QUIT\r\nRSET\r\n"
    bdat(c, chunk)
    rc, lines = read_reply(c)
    assert 500 <= rc < 600, lines
    rc, lines = cmd(c, "NOOP")
    assert rc == 250 and lines[0].startswith("250 2.0.0"), lines
    # still in sync and able to deliver
    c.send(b"RSET\r\n")
    assert code(c) == 250
    replies = send_transaction(c, ["alice"], MSG)
    assert [r[0] for r in replies] == [250]


def test_data_after_bdat_refused(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    bdat(c, b"Subject: x\r\n")
    assert code(c) == 250
    assert cmd(c, "DATA")[0] == 503


def test_bdat_bad_syntax(server):
    c = lmtp_raw(server)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "BDAT")[0] == 501
    assert cmd(c, "BDAT x LAST")[0] == 501
    assert cmd(c, "BDAT 0")[0] == 250  # an empty chunk is fine
    assert cmd(c, "BDAT -1")[0] == 501
    assert cmd(c, "BDAT 99999999999999999999999 LAST")[0] == 501
    assert cmd(c, "BDAT 5 NOTLAST")[0] == 501
    assert cmd(c, "NOOP")[0] == 250


def test_bdat_over_limit(make_server):
    srv = make_server(overrides={"limits.max_message_size": "64k"})
    c = lmtp_raw(srv)
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    big = b"z" * 70000
    bdat(c, big, last=True)
    rc, lines = read_reply(c)
    assert rc == 552, lines
    assert cmd(c, "NOOP")[0] == 250
    assert new_files(srv, "alice") == []


# ---- the delivered file ------------------------------------------------------------

def test_trace_headers_first(server):
    c = lmtp_raw(server)
    replies = send_transaction(c, ["alice@example.org"], MSG)
    assert [r[0] for r in replies] == [250]
    fields, rest = split_trace(only_message(server, "alice"))
    assert fields[0] == b"Return-Path: <sender@example.net>\r\n"
    assert fields[1] == b"Delivered-To: alice@example.org\r\n"
    assert fields[2].startswith(b"Received: from client.example ([127.0.0.1])")
    assert b"by test.example" in fields[2]
    assert b"for <alice@example.org>" in fields[2]
    assert re.search(rb"; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n$",
                     fields[2]), fields[2]
    assert rest == MSG


def crlf_size(data):
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def test_durable_file_name(server):
    c = lmtp_raw(server)
    # a bare LF makes the CRLF size differ from the disk size
    body = b"Subject: sizes\r\n\r\nbare\nlf\nlines\r\n"
    assert cmd(c, f"MAIL FROM:<{SENDER}>")[0] == 250
    assert cmd(c, "RCPT TO:<alice>")[0] == 250
    assert cmd(c, "DATA")[0] == 354
    c.send(body + b".\r\n")
    assert code(c) == 250
    # right after the 250: the file is in new/, nothing left in tmp/
    files = new_files(server, "alice")
    assert len(files) == 1
    assert tmp_files(server, "alice") == []
    m = NAME_RE.match(files[0].name)
    assert m, files[0].name
    assert m.group(4) == "test.example"
    data = files[0].read_bytes()
    assert int(m.group(5)) == len(data) == files[0].stat().st_size
    assert int(m.group(6)) == crlf_size(data)
    assert int(m.group(6)) != int(m.group(5))
    assert 0 <= int(m.group(2)) < 1000000
    # POP3 reports the CRLF size
    p = server.pop3("alice", USERS["alice"])
    assert p.stat() == (1, crlf_size(data))
    p.quit()


def test_pop3_sees_lmtp_delivery(server):
    server.deliver("alice", MSG)
    msgs = pop3_messages(server, "alice")
    assert len(msgs) == 1
    assert msgs[0].startswith(b"Return-Path: <sender@example.org>\r\n")
    assert msgs[0].endswith(MSG)


# ---- load ------------------------------------------------------------------------------

def test_concurrent_clients(server):
    errors = []

    def client(n):
        try:
            with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=30) as c:
                for i in range(10):
                    msg = (f"From: c{n}@example.net\r\nMessage-ID: <{n}.{i}@t>\r\n"
                           f"Subject: {n}/{i}\r\n\r\nbody {n} {i}\r\n").encode()
                    refused = c.sendmail(f"c{n}@example.net", ["alice"], msg)
                    assert refused == {}
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    files = new_files(server, "alice")
    assert len(files) == 200
    names = [f.name for f in files]
    assert len(set(names)) == 200
    assert all(NAME_RE.match(n) for n in names)
    ids = set()
    for f in files:
        m = re.search(rb"Message-ID: <(\d+\.\d+)@t>", f.read_bytes())
        ids.add(m.group(1))
    assert len(ids) == 200
    p = server.pop3("alice", USERS["alice"])
    count, size = p.stat()
    assert count == 200
    assert size == sum(crlf_size(f.read_bytes()) for f in files)
    uidls = [l.split()[1] for l in p.uidl()[1]]
    assert len(set(uidls)) == 200
    p.quit()


def test_concurrent_first_deliveries_to_new_users(make_server):
    """Many first deliveries at once to users without a Maildir yet: each
    creates the Maildir while the others may already be writing into it.
    None may fail (a half-created Maildir must not give 451)."""
    users = {f"u{i}": "pw" for i in range(20)}
    srv = make_server(users=users)
    failures = []
    for rnd in range(25):
        shutil.rmtree(srv.data_dir / "mail", ignore_errors=True)
        conns = []
        for _ in range(4):
            for user in users:
                c = srv.raw(srv.lmtp_port)
                c.send(b"LHLO x\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                       b"Subject: first\r\n\r\nfirst\r\n" % user.encode())
                conns.append((user, c))
        for _, c in conns:
            line = b""
            while not line.startswith(b"354"):
                line = c.readline()
                assert line, "connection closed"
        for _, c in conns:
            c.send(b".\r\n")
        for user, c in conns:
            line = c.readline()
            if not line.startswith(b"250 "):
                failures.append((rnd, user, line))
            c.close()
    assert failures == [], failures[:5]
    for user in users:
        assert len(new_files(srv, user)) == 4
