"""Shared helpers for the IMAP client, extension and hostile-input tests:
an imaplib login, a byte-level IMAP client that returns every line up to
the tagged reply, test messages (plain, multipart with attachment, base64
and quoted-printable bodies, RFC 2047 encoded headers), and server
fixtures that stop their servers in the background.
"""
import base64
import imaplib
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKERS, USERS, Server

ALICE = USERS["alice"]
# Passwords for raw(): conftest's users, and users a test adds itself.
PASSWORDS = dict(USERS)


def connect(port, timeout=10):
    """A connection, retried for a moment: conftest's Server.start()
    does not wait for the imaps listener."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def login(server, user="alice", rev2=False):
    connect(server.imap_port).close()
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    m.login(user, USERS[user])
    if rev2:
        m._simple_command("ENABLE", "IMAP4rev2")
    return m


def plain(n, subject=None, body=None, extra_headers=b""):
    subject = subject if subject is not None else b"message %d" % n
    body = body if body is not None else b"body of message %d\r\n" % n
    return (b"From: Sender <s@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: " + subject + b"\r\n"
            b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            b"Message-ID: <m%d@example.org>\r\n" % n + extra_headers + b"\r\n" + body)


def deliver(server, n, user="alice"):
    for i in range(1, n + 1):
        assert server.deliver(user, plain(i)) == {}


ATTACHMENT = bytes(range(256)) * 4  # 1024 octets, every byte value


def multipart_mixed():
    """multipart/mixed: a text part, and a base64 application/octet-stream
    attachment (the exact BODYSTRUCTURE is asserted in the tests)."""
    b64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    return (b"From: Sender <s@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: with attachment\r\n"
            b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            b"Message-ID: <mixed@example.org>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
            b"preamble\r\n"
            b"--XYZ\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            b"See the attachment.\r\n\r\n"
            b"--XYZ\r\n"
            b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
            + b64 +
            b"--XYZ--\r\n"), b64


class Raw:
    """A byte-level IMAP client: send lines, read to the tagged reply."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def line(self):
        return self.f.readline()

    def send(self, data):
        self.sock.sendall(data)

    def response(self):
        """One response line, with the octets of any literals in it."""
        line = self.line()
        while True:
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if not m:
                return line
            line += self.f.read(int(m.group(1)))
            more = self.line()
            if not more:
                return line
            line += more

    def read_until_tag(self, tag):
        lines = []
        while True:
            line = self.response()
            assert line, f"connection closed; got {lines}"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def cmd(self, data, tag=None):
        """Send one command line; return all lines up to the tagged reply."""
        self.send(data + b"\r\n")
        tag = tag or data.split(b" ", 1)[0]
        return self.read_until_tag(tag)

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


def raw(server, user=None, port=None, timeout=10, tls=False):
    s = connect(port or server.imap_port, timeout)
    if tls:
        s = server.client_tls_context().wrap_socket(s, server_hostname="localhost")
    r = Raw(s)
    greeting = r.line()
    assert greeting.startswith(b"* OK "), greeting
    if user is not None:
        reply = r.cmd(b'L0 LOGIN "%s" "%s"' % (user.encode(), PASSWORDS[user].encode()))
        assert reply[-1].startswith(b"L0 OK"), reply
    return r


def untagged(lines, word):
    """The untagged lines whose first word after '* ' (or after '* n ') is
    word."""
    out = []
    for line in lines:
        parts = line.split(b" ", 3)
        if len(parts) >= 2 and parts[0] == b"*":
            if parts[1].upper() == word or (len(parts) >= 3 and parts[2].upper() == word):
                out.append(line)
    return out


# ---------------------------------------------------------------- fixtures


class Reaper:
    """Servers of finished tests, stopped in the background: conftest's
    fixture waits for each server to stop (~0.2 s a test). Here SIGTERM is
    sent at the end of the test and the exit status and sanitizer reports
    are checked when the module ends (naming the test), so that a module
    of short tests does not spend most of its time in teardown."""

    def __init__(self):
        self.pending = []

    def stop_later(self, srv, nodeid):
        if srv.proc is not None:
            srv.proc.send_signal(signal.SIGTERM)
        self.pending.append((srv, nodeid))

    def finish(self):
        errors = []
        for srv, nodeid in self.pending:
            if srv.proc is not None:
                try:
                    rc = srv.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    srv.proc.kill()
                    srv.proc.wait()
                    rc = "no exit on SIGTERM"
                srv.proc = None
                srv.log.close()
                if rc != 0:
                    errors.append(f"{nodeid}: server exit status {rc}: "
                                  f"{srv.log_text()[-3000:]}")
            text = srv.log_text()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    errors.append(f"{nodeid}: sanitizer report in server log:\n{text[-6000:]}")
                    break
            srv.cleanup()
        self.pending = []
        assert not errors, "\n\n".join(errors)


@pytest.fixture(scope="module")
def reaper():
    r = Reaper()
    yield r
    r.finish()


@pytest.fixture
def make_server(tls_files, reaper, request):
    """conftest's make_server, with the servers stopped by the reaper."""
    def factory(overrides=None, users=None, start=True, workers=2):
        srv = Server(tls_files, overrides, workers=workers)
        reaper.pending.append((srv, request.node.nodeid))  # cleaned up if start fails
        for name, pw in (USERS if users is None else users).items():
            srv.add_user(name, pw)
        return srv.start() if start else srv

    n = len(reaper.pending)
    yield factory
    started, reaper.pending = reaper.pending[n:], reaper.pending[:n]
    for srv, nodeid in started:
        reaper.stop_later(srv, nodeid)


@pytest.fixture
def server(make_server):
    return make_server()
