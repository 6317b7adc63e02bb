"""Commands pipelined after STLS (RFC 2595 4, the STARTTLS command
injection class of CVE-2011-0411): whatever arrives in clear text after
STLS must never be executed, neither before the handshake nor inside the
TLS session. test_pop3_tls_sasl.py covers a short injection in the same
write; here: an injection far larger than one read, and STLS in the
middle of a pipeline. (LMTP offers no STARTTLS; IMAP's is tested in
test_imap_session.py.)
"""
import socket
import ssl

from conftest import USERS

ALICE_PW = USERS["alice"].encode()


def tls_wrap(server, sock):
    return server.client_tls_context().wrap_socket(sock, server_hostname="localhost")


def nothing_more(sock, timeout=0.5):
    """True if the server sends nothing (or closes) within timeout."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(65536)
        return data == b""
    except (socket.timeout, TimeoutError):
        return True
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(10)


def readline(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def no_login_logged(server):
    return not any("event=login" in line and "user=alice" in line
                   for line in server.log_text().splitlines())


def test_large_injection_after_stls(server):
    raw = socket.create_connection(("127.0.0.1", server.pop3_port), 10)
    assert readline(raw).startswith(b"+OK")
    injected = (b"USER alice\r\nPASS " + ALICE_PW + b"\r\nDELE 1\r\nQUIT\r\n") * 3000
    assert len(injected) > 100_000
    server.deliver("alice", b"Subject: keep me\r\n\r\nx\r\n")
    raw.sendall(b"STLS\r\n" + injected)
    assert readline(raw).startswith(b"+OK")
    # nothing is answered in clear text...
    try:
        tls = tls_wrap(server, raw)
    except (ssl.SSLError, OSError):
        tls = None  # ...and the handshake may fail on the injected bytes
    if tls is not None:
        assert nothing_more(tls), "injected commands answered inside TLS"
        tls.sendall(b"STAT\r\n")
        assert readline(tls).startswith(b"-ERR")  # not logged in
        tls.close()
    else:
        raw.close()
    assert no_login_logged(server)
    p = server.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 1  # the injected DELE+QUIT deleted nothing
    p.quit()


def test_stls_in_the_middle_of_a_pipeline(server):
    raw = socket.create_connection(("127.0.0.1", server.pop3_port), 10)
    assert readline(raw).startswith(b"+OK")
    raw.sendall(b"CAPA\r\nNOOP\r\nSTLS\r\nUSER alice\r\nPASS " + ALICE_PW + b"\r\nSTAT\r\n")
    assert readline(raw).startswith(b"+OK")  # CAPA
    while readline(raw) != b".\r\n":
        pass
    assert readline(raw).startswith(b"-ERR")  # NOOP before login
    assert readline(raw).startswith(b"+OK")  # STLS
    tls = tls_wrap(server, raw)
    assert nothing_more(tls)
    tls.sendall(b"STAT\r\n")
    assert readline(tls).startswith(b"-ERR")
    tls.sendall(b"USER alice\r\n")
    assert readline(tls) == b"+OK\r\n"
    tls.sendall(b"PASS " + ALICE_PW + b"\r\n")
    assert readline(tls).startswith(b"+OK")
    tls.close()
