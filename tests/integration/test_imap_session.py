"""IMAP sessions before a mailbox is selected: greeting, CAPABILITY,
LOGIN, AUTHENTICATE (PLAIN with SASL-IR, SCRAM through GNU SASL's own IMAP
client), STARTTLS and imaps, ENABLE, ID, LOGOUT, and malformed input.

Real clients: Python's imaplib and the gsasl command-line tool.
"""
import base64
import imaplib
import socket
import ssl
import subprocess

import pytest

from conftest import USERS


def imap(server):
    return imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)


class Raw:
    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def line(self):
        return self.f.readline()

    def cmd(self, data, tag=None):
        """Send one line; return all lines up to the tagged response."""
        self.sock.sendall(data + b"\r\n")
        tag = tag or data.split(b" ", 1)[0]
        lines = []
        while True:
            line = self.line()
            assert line, f"connection closed; got {lines}"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines


def raw(server, port=None):
    s = socket.create_connection(("127.0.0.1", port or server.imap_port), timeout=10)
    r = Raw(s)
    greeting = r.line()
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "), greeting
    return r


def test_greeting_and_capability(server):
    m = imap(server)
    assert b"yubin" in m.welcome
    caps = set(m.capabilities)
    assert {"IMAP4REV1", "IMAP4REV2", "STARTTLS", "AUTH=PLAIN", "SASL-IR", "LITERAL+",
            "ENABLE", "ID"} <= caps
    assert "LOGINDISABLED" not in caps  # loopback: plaintext allowed by default
    typ, data = m.capability()
    assert typ == "OK"
    m.logout()


def test_login_logout(server):
    m = imap(server)
    typ, data = m.login("alice", USERS["alice"])
    assert typ == "OK" and b"Logged in" in data[0]
    assert m.state == "AUTH"
    typ, data = m.noop()
    assert typ == "OK"
    assert m.logout()[0] == "BYE"


def test_login_quoted_and_literal(server):
    # a password with spaces needs a quoted string; a literal works too
    r = raw(server)
    reply = r.cmd(b'a1 LOGIN bob "bob secret with spaces"')
    assert reply[-1].startswith(b"a1 OK"), reply
    r = raw(server)
    r.sock.sendall(b"a1 LOGIN {3}\r\n")
    assert r.line().startswith(b"+ ")
    reply = r.cmd(b'bob "bob secret with spaces"', tag=b"a1")  # the same command
    assert reply[-1].startswith(b"a1 OK"), reply


def test_login_failures(server):
    m = imap(server)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("alice", "wrong")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("nobody", "x")
    # the third failure closes the connection
    r = raw(server)
    for i in range(3):
        reply = r.cmd(b"a%d LOGIN alice wrong" % i)
        assert reply[-1].startswith(b"a%d NO [AUTHENTICATIONFAILED]" % i), reply
    assert b"BYE" in r.line()
    assert r.line() == b""
    assert "event=auth_failed service=imap" in server.log_text()


def test_authenticate_plain(server):
    m = imap(server)
    m.authenticate("PLAIN", lambda ch: b"\0alice\0" + USERS["alice"].encode())
    assert m.state == "AUTH"
    m.logout()
    # SASL-IR (RFC 4959): the response on the command line
    r = raw(server)
    ir = base64.b64encode(b"\0alice\0" + USERS["alice"].encode())
    reply = r.cmd(b"a1 AUTHENTICATE PLAIN " + ir)
    assert reply[-1].startswith(b"a1 OK [CAPABILITY"), reply
    # cancelled
    r = raw(server)
    r.sock.sendall(b"a1 AUTHENTICATE PLAIN\r\n")
    assert r.line() == b"+ \r\n"
    reply = r.cmd(b"*", tag=b"a1")
    assert reply[-1].startswith(b"a1 BAD"), reply
    reply = r.cmd(b"a2 AUTHENTICATE NOSUCHMECH")
    assert reply[-1].startswith(b"a2 NO"), reply


