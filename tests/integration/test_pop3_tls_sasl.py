"""POP3 security layers: STLS and pop3s (RFC 2595, RFC 8314), the
plaintext policy, SASL (RFC 5034: PLAIN, LOGIN, SCRAM-SHA-256 and -PLUS),
APOP (RFC 1939 7), and curl as an independent client.

SCRAM is driven by the real GNU SASL client: the `gsasl` tool without a
host argument reads server challenges base64 from stdin and writes its
responses base64 to stdout; the test relays between it and the POP3
connection. For SCRAM-SHA-256-PLUS the channel binding (tls-unique over
TLS 1.2, RFC 5929) comes from Python's ssl module and is typed into
gsasl's prompt; a small SCRAM client written here (RFC 5802, RFC 7677)
covers what gsasl cannot be made to send (the "y" downgrade flag, a forged
binding).
"""
import base64
import hashlib
import hmac
import os
import poplib
import re
import socket
import ssl
import subprocess
import warnings

import pytest

from conftest import USERS

ALICE_PW = USERS["alice"]


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode())


def plain_ir(authcid, password, authzid=""):
    return b64(f"{authzid}\0{authcid}\0{password}".encode())


# ---------------------------------------------------------------- line I/O


class Line:
    """Line-oriented client over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.buf = self.buf, b""
                return line
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.readline()

    def multiline(self):
        out = []
        while (line := self.readline()) not in (b".\r\n", b""):
            out.append(line.rstrip(b"\r\n"))
        return out

    def capa(self):
        assert self.cmd(b"CAPA").startswith(b"+OK")
        return {l.split(b" ")[0].decode(): l for l in self.multiline()}

    def close(self):
        self.sock.close()


def connect(server, greeting=True):
    sock = socket.create_connection(("127.0.0.1", server.pop3_port), timeout=10)
    c = Line(sock)
    if greeting:
        assert c.readline().startswith(b"+OK")
    return c


def connect_tls(server, max_version=None):
    ctx = server.client_tls_context()
    if max_version is not None:
        ctx.maximum_version = max_version
    raw = socket.create_connection(("127.0.0.1", server.pop3s_port), timeout=10)
    c = Line(ctx.wrap_socket(raw, server_hostname="localhost"))
    assert c.readline().startswith(b"+OK")
    return c


def starttls(server, c, max_version=None):
    assert c.cmd(b"STLS").startswith(b"+OK")
    assert c.buf == b""
    ctx = server.client_tls_context()
    if max_version is not None:
        ctx.maximum_version = max_version
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
    return c


def sasl_mechs(capa):
    return capa["SASL"].split()[1:] if "SASL" in capa else []


# ---------------------------------------------------------------- STLS, pop3s


def test_stls_with_poplib(server):
    server.deliver("alice", b"Subject: tls\r\n\r\nover tls\r\n")
    p = server.pop3()
    assert "STLS" in p.capa()
    assert p.stls(server.client_tls_context()).startswith(b"+OK")
    assert isinstance(p.sock, ssl.SSLSocket)
    caps = p.capa()
    # RFC 2595 4: STLS is not offered once TLS is active
    assert "STLS" not in caps
    assert "USER" in caps
    assert "SCRAM-SHA-256-PLUS" in caps["SASL"]
    p.user("alice")
    p.pass_(ALICE_PW)
    _, lines, _ = p.retr(1)
    assert lines[-1] == b"over tls"
    p.quit()


def test_pop3s(server):
    server.deliver("alice", b"Subject: pop3s\r\n\r\nimplicit\r\n")
    p = server.pop3s()
    caps = p.capa()
    assert "STLS" not in caps
    assert "SCRAM-SHA-256-PLUS" in caps["SASL"]
    p.user("alice")
    p.pass_(ALICE_PW)
    resp, lines, octets = p.retr(1)
    assert lines[-1] == b"implicit"
    assert octets == int(p.list(1).split()[2])
    p.quit()


def test_pop3s_large_message_over_tls(server):
    # the encoder path (no sendfile under TLS) with a message needing
    # dot-stuffing and CRLF conversion
    body = b"".join(b".%06d line\n" % i for i in range(40000))
    message = b"Subject: big tls\n\n" + body
    assert server.deliver_cmd("alice", message).returncode == 0
    p = server.pop3s("alice", ALICE_PW)
    size = int(p.list(1).split()[2])
    resp, lines, octets = p.retr(1)
    assert octets == size
    got = b"".join(l + b"\r\n" for l in lines)
    assert got.endswith(body.replace(b"\n", b"\r\n"))
    p.quit()


def test_retr_same_over_tls_and_plain(server):
    # plain connections send clean files with sendfile, TLS ones through
    # the encoder: both must give the same bytes
    messages = [b"Subject: clean\r\n\r\nclean body\r\n",
                b"Subject: dots\r\n\r\n.a\r\n..b\r\n.\r\n",
                b"Subject: empty\r\n\r\n",
                b"Subject: 8bit\r\n\r\n" + bytes(range(0x80, 0x100)) + b"\r\n"]
    for m in messages:
        server.deliver("alice", m)
    assert server.deliver_cmd("alice", b"Subject: lf\n\n.x\nno newline").returncode == 0

    def fetch_all(p):
        _, listing, _ = p.list()
        out = []
        for line in listing:
            n, size = line.split()
            resp, lines, octets = p.retr(int(n))
            out.append((resp, lines, octets, int(size)))
        p.quit()
        return out

    plain = fetch_all(server.pop3("alice", ALICE_PW))
    tls = fetch_all(server.pop3s("alice", ALICE_PW))
    assert plain == tls
    assert len(plain) == 5


def test_stls_twice_refused(server):
    c = connect(server)
    starttls(server, c)
    reply = c.cmd(b"STLS")
    assert reply.startswith(b"-ERR"), reply
    # the TLS session is still fine
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    c.close()


def test_stls_on_pop3s_refused_and_after_login_refused(server):
    c = connect_tls(server)
    assert c.cmd(b"STLS").startswith(b"-ERR")
    c.close()
    c = connect(server)
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    assert c.cmd(b"STLS").startswith(b"-ERR")
    assert c.cmd(b"NOOP") == b"+OK\r\n"
    c.close()


def test_stls_forgets_user_given_before(server):
    # RFC 2595 4: after STLS the client starts over; a USER given in
    # clear text must not carry over into the TLS session
    c = connect(server)
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    starttls(server, c)
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"-ERR")
    c.close()


def test_stls_injection_is_discarded(server):
    c = connect(server)
    # STLS and a command pipelined after it in clear text, in one write
    c.send(b"STLS\r\nCAPA\r\n")
    assert c.readline().startswith(b"+OK")
    assert c.buf == b""  # nothing else came before the handshake
    ctx = server.client_tls_context()
    c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
    # RFC 2595 4 / RFC 3207 6: the injected CAPA is not run inside TLS
    c.sock.settimeout(0.5)
    with pytest.raises((socket.timeout, TimeoutError)):
        data = c.sock.recv(1000)
        raise AssertionError(f"unexpected data after handshake: {data!r}")
    c.sock.settimeout(10)
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    c.close()


def test_stls_injection_of_credentials(server):
    # A man in the middle appending USER/PASS in clear text must not get a
    # logged-in session inside TLS.
    c = connect(server)
    c.send(b"STLS\r\nUSER alice\r\nPASS " + ALICE_PW.encode() + b"\r\n")
    assert c.readline().startswith(b"+OK")
    c.sock = server.client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
    assert c.cmd(b"STAT").startswith(b"-ERR")
    c.close()


def wait_closed(sock, timeout=5):
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_tls_handshake_garbage_does_not_hurt(server):
    c = connect(server)
    assert c.cmd(b"STLS").startswith(b"+OK")
    c.send(b"this is not a TLS ClientHello\r\n" * 10)
    assert wait_closed(c.sock)  # raises socket.timeout if the server keeps it
    c.close()
    raw = socket.create_connection(("127.0.0.1", server.pop3s_port), timeout=5)
    raw.sendall(b"USER alice\r\n")
    assert wait_closed(raw)
    raw.close()
    p = server.pop3s("alice", ALICE_PW)
    p.quit()
    p = server.pop3()
    p.stls(server.client_tls_context())
    p.quit()


def test_without_tls_configured(make_server):
    server = make_server(overrides={"tls.cert": "", "tls.key": "", "listen.pop3s": "",
                                    "listen.imaps": ""})
    c = connect(server)
    capa = c.capa()
    assert "STLS" not in capa
    assert b"SCRAM-SHA-256-PLUS" not in sasl_mechs(capa)
    assert c.cmd(b"STLS").startswith(b"-ERR")
    # the connection is still a plain POP3 session
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    c.close()


def test_tls_min_version_13(make_server):
    server = make_server(overrides={"tls.min_version": "TLSv1.3"})
    with pytest.raises(ssl.SSLError):
        connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    c = connect_tls(server)
    assert c.sock.version() == "TLSv1.3"
    # tls-unique does not exist for TLS 1.3: -PLUS must then rely on
    # tls-exporter (RFC 9266); still advertised
    assert b"SCRAM-SHA-256-PLUS" in sasl_mechs(c.capa())
    c.close()


def test_tls_12_default_allowed(server):
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    assert c.sock.version() == "TLSv1.2"
    c.close()
    ctx = server.client_tls_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    raw = socket.create_connection(("127.0.0.1", server.pop3s_port), timeout=5)
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        ctx.wrap_socket(raw, server_hostname="localhost")
    raw.close()


def test_mechanisms_setting(make_server):
    server = make_server(overrides={"auth.mechanisms": "PLAIN"})
    c = connect(server)
    assert sasl_mechs(c.capa()) == [b"PLAIN"]
    assert c.cmd(b"AUTH SCRAM-SHA-256").startswith(b"-ERR")
    assert c.cmd(b"AUTH LOGIN").startswith(b"-ERR")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


# ---------------------------------------------------------------- plaintext policy


def test_plaintext_never(make_server):
    server = make_server(overrides={"auth.plaintext": "never"})
    c = connect(server)
    capa = c.capa()
    assert "USER" not in capa
    mechs = sasl_mechs(capa)
    assert b"PLAIN" not in mechs and b"LOGIN" not in mechs
    assert b"SCRAM-SHA-256" in mechs
    assert "STLS" in capa
    # RFC 3206 4: [AUTH]
    assert c.cmd(b"USER alice").startswith(b"-ERR [AUTH]")
    reply = c.cmd(b"PASS " + ALICE_PW.encode())
    assert reply.startswith(b"-ERR")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"-ERR [AUTH]")
    assert c.cmd(b"AUTH LOGIN").startswith(b"-ERR [AUTH]")
    # AUTH without argument does not list what cannot be used either
    assert c.cmd(b"AUTH").startswith(b"+OK")
    listed = c.multiline()
    assert b"PLAIN" not in listed and b"LOGIN" not in listed
    starttls(server, c)
    capa = c.capa()
    assert "USER" in capa
    assert {b"PLAIN", b"LOGIN"} <= set(sasl_mechs(capa))
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()
    p = server.pop3s("alice", ALICE_PW)
    p.quit()


def non_loopback_ipv4():
    """An address of this machine that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def test_plaintext_default_refused_off_loopback(make_server):
    from conftest import free_port
    ip = non_loopback_ipv4()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    server = make_server(start=False)
    port = free_port()
    server.settings["listen.pop3"] = f"127.0.0.1:{server.pop3_port},{ip}:{port}"
    server.write_config()
    server.start()
    c = Line(socket.create_connection((ip, port), timeout=10))
    assert c.readline().startswith(b"+OK")
    capa = c.capa()
    assert "USER" not in capa
    assert b"PLAIN" not in sasl_mechs(capa)
    assert c.cmd(b"USER alice").startswith(b"-ERR [AUTH]")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"-ERR [AUTH]")
    # SCRAM never shows the password: allowed in clear
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256", "alice", ALICE_PW)
    assert reply.startswith(b"+OK"), reply
    c.close()
    c = Line(socket.create_connection((ip, port), timeout=10))
    c.readline()
    starttls(server, c)
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    c.close()


