"""IMAP COMPRESS=DEFLATE (RFC 4978): the switch (the tagged OK is the last
uncompressed byte), SELECT/FETCH/APPEND/LOGOUT through compression, over
plain TCP, implicit TLS and STARTTLS, a second COMPRESS, commands
pipelined behind COMPRESS, large messages both ways, and hostile input
(invalid DEFLATE data, data after the client's final block, a
decompression bomb).

No stdlib client speaks COMPRESS, so the client here is a socket with
zlib's raw DEFLATE (wbits=-15) in both directions, as RFC 4978 3 says.
"""
import imaplib
import random
import re
import socket
import ssl
import time
import zlib

import pytest

from conftest import USERS

ALICE = USERS["alice"]


class ZClient:
    """A raw IMAP client that can switch on raw DEFLATE."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""  # received plain text (decompressed if on)
        self.on = False
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decomp = zlib.decompressobj(-15)
        self.wire_in = 0

    def start(self):
        """Everything after what was read so far is compressed."""
        self.on = True
        rest, self.buf = self.buf, b""
        self.buf = self.decomp.decompress(rest)

    def pack(self, data):
        return self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)

    def send(self, data):
        self.sock.sendall(self.pack(data) if self.on else data)

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; buffered {self.buf[-300:]!r}")
        self.wire_in += len(chunk)
        if self.on:
            chunk = self.decomp.decompress(chunk)
            assert self.decomp.unused_data == b"" and not self.decomp.eof
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until_tagged(self, tag):
        """Lines up to and including the tagged response of tag."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, data):
        tag = data.split(b" ", 1)[0]
        self.send(data + b"\r\n")
        return self.until_tagged(tag)

    def closed(self, timeout=5):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError):
            return True


def connect(server, tls=False):
    if tls:
        ctx = server.client_tls_context()
        raw = socket.create_connection(("127.0.0.1", server.imaps_port), timeout=10)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
    else:
        sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    c = ZClient(sock)
    greeting = c.line()
    assert greeting.startswith(b"* OK [CAPABILITY ") and b" COMPRESS=DEFLATE" in greeting
    return c


def login(c, user=b"alice", password=ALICE.encode()):
    assert c.cmd(b'a1 LOGIN ' + user + b' "' + password + b'"')[-1].startswith(b"a1 OK")


def compress(c, tag=b"z1"):
    """COMPRESS DEFLATE; the OK must arrive uncompressed, byte for byte."""
    c.send(tag + b" COMPRESS DEFLATE\r\n")
    assert c.line() == tag + b" OK DEFLATE active\r\n"
    c.start()


def message(size, seed=1):
    """A message of exactly size bytes: headers, then CRLF lines of text
    that compresses like mail (words), mixed with incompressible base64."""
    rnd = random.Random(seed)
    head = (b"From: Sender <s@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: big one\r\nMessage-ID: <big%d@example.org>\r\n\r\n" % seed)
    words = [b"mail", b"server", b"compress", b"deflate", b"window", b"yubin", b"the",
             b"of", b"and", b"message"]
    body = bytearray()
    while len(head) + len(body) < size:
        if rnd.random() < 0.3:
            line = bytes(rnd.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789+/")
                         for _ in range(76))
        else:
            line = b" ".join(rnd.choice(words) for _ in range(12))
        body += line + b"\r\n"
    data = head + bytes(body)
    return data[:size - 2] + b"\r\n"


def stored(server, seq, user="alice"):
    """Message seq as an uncompressed imaplib session gets it (delivery
    adds trace headers in front of what was sent)."""
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    m.login(user, USERS[user])
    m.select("INBOX", readonly=True)
    typ, data = m.fetch(str(seq), "(BODY.PEEK[])")
    assert typ == "OK"
    m.logout()
    return data[0][1]