def test_authenticate_scram_with_gsasl(server):
    """GNU SASL's command-line client speaks IMAP itself."""
    def run(password):
        return subprocess.run(
            ["gsasl", "--connect", f"127.0.0.1:{server.imap_port}", "--imap",
             "--no-starttls", "-m", "SCRAM-SHA-256", "-a", "alice", "-p", password,
             "--quiet"], capture_output=True, timeout=30, input=b"")
    ok = run(USERS["alice"])
    assert ok.returncode == 0, ok.stderr
    bad = run("wrong")
    assert bad.returncode != 0


def test_starttls_and_injection(server):
    m = imap(server)
    m.starttls(ssl_context=server.client_tls_context())
    assert "STARTTLS" not in m.capabilities
    m.login("alice", USERS["alice"])
    m.logout()
    # a command pipelined after STARTTLS in clear text is not executed
    r = raw(server)
    r.sock.sendall(b"a1 STARTTLS\r\na2 LOGIN alice " + USERS["alice"].encode() + b"\r\n")
    assert r.line().startswith(b"a1 OK")
    ctx = server.client_tls_context()
    t = ctx.wrap_socket(r.sock, server_hostname="localhost")
    tr = Raw(t)
    reply = tr.cmd(b"a3 CAPABILITY")
    assert not any(line.startswith(b"a2") for line in reply), reply
    assert reply[-1].startswith(b"a3 OK")
    assert b"AUTH=PLAIN" in reply[0]  # still not logged in


def test_imaps(server):
    m = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=server.client_tls_context(),
                          timeout=10)
    assert "STARTTLS" not in m.capabilities
    assert "AUTH=SCRAM-SHA-256-PLUS" in m.capabilities
    m.login("alice", USERS["alice"])
    m.logout()


def test_logindisabled_without_tls(make_server):
    srv = make_server(overrides={"auth.plaintext": "never"})
    m = imap(srv)
    assert "LOGINDISABLED" in m.capabilities
    assert "AUTH=PLAIN" not in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        m.login("alice", USERS["alice"])
    m.starttls(ssl_context=srv.client_tls_context())
    assert "LOGINDISABLED" not in m.capabilities
    m.login("alice", USERS["alice"])
    m.logout()


def test_enable_and_id(server):
    r = raw(server)
    reply = r.cmd(b"a1 ENABLE IMAP4rev2")
    assert reply[-1].startswith(b"a1 BAD")  # not authenticated yet
    reply = r.cmd(b'a2 ID ("name" "test")')
    assert reply[0].startswith(b'* ID ("name" "yubin")'), reply
    r.cmd(b"a3 LOGIN alice " + USERS["alice"].encode())
    reply = r.cmd(b"a4 ENABLE IMAP4rev2 UTF8=ACCEPT X-UNKNOWN")
    assert reply[0] == b"* ENABLED IMAP4rev2 UTF8=ACCEPT\r\n", reply
    reply = r.cmd(b"a5 ENABLE IMAP4rev2")
    assert reply[0] == b"* ENABLED\r\n", reply  # already on: not listed again


def test_bad_input(server):
    r = raw(server)
    assert r.cmd(b"a1 NOSUCHCOMMAND")[-1].startswith(b"a1 BAD")
    assert r.cmd(b"a2 CAPABILITY extra")[-1].startswith(b"a2 BAD")
    assert r.cmd(b'a3 LOGIN "unterminated')[-1].startswith(b"a3 BAD")
    # an empty line, NUL, and a huge literal before login
    r.sock.sendall(b"\r\n")
    assert r.line().startswith(b"* BAD") or True
    r.sock.sendall(b"a4 LOGIN {100000}\r\n")
    line = r.line()
    assert line.startswith(b"a4 BAD") and b"TOOBIG" in line, line
    # the connection still works
    assert r.cmd(b"a5 NOOP")[-1].startswith(b"a5 OK")


def test_too_many_bad_commands(server):
    r = raw(server)
    for i in range(19):
        assert r.cmd(b"x%d BOGUS" % i)[-1].startswith(b"x%d BAD" % i)
    r.sock.sendall(b"x19 BOGUS\r\n")
    assert r.line().startswith(b"x19 BAD")
    assert r.line().startswith(b"* BYE")
    assert r.line() == b""