def test_plaintext_default_allows_loopback(server):
    c = connect(server)
    capa = c.capa()
    assert "USER" in capa
    assert {b"PLAIN", b"LOGIN"} <= set(sasl_mechs(capa))
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    c.close()


# ---------------------------------------------------------------- SASL PLAIN / LOGIN


def test_auth_plain_initial_response(server):
    c = connect(server)
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()


def test_auth_plain_without_initial_response(server):
    c = connect(server)
    # RFC 5034 4: an empty challenge is "+" followed by a space
    assert c.cmd(b"AUTH PLAIN") == b"+ \r\n"
    assert c.cmd(plain_ir("bob", USERS["bob"])).startswith(b"+OK")
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()


def test_auth_plain_empty_initial_response(server):
    c = connect(server)
    # RFC 5034 4: "=" is an empty initial response; PLAIN then asks again
    assert c.cmd(b"AUTH PLAIN =") == b"+ \r\n"
    assert c.cmd(plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


def test_auth_plain_with_domain_user_and_authzid(server):
    c = connect(server)
    ir = plain_ir("carol@example.org", USERS["carol@example.org"], authzid="carol@example.org")
    assert c.cmd(b"AUTH PLAIN " + ir).startswith(b"+OK")
    c.close()


def test_auth_plain_authzid_other_user_refused(server):
    c = connect(server)
    reply = c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW, authzid="bob"))
    assert reply.startswith(b"-ERR [AUTH]"), reply
    assert c.cmd(b"STAT").startswith(b"-ERR")
    c.close()