def read_fetch_body(c, tag, seq, expected):
    """The response to FETCH seq BODY[], checked byte for byte."""
    first = c.line()
    assert first == b"* %d FETCH (BODY[] {%d}\r\n" % (seq, len(expected)), first
    assert c.read_exact(len(expected)) == expected
    rest = c.until_tagged(tag)
    # the first BODY[] sets \Seen, which is reported with it
    assert len(rest) == 2 and re.fullmatch(rb"( FLAGS \([^)]*\))?\)\r\n", rest[0]), rest
    assert rest[1] == tag + b" OK FETCH completed.\r\n"


def fetch_body(c, tag, seq, expected):
    c.send(b"%s FETCH %d BODY[]\r\n" % (tag, seq))
    read_fetch_body(c, tag, seq, expected)


def session_select_fetch_logout(c, msg):
    assert msg.endswith(SMALL)
    lines = c.cmd(b"a3 SELECT INBOX")
    assert b"* 1 EXISTS\r\n" in lines and lines[-1].startswith(b"a3 OK [READ-WRITE]")
    fetch_body(c, b"a4", 1, msg)
    lines = c.cmd(b"a5 FETCH 1 (RFC822.SIZE FLAGS)")
    assert lines[0] == b"* 1 FETCH (RFC822.SIZE %d FLAGS (\\Seen \\Recent))\r\n" % len(msg)
    assert c.cmd(b"a6 LOGOUT") == [b"* BYE Logging out.\r\n", b"a6 OK LOGOUT completed.\r\n"]
    assert c.closed()


SMALL = (b"From: a@example.org\r\nTo: alice@example.org\r\nSubject: hi\r\n\r\n"
         b"Hello, compressed world.\r\n")


def test_capability_and_state_rules(server):
    c = connect(server)
    caps = c.cmd(b"a0 CAPABILITY")[0]
    assert b" COMPRESS=DEFLATE" in caps
    # RFC 4978 3: valid only after authentication
    assert c.cmd(b"b1 COMPRESS DEFLATE") == [b"b1 BAD Not authenticated.\r\n"]
    login(c)
    # only DEFLATE exists (RFC 4978 5); a wrong one leaves the stream plain
    assert c.cmd(b"b2 COMPRESS LZW")[0].startswith(b"b2 BAD ")
    assert c.cmd(b"b3 COMPRESS")[0].startswith(b"b3 BAD ")
    assert c.cmd(b"b4 COMPRESS DEFLATE DEFLATE")[0].startswith(b"b4 BAD ")
    assert c.cmd(b"b5 NOOP") == [b"b5 OK NOOP completed.\r\n"]
    compress(c, b"b6")
    assert c.cmd(b"b7 NOOP") == [b"b7 OK NOOP completed.\r\n"]
    # a second COMPRESS is refused, compressed like any other response
    assert c.cmd(b"b8 COMPRESS DEFLATE") == [
        b"b8 NO [COMPRESSIONACTIVE] DEFLATE is already active.\r\n"]
    assert c.cmd(b"b9 compress deflate")[0].startswith(b"b9 NO [COMPRESSIONACTIVE]")
    assert c.cmd(b"c1 NOOP") == [b"c1 OK NOOP completed.\r\n"]
    c.cmd(b"c2 LOGOUT")
    assert c.closed()


def test_select_fetch_logout_plain(server):
    server.deliver("alice", SMALL)
    msg = stored(server, 1)
    c = connect(server)
    login(c)
    compress(c)
    session_select_fetch_logout(c, msg)
    assert "event=compress service=imap user=alice" in server.log_text()


def test_select_fetch_logout_imaps(server):
    server.deliver("alice", SMALL)
    msg = stored(server, 1)
    c = connect(server, tls=True)
    login(c)
    compress(c)
    session_select_fetch_logout(c, msg)


def test_starttls_then_compress(server):
    server.deliver("alice", SMALL)
    msg = stored(server, 1)
    sock = socket.create_connection(("127.0.0.1", server.imap_port), timeout=10)
    c = ZClient(sock)
    c.line()
    assert c.cmd(b"s1 STARTTLS") == [b"s1 OK Begin TLS negotiation now.\r\n"]
    c.sock = server.client_tls_context().wrap_socket(sock, server_hostname="localhost")
    login(c)
    compress(c)
    session_select_fetch_logout(c, msg)


