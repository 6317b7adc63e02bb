"""Smuggling on the way out: a stored message whose bytes look like the
end of a POP3 multi-line response ("\\n.\\n", a lone CR before or after a
dot, a last line "." without a line end) must not end RETR or TOP early,
or a sender could make the client read forged replies after it.

RFC 1939 3: each line of the response is terminated by CRLF, a line
starting with "." is byte-stuffed, and the response ends with ".CRLF".
yubin sends bare LFs as CRLF (DESIGN: conversion and stuffing happen on
the way out), so stuffing must be decided on the converted lines. The
whole response is compared byte for byte with what the stored file must
become, and a pipelined NOOP must be answered right after it.
"""
import re

from conftest import USERS

BODIES = [
    b"a\n.\n+OK forged\n",
    b"a\r\n.\n-ERR forged\r\n",
    b"a\n.\r\n+OK 1 2\r\n",
    b"a\r.\r\nnot a line start\r\n",
    b"a\r\n.\r\r\n.\r\n",
    b"lone dots\n.\n.\n.\n..\n.x\n",
    b"\n.\n",
    b"ends with a dot\r\n.",
    b"ends with a dot and a CR\r\n.\r",
    b"ends with a dot after LF\n.",
    b"a\r\n.\r\n+OK\r\n.\r\n",
    b"cr then lf split\r\r\n.\r\r\n",
]

# also through LMTP, where the fake terminators are stored as they came
LMTP_BODIES = [
    b"x\n.\n+OK forged\r\n",
    b"x\r.\r\nQUIT\r\n",
    b"x\r\n.\n-ERR forged\r\n",
]


def wire(stored):
    """(the message as CRLF lines, the RETR response body RFC 1939
    requires for it) for a stored file."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", stored)
    if not out.endswith(b"\r\n"):
        out += b"\n" if out.endswith(b"\r") else b"\r\n"
    lines = out.split(b"\r\n")[:-1]
    return out, b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                         for line in lines) + b".\r\n"


def read_exactly(c, n):
    while len(c.buf) < n:
        chunk = c.sock.recv(65536)
        assert chunk, f"closed after {len(c.buf)} of {n} bytes: {c.buf[-200:]!r}"
        c.buf += chunk
    data, c.buf = c.buf[:n], c.buf[n:]
    return data


def login(server):
    c = server.raw()
    assert c.readline().startswith(b"+OK")
    c.send(b"USER alice\r\nPASS " + USERS["alice"].encode() + b"\r\n")
    assert c.readline() == b"+OK\r\n"
    assert c.readline().startswith(b"+OK")
    return c


def stored_files(server):
    files = sorted((server.maildir("alice") / "new").iterdir(),
                   key=lambda p: (int(p.name.split(".")[0]), p.name))
    return [p.read_bytes() for p in files]


def test_retr_and_top_cannot_be_ended_early(server):
    for i, body in enumerate(BODIES):
        msg = b"Subject: smuggle %d\n\n" % i + body
        res = server.deliver_cmd("alice", msg)
        assert res.returncode == 0, res.stderr
    for i, body in enumerate(LMTP_BODIES):
        assert server.deliver("alice", b"Subject: lmtp %d\r\n\r\n" % i + body) == {}
    c = login(server)
    c.send(b"UIDL\r\n")
    assert c.readline().startswith(b"+OK")
    uidls = [line.split()[1].decode() for line in c.read_multiline()]
    by_uidl = {p.name.split(":")[0]: p.read_bytes()
               for p in (server.maildir("alice") / "new").iterdir()}
    assert len(uidls) == len(BODIES) + len(LMTP_BODIES) == len(by_uidl)
    for n, uidl in enumerate(uidls, 1):
        stored = by_uidl[uidl]
        converted, expected = wire(stored)
        c.send(b"RETR %d\r\nNOOP\r\n" % n)
        status = c.readline()
        assert status == b"+OK %d octets\r\n" % len(converted), (stored, status)
        got = read_exactly(c, len(expected) + len(b"+OK\r\n"))
        assert got == expected + b"+OK\r\n", (stored, got)
        # TOP: a prefix of the same lines, cut at a line end, same stuffing
        for lines in (0, 1, 2, 3, 100):
            c.send(b"TOP %d %d\r\nNOOP\r\n" % (n, lines))
            assert c.readline().startswith(b"+OK")
            data = c.buf
            while True:
                end = data.find(b"\r\n.\r\n")
                if data.startswith(b".\r\n"):
                    end = -2
                if end != -1 or len(data) > len(expected) + 10:
                    break
                chunk = c.sock.recv(65536)
                assert chunk
                data += chunk
            top, rest = data[:end + 5], data[end + 5:]
            while len(rest) < 5:
                rest += c.sock.recv(65536)
            assert rest[:5] == b"+OK\r\n", (stored, lines, top, rest)
            c.buf = rest[5:]
            assert expected.startswith(top[:-3]), (stored, lines, top)
            if lines == 100:
                assert top == expected, (stored, top)
    c.send(b"QUIT\r\n")
    assert c.readline().startswith(b"+OK")
    c.close()