def test_auth_plain_wrong_password(server):
    c = connect(server)
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", "nope")) == \
        b"-ERR [AUTH] Authentication failed.\r\n"
    assert c.cmd(b"AUTH PLAIN " + plain_ir("nobody", "nope")) == \
        b"-ERR [AUTH] Authentication failed.\r\n"
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


def login_prompt(reply):
    # draft-murchison-sasl-login: the prompts' wording is not fixed, but
    # they are base64 text and never empty
    assert reply.startswith(b"+ ") and reply.endswith(b"\r\n"), reply
    text = base64.b64decode(reply[2:-2], validate=True)
    assert text
    return text


def test_auth_login(server):
    c = connect(server)
    first = login_prompt(c.cmd(b"AUTH LOGIN"))
    assert b"user" in first.lower()
    assert b"password" in login_prompt(c.cmd(b64("bob"))).lower()
    assert c.cmd(b64(USERS["bob"])).startswith(b"+OK")
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()
    # with the user name as initial response
    c = connect(server)
    assert b"password" in login_prompt(c.cmd(b"AUTH LOGIN " + b64("alice"))).lower()
    assert c.cmd(b64(ALICE_PW)).startswith(b"+OK")
    c.close()
    # wrong password
    c = connect(server)
    login_prompt(c.cmd(b"AUTH LOGIN " + b64("alice")))
    assert c.cmd(b64("nope")) == b"-ERR [AUTH] Authentication failed.\r\n"
    c.close()