def test_command_pipelined_behind_compress(server):
    """RFC 4978 3 tells clients to wait for the OK; one that does not has
    sent compressed bytes behind the COMPRESS line, in the same packet.
    They must be inflated, never parsed as plain commands."""
    server.deliver("alice", SMALL)
    msg = stored(server, 1)
    c = connect(server)
    login(c)
    c.sock.sendall(b"z1 COMPRESS DEFLATE\r\n" +
                   c.pack(b"p1 NOOP\r\np2 SELECT INBOX\r\np3 FETCH 1 BODY[]\r\n"))
    assert c.line() == b"z1 OK DEFLATE active\r\n"
    c.start()
    assert c.until_tagged(b"p1") == [b"p1 OK NOOP completed.\r\n"]
    assert c.until_tagged(b"p2")[-1].startswith(b"p2 OK [READ-WRITE]")
    read_fetch_body(c, b"p3", 1, msg)
    # and the connection goes on normally
    assert c.cmd(b"p4 NOOP") == [b"p4 OK NOOP completed.\r\n"]
    c.cmd(b"p5 LOGOUT")
    assert c.closed()


def test_pipelined_behind_compress_byte_by_byte(server):
    """The compressed tail may also trickle in after the COMPRESS line."""
    c = connect(server)
    login(c)
    tail = c.pack(b"q1 NOOP\r\n")
    c.sock.sendall(b"z1 COMPRESS DEFLATE\r\n" + tail[:1])
    assert c.line() == b"z1 OK DEFLATE active\r\n"
    c.start()
    for i in range(1, len(tail)):
        c.sock.sendall(tail[i:i + 1])
    assert c.until_tagged(b"q1") == [b"q1 OK NOOP completed.\r\n"]


def test_large_fetch_through_compression(server):
    server.deliver("alice", message(1024 * 1024))
    big = stored(server, 1)
    for tls in (False, True):
        c = connect(server, tls=tls)
        login(c)
        compress(c)
        c.cmd(b"a3 SELECT INBOX")
        before = c.wire_in
        fetch_body(c, b"a4", 1, big)
        wire = c.wire_in - before
        # words compress well, base64 less: well under the plain size
        assert wire < len(big) * 0.8, wire
        c.cmd(b"a5 LOGOUT")
        assert c.closed()


def test_slow_reader_large_fetch(server):
    """Output is compressed as the socket drains, not all at once: a client
    that reads slowly still gets every byte, in order."""
    server.deliver("alice", message(2 * 1024 * 1024, seed=7))
    big = stored(server, 1)
    c = connect(server)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    login(c)
    compress(c)
    c.cmd(b"a3 SELECT INBOX")
    c.send(b"a4 FETCH 1 BODY[]\r\na5 FETCH 1 BODY[]\r\n")
    time.sleep(0.3)  # the socket fills up; the server must wait for us
    for tag in (b"a4", b"a5"):
        read_fetch_body(c, tag, 1, big)


def test_append_through_compression(server):
    """The continuation request must arrive promptly (sync-flushed), and a
    large compressed literal is taken in bounded steps."""
    c = connect(server)
    login(c)
    compress(c)
    small = SMALL
    c.send(b"a3 APPEND INBOX {%d}\r\n" % len(small))
    assert c.line().startswith(b"+ ")
    c.send(small + b"\r\n")
    assert c.until_tagged(b"a3")[-1].startswith(b"a3 OK [APPENDUID ")
    big = message(3 * 1024 * 1024, seed=3)
    c.send(b"a4 APPEND INBOX {%d+}\r\n" % len(big) + big + b"\r\n")
    assert c.until_tagged(b"a4")[-1].startswith(b"a4 OK [APPENDUID ")
    c.cmd(b"a5 SELECT INBOX")
    fetch_body(c, b"a6", 1, small)
    fetch_body(c, b"a7", 2, big)