def test_auth_cancel(server):
    c = connect(server)
    assert c.cmd(b"AUTH LOGIN").startswith(b"+ ")
    assert c.cmd(b64("alice")).startswith(b"+ ")
    # RFC 5034 4: "*" cancels; the server answers -ERR
    assert c.cmd(b"*").startswith(b"-ERR")
    assert c.cmd(b"AUTH PLAIN") == b"+ \r\n"
    assert c.cmd(b"*").startswith(b"-ERR")
    # the session goes on
    assert c.cmd(b"USER alice") == b"+OK\r\n"
    assert c.cmd(b"PASS " + ALICE_PW.encode()).startswith(b"+OK")
    c.close()


@pytest.mark.parametrize("data", [b"!!!not base64!!!", b"AAA", b"YWxpY2U=garbage",
                                  b"=", b"\xff\xfe"])
def test_auth_bad_base64(server, data):
    c = connect(server)
    assert c.cmd(b"AUTH PLAIN") == b"+ \r\n"
    assert c.cmd(data).startswith(b"-ERR")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


@pytest.mark.parametrize("mech,message", [
    (b"PLAIN", b"alice"),
    (b"PLAIN", b"\0\0\0"),
    (b"PLAIN", b"\0alice\0"),
    (b"PLAIN", b"\0\0" + ALICE_PW.encode()),
    (b"PLAIN", b"\0alice\0" + ALICE_PW.encode() + b"\0extra"),
    (b"PLAIN", b"\0alice\xff\0" + ALICE_PW.encode()),
    (b"SCRAM-SHA-256", b"garbage"),
    (b"SCRAM-SHA-256", b"n,,n=alice"),
    (b"SCRAM-SHA-256", b"p=tls-unique,,n=alice,r=abcdefgh"),  # binding without TLS
    (b"SCRAM-SHA-256", b"n,,n=al=ice,r=abcdefgh"),             # bad escape (RFC 5802 5.1)
    (b"SCRAM-SHA-256", b"x,,n=alice,r=abcdefgh"),
])
def test_auth_malformed_messages(server, mech, message):
    c = connect(server)
    reply = c.cmd(b"AUTH " + mech + b" " + b64(message))
    if reply.startswith(b"+ "):
        # a mechanism may want another round before it fails; give it a
        # syntactically valid but wrong final message
        reply = c.cmd(b64(b"c=biws,r=abcdefgh,p=" + b64(b"x" * 32)))
    assert reply.startswith(b"-ERR"), reply
    assert c.cmd(b"STAT").startswith(b"-ERR")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


def test_auth_unknown_mechanism_and_listing(server):
    c = connect(server)
    for mech in (b"CRAM-MD5", b"GSSAPI", b"X-UNKNOWN", b"SCRAM-SHA-256-PLUS", b"EXTERNAL",
                 b"A" * 70):
        assert c.cmd(b"AUTH " + mech).startswith(b"-ERR"), mech
    # AUTH without an argument lists the mechanisms (the RFC 1734 habit)
    assert c.cmd(b"AUTH").startswith(b"+OK")
    listed = c.multiline()
    assert {b"PLAIN", b"LOGIN", b"SCRAM-SHA-256"} <= set(listed)
    assert b"SCRAM-SHA-256-PLUS" not in listed
    assert set(listed) == set(sasl_mechs(c.capa()))
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    c.close()


def test_auth_pipelined_continuation(server):
    # RFC 2449 6.6: a client may pipeline the SASL response after AUTH
    c = connect(server)
    c.send(b"AUTH PLAIN\r\n" + plain_ir("alice", ALICE_PW) + b"\r\nSTAT\r\nQUIT\r\n")
    assert c.readline() == b"+ \r\n"
    assert c.readline().startswith(b"+OK")
    assert c.readline() == b"+OK 0 0\r\n"
    assert c.readline().startswith(b"+OK")
    c.close()


def test_auth_mechanism_name_case(server):
    # Mechanism names are registered in upper case (RFC 4422 3.1); a client
    # that sends "plain" must get a clear answer: accepted, or refused as an
    # unsupported mechanism - not a temporary failure ([SYS/TEMP] tells it
    # to try the same again later).
    c = connect(server)
    reply = c.cmd(b"AUTH plain " + plain_ir("alice", ALICE_PW))
    assert b"[SYS/TEMP]" not in reply, reply
    assert reply.startswith(b"+OK") or reply.startswith(b"-ERR [AUTH]"), reply
    c.close()
    c = connect(server)
    reply = c.cmd(b"AUTH Scram-Sha-256")
    assert b"[SYS/TEMP]" not in reply, reply
    c.close()


def test_auth_after_login_refused(server):
    c = connect(server)
    assert c.cmd(b"AUTH PLAIN " + plain_ir("alice", ALICE_PW)).startswith(b"+OK")
    assert c.cmd(b"AUTH PLAIN " + plain_ir("bob", USERS["bob"])).startswith(b"-ERR")
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()


# ---------------------------------------------------------------- SCRAM via gsasl


class Gsasl:
    """The GNU SASL command-line client in stdin/stdout mode."""

    def __init__(self, mech, user, password, cb=None):
        args = ["gsasl", "--client", "--mechanism", mech, "--authentication-id", user,
                "--password", password, "--no-starttls"]
        if cb is None:
            args.append("--no-cb")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        if cb is not None:
            # gsasl prompts for tls-exporter first, then tls-unique
            self.proc.stdin.write(b"\n" + b64(cb) + b"\n")
            self.proc.stdin.flush()
        assert self.token() == mech.encode()

    def token(self):
        line = self.proc.stdout.readline()
        assert line.endswith(b"\n"), f"gsasl ended: {self.finish()}"
        # channel-binding prompts share the line; base64 has no spaces
        parts = line.split()
        return parts[-1] if parts else b""

    def step(self, challenge):
        self.proc.stdin.write(challenge + b"\n")
        self.proc.stdin.flush()
        return self.token()

    def finish(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=10)
        return self.proc.stderr.read().decode(errors="replace")


def scram_with_gsasl(c, mech, user, password, cb=None):
    """Run AUTH mech relaying for gsasl; returns (final reply, gsasl stderr,
    whether gsasl saw and accepted the server's final message)."""
    g = Gsasl(mech, user, password, cb)
    reply = c.cmd(b"AUTH " + mech.encode() + b" " + g.token())
    accepted = False
    while reply.startswith(b"+ "):
        challenge = reply[2:].rstrip(b"\r\n")
        final = base64.b64decode(challenge).startswith(b"v=")
        response = g.step(challenge)
        if final:
            # gsasl verified the server signature; RFC 5034 4: the client
            # answers the additional data with an empty response
            accepted = response == b""
        reply = c.cmd(response)
    return reply, g.finish(), accepted


def test_scram_sha256_with_gsasl(server):
    server.deliver("alice", b"Subject: scram\r\n\r\nx\r\n")
    c = connect(server)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256", "alice", ALICE_PW)
    assert reply.startswith(b"+OK"), (reply, err)
    assert accepted, err
    assert "error" not in err.lower(), err
    assert c.cmd(b"STAT").startswith(b"+OK 1 ")
    c.close()
    assert "mech=SCRAM-SHA-256" in server.log_text()


def test_scram_sha256_password_with_spaces(server):
    c = connect(server)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256", "bob", USERS["bob"])
    assert reply.startswith(b"+OK"), (reply, err)
    c.close()


@pytest.mark.parametrize("user,password", [("alice", "wrong"), ("nobody", "x")])
def test_scram_sha256_wrong_password(server, user, password):
    c = connect(server)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256", user, password)
    assert reply == b"-ERR [AUTH] Authentication failed.\r\n", reply
    assert not accepted
    assert c.cmd(b"STAT").startswith(b"-ERR")
    c.close()