def test_many_pipelined_commands(server):
    """20000 compressed NOOPs in one send (a few KiB on the wire, 300 KiB
    inflated): all answered, in order, through the input bound and the
    output high-water mark."""
    c = connect(server)
    login(c)
    compress(c)
    n = 20000
    c.send(b"".join(b"n%d NOOP\r\n" % i for i in range(n)))
    for i in range(n):
        assert c.line() == b"n%d OK NOOP completed.\r\n" % i
    assert c.cmd(b"x LOGOUT")[-1] == b"x OK LOGOUT completed.\r\n"


def worker_peak_rss(server):
    """The largest peak resident size (VmHWM, KiB) among the workers."""
    pid = server.proc.pid
    kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    peak = 0
    for kid in kids:
        for line in open(f"/proc/{kid}/status"):
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak


def test_decompression_bomb(make_server):
    """32 MiB of one byte compress to 32 KiB: the server inflates only as
    much as its input limit allows at a time, the IMAP line limit refuses
    the line, and the rest is skipped without being held in memory."""
    server = make_server(workers=1)
    c = connect(server)
    login(c)
    compress(c)
    before = worker_peak_rss(server)
    bomb = c.comp.compress(b"a3 NOOP " + b"x" * (32 * 1024 * 1024))
    bomb += c.comp.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 64 * 1024
    c.sock.sendall(bomb)
    assert c.line() == b"a3 BAD Line too long\r\n"
    c.send(b"\r\na4 NOOP\r\n")
    assert c.until_tagged(b"a4") == [b"a4 OK NOOP completed.\r\n"]
    grown = worker_peak_rss(server) - before
    # (AddressSanitizer keeps freed memory in quarantine: no bound to see)
    if "libasan" not in open(f"/proc/{server.proc.pid}/maps").read():
        assert grown < 2 * 1024, f"worker peak RSS grew by {grown} KiB"
    # the worker serves others as before
    other = connect(server)
    login(other)
    assert other.cmd(b"b NOOP") == [b"b OK NOOP completed.\r\n"]


@pytest.mark.parametrize("tls", [False, True])
def test_invalid_deflate_data_closes(server, tls):
    c = connect(server, tls=tls)
    login(c)
    compress(c)
    # a block of the reserved type 3 (RFC 1951 3.2.3): invalid
    c.sock.sendall(b"\xff\xff\xff\xff\x00garbage")
    assert c.closed()
    assert "event=compress_error" in server.log_text()
    other = connect(server, tls=tls)
    login(other)
    compress(other)
    assert other.cmd(b"b NOOP") == [b"b OK NOOP completed.\r\n"]
    other.cmd(b"c LOGOUT")


def test_client_ends_stream(server):
    """A client may end its stream (Z_FINISH) with its last command: that is
    answered; anything after the final block is an error."""
    c = connect(server)
    login(c)
    compress(c)
    c.sock.sendall(c.comp.compress(b"e1 NOOP\r\n") + c.comp.flush(zlib.Z_FINISH))
    assert c.until_tagged(b"e1") == [b"e1 OK NOOP completed.\r\n"]
    c.sock.sendall(b"more")
    assert c.closed()

    d = connect(server)
    login(d)
    compress(d)
    d.sock.sendall(d.comp.compress(b"e2 LOGOUT\r\n") + d.comp.flush(zlib.Z_FINISH))
    assert d.until_tagged(b"e2") == [b"* BYE Logging out.\r\n", b"e2 OK LOGOUT completed.\r\n"]
    assert d.closed()


def test_idle_through_compression(server):
    """Untagged responses that arrive while idling are flushed at once."""
    c = connect(server)
    login(c)
    compress(c)
    c.cmd(b"a3 SELECT INBOX")
    c.send(b"a4 IDLE\r\n")
    assert c.line().startswith(b"+ ")
    server.deliver("alice", SMALL)
    assert c.line() == b"* 1 EXISTS\r\n"
    c.send(b"DONE\r\n")
    assert c.until_tagged(b"a4")[-1].startswith(b"a4 OK")