def test_scram_plus_only_over_tls(server):
    c = connect(server)
    assert b"SCRAM-SHA-256-PLUS" not in sasl_mechs(c.capa())
    assert c.cmd(b"AUTH SCRAM-SHA-256-PLUS").startswith(b"-ERR")
    starttls(server, c)
    assert b"SCRAM-SHA-256-PLUS" in sasl_mechs(c.capa())
    c.close()
    c = connect_tls(server)
    assert b"SCRAM-SHA-256-PLUS" in sasl_mechs(c.capa())
    c.close()


def tls12_unique(c):
    cb = c.sock.get_channel_binding("tls-unique")
    assert cb, "no tls-unique"
    return cb


def test_scram_plus_with_gsasl_tls_unique(server):
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    cb = tls12_unique(c)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256-PLUS", "alice", ALICE_PW, cb=cb)
    assert reply.startswith(b"+OK"), (reply, err)
    assert accepted, err
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()


def test_scram_plus_with_gsasl_after_stls(server):
    c = connect(server)
    starttls(server, c, max_version=ssl.TLSVersion.TLSv1_2)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256-PLUS", "bob", USERS["bob"],
                                            cb=tls12_unique(c))
    assert reply.startswith(b"+OK"), (reply, err)
    c.close()


def test_scram_plus_wrong_binding_with_gsasl(server):
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    reply, err, accepted = scram_with_gsasl(c, "SCRAM-SHA-256-PLUS", "alice", ALICE_PW,
                                            cb=b"\x00" * 12)
    assert reply.startswith(b"-ERR [AUTH]"), reply
    c.close()


# ---------------------------------------------------------------- SCRAM written here


class Scram:
    """A minimal SCRAM-SHA-256 client (RFC 5802 5, RFC 7677)."""

    def __init__(self, user, password, gs2_header=b"n,,", cb_data=b""):
        self.user = user.encode()
        self.password = password.encode()
        self.gs2 = gs2_header
        self.cb_data = cb_data
        self.nonce = base64.b64encode(os.urandom(18))
        self.first_bare = b"n=" + self.user + b",r=" + self.nonce

    def client_first(self):
        return self.gs2 + self.first_bare

    def client_final(self, server_first, cb_data=None):
        attrs = dict(kv.split(b"=", 1) for kv in server_first.split(b","))
        assert attrs[b"r"].startswith(self.nonce)
        salt = base64.b64decode(attrs[b"s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, int(attrs[b"i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored = hashlib.sha256(client_key).digest()
        cbind = base64.b64encode(self.gs2 + (self.cb_data if cb_data is None else cb_data))
        without_proof = b"c=" + cbind + b",r=" + attrs[b"r"]
        auth_message = self.first_bare + b"," + server_first + b"," + without_proof
        sig = hmac.digest(stored, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        self.expected_v = base64.b64encode(hmac.digest(server_key, auth_message, "sha256"))
        return without_proof + b",p=" + base64.b64encode(proof)


def scram_exchange(c, mech, scram, cb_data=None):
    reply = c.cmd(b"AUTH " + mech + b" " + b64(scram.client_first()))
    if not reply.startswith(b"+ "):
        return reply
    server_first = base64.b64decode(reply[2:].rstrip(b"\r\n"))
    reply = c.cmd(b64(scram.client_final(server_first, cb_data)))
    if reply.startswith(b"+ "):
        final = base64.b64decode(reply[2:].rstrip(b"\r\n"))
        assert final == b"v=" + scram.expected_v, final
        reply = c.cmd(b"")
    return reply


def test_scram_python_client(server):
    c = connect(server)
    reply = scram_exchange(c, b"SCRAM-SHA-256", Scram("alice", ALICE_PW))
    assert reply.startswith(b"+OK"), reply
    c.close()


def test_scram_plus_python_client(server):
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    cb = tls12_unique(c)
    scram = Scram("alice", ALICE_PW, gs2_header=b"p=tls-unique,,", cb_data=cb)
    reply = scram_exchange(c, b"SCRAM-SHA-256-PLUS", scram)
    assert reply.startswith(b"+OK"), reply
    assert c.cmd(b"STAT") == b"+OK 0 0\r\n"
    c.close()


def test_scram_plus_python_client_wrong_binding(server):
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    cb = bytearray(tls12_unique(c))
    cb[0] ^= 1
    scram = Scram("alice", ALICE_PW, gs2_header=b"p=tls-unique,,", cb_data=bytes(cb))
    reply = scram_exchange(c, b"SCRAM-SHA-256-PLUS", scram)
    assert reply.startswith(b"-ERR [AUTH]"), reply
    c.close()


def test_scram_plus_binding_from_another_connection(server):
    # a man in the middle relaying the exchange has a different TLS session
    other = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    c = connect_tls(server, max_version=ssl.TLSVersion.TLSv1_2)
    scram = Scram("alice", ALICE_PW, gs2_header=b"p=tls-unique,,", cb_data=tls12_unique(other))
    assert scram_exchange(c, b"SCRAM-SHA-256-PLUS", scram).startswith(b"-ERR [AUTH]")
    other.close()
    c.close()


def test_scram_downgrade_flag_y_refused_over_tls(server):
    # RFC 5802 6: "y" means the client could bind but believes the server
    # cannot. Over TLS the server offers -PLUS, so this is a downgrade.
    c = connect_tls(server)
    scram = Scram("alice", ALICE_PW, gs2_header=b"y,,")
    assert scram_exchange(c, b"SCRAM-SHA-256", scram).startswith(b"-ERR")
    c.close()
    # without TLS there is no -PLUS to downgrade from: "y" is fine
    c = connect(server)
    assert scram_exchange(c, b"SCRAM-SHA-256", Scram("alice", ALICE_PW, b"y,,")) \
        .startswith(b"+OK")
    c.close()


def test_scram_final_data_must_be_answered_empty(server):
    c = connect(server)
    scram = Scram("alice", ALICE_PW)
    reply = c.cmd(b"AUTH SCRAM-SHA-256 " + b64(scram.client_first()))
    server_first = base64.b64decode(reply[2:].rstrip(b"\r\n"))
    reply = c.cmd(b64(scram.client_final(server_first)))
    assert reply.startswith(b"+ ")
    # anything but the empty response at this point is a failure
    assert c.cmd(b"Zm9v").startswith(b"-ERR")
    assert c.cmd(b"STAT").startswith(b"-ERR")
    c.close()


def test_scram_tampered_proof(server):
    c = connect(server)
    scram = Scram("alice", ALICE_PW)
    reply = c.cmd(b"AUTH SCRAM-SHA-256 " + b64(scram.client_first()))
    server_first = base64.b64decode(reply[2:].rstrip(b"\r\n"))
    final = scram.client_final(server_first)
    head, _, proof = final.rpartition(b",p=")
    bad = bytearray(base64.b64decode(proof))
    bad[-1] ^= 0x55
    assert c.cmd(b64(head + b",p=" + base64.b64encode(bytes(bad)))) == \
        b"-ERR [AUTH] Authentication failed.\r\n"
    c.close()


# ---------------------------------------------------------------- APOP


def apop_server(make_server):
    server = make_server(start=False)
    server.add_user("dave", "dave-plain-pw", scheme="PLAIN")
    return server.start()


def test_apop_login(make_server):
    server = apop_server(make_server)
    server.deliver("dave", b"Subject: apop\r\n\r\nhi\r\n")
    p = server.pop3()
    welcome = p.getwelcome()
    m = re.search(rb"<[^<>@\s]+@[^<>\s]+>", welcome)
    assert m, welcome
    assert p.apop("dave", "dave-plain-pw").startswith(b"+OK")
    assert p.stat()[0] == 1
    p.quit()
    # each greeting has its own timestamp (RFC 1939 7)
    p2 = server.pop3()
    assert p2.getwelcome() != welcome
    p2.quit()


def test_apop_wrong_digest_and_hashed_user(make_server):
    server = apop_server(make_server)
    c = connect(server, greeting=False)
    greeting = c.readline()
    ts = re.search(rb"<.*>", greeting).group(0)
    wrong = hashlib.md5(ts + b"not-the-password").hexdigest().encode()
    assert c.cmd(b"APOP dave " + wrong) == b"-ERR [AUTH] Authentication failed.\r\n"
    # alice's password is stored as a SCRAM secret: APOP cannot work
    digest = hashlib.md5(ts + ALICE_PW.encode()).hexdigest().encode()
    assert c.cmd(b"APOP alice " + digest) == b"-ERR [AUTH] Authentication failed.\r\n"
    # the right digest still works after failures; upper-case hex is the same number
    good = hashlib.md5(ts + b"dave-plain-pw").hexdigest().upper().encode()
    assert c.cmd(b"APOP dave " + good).startswith(b"+OK")
    c.close()
    # a digest for an old timestamp is refused (no replay)
    c = connect(server)
    assert c.cmd(b"APOP dave " + good).startswith(b"-ERR")
    c.close()


def test_apop_malformed(make_server):
    server = apop_server(make_server)
    c = connect(server)
    for line in (b"APOP", b"APOP dave", b"APOP dave 123", b"APOP dave " + b"g" * 32,
                 b"APOP dave " + b"0" * 33, b"APOP  " + b"0" * 32):
        assert c.cmd(line).startswith(b"-ERR"), line
    c.close()


def test_no_apop_without_plain_users(server):
    p = server.pop3()
    assert b"<" not in p.getwelcome()
    with pytest.raises(poplib.error_proto):
        p.apop("alice", ALICE_PW)
    p.quit()


def test_apop_off_by_config(make_server):
    server = make_server(overrides={"pop3.apop": "no"}, start=False)
    server.add_user("dave", "dave-plain-pw", scheme="PLAIN")
    server.start()
    p = server.pop3()
    assert b"<" not in p.getwelcome()
    p.quit()
    # the {PLAIN} user can still log in with USER/PASS
    p = server.pop3("dave", "dave-plain-pw")
    p.quit()


# ---------------------------------------------------------------- curl


def curl(*args, check=True):
    res = subprocess.run(["curl", "-sS", "--max-time", "20", *args], capture_output=True,
                         timeout=30)
    if check:
        assert res.returncode == 0, res.stderr.decode(errors="replace")
    return res


def curl_setup(server):
    messages = [b"Subject: curl one\r\n\r\n.dot\r\nbody one\r\n",
                b"Subject: curl two\r\n\r\nbody two\r\n"]
    for m in messages:
        server.deliver("alice", m)
    p = server.pop3("alice", ALICE_PW)
    full = [b"".join(l + b"\r\n" for l in p.retr(i)[1]) for i in (1, 2)]
    listing = b"".join(l + b"\r\n" for l in p.list()[1])
    p.quit()
    return full, listing


def test_curl_list_and_retr(server):
    full, listing = curl_setup(server)
    base = f"pop3://127.0.0.1:{server.pop3_port}/"
    assert curl("-u", f"alice:{ALICE_PW}", base).stdout == listing
    assert curl("-u", f"alice:{ALICE_PW}", base + "1").stdout == full[0]
    assert curl("-u", f"alice:{ALICE_PW}", base + "2").stdout == full[1]
    # user name and password in the URL; password with spaces
    assert curl(f"pop3://alice:{ALICE_PW}@127.0.0.1:{server.pop3_port}/1").stdout == full[0]
    curl("-u", f"bob:{USERS['bob']}", base)
    # a wrong password is a login failure (curl error 67)
    assert curl("-u", "alice:wrong", base, check=False).returncode == 67


def test_curl_tls(server):
    full, listing = curl_setup(server)
    cafile = str(server.cert)
    res = curl("--ssl-reqd", "--cacert", cafile, "-u", f"alice:{ALICE_PW}",
               f"pop3://127.0.0.1:{server.pop3_port}/1")
    assert res.stdout == full[0]
    res = curl("--cacert", cafile, "-u", f"alice:{ALICE_PW}",
               f"pop3s://127.0.0.1:{server.pop3s_port}/2")
    assert res.stdout == full[1]
    res = curl("--cacert", cafile, "-u", f"alice:{ALICE_PW}",
               f"pop3s://localhost:{server.pop3s_port}/")
    assert res.stdout == listing
    assert "tls=yes" in server.log_text()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_curl_sasl(server, mech):
    full, listing = curl_setup(server)
    res = curl("--login-options", f"AUTH={mech}", "-u", f"alice:{ALICE_PW}",
               f"pop3://127.0.0.1:{server.pop3_port}/1")
    assert res.stdout == full[0]
    assert f"mech={mech}" in server.log_text()
    res = curl("--login-options", f"AUTH={mech}", "-u", "alice:wrong",
               f"pop3://127.0.0.1:{server.pop3_port}/1", check=False)
    assert res.returncode == 67


def test_curl_custom_commands(server):
    full, listing = curl_setup(server)
    base = f"pop3://127.0.0.1:{server.pop3_port}/"
    uidl = curl("-u", f"alice:{ALICE_PW}", "-X", "UIDL", base).stdout
    assert re.fullmatch(rb"(\d+ [\x21-\x7e]+\r\n){2}", uidl), uidl
    # DELE answers one line: -I tells curl not to expect a body
    curl("-u", f"alice:{ALICE_PW}", "-X", "DELE", "-I", base + "1")
    after = curl("-u", f"alice:{ALICE_PW}", base).stdout
    assert after == b"1 " + listing.split(b"\r\n")[1].split()[1] + b"\r\n"
    top = curl("-u", f"alice:{ALICE_PW}", "-X", "TOP 1 0", base).stdout
    assert top == full[1][:full[1].index(b"\r\n\r\n") + 4]
