"""Hostile and broken IMAP input: every case gets a clear tagged BAD or NO
(or an intentional "* BYE" and close), and afterwards a NEW client is
still served. Also what several processes do to one mailbox at once:
two IMAP sessions, POP3 and LMTP.

Most tests share one server (module scope) and loop over their cases in
fresh sessions: the server must survive all of them in a row, and a case
costs a login instead of a server start. A server check after each test
makes the test that broke it fail.
"""
import base64
import re
import socket
import threading
import time

import pytest

from conftest import SANITIZER_MARKERS, USERS, Server
from imap_helpers import ALICE, PASSWORDS, Raw, connect, deliver, plain, raw

# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shared(tls_files):
    srv = Server(tls_files)
    try:
        for name, pw in USERS.items():
            srv.add_user(name, pw)
        srv.users = 0
        srv.checked = 0
        srv.start()
        yield srv
        srv.stop()
        # the tests checked the log up to srv.checked: now the shutdown
        text = srv.log_text()[srv.checked:]
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in server log:\n{text[-6000:]}"
    finally:
        if srv.proc is not None:
            srv.proc.kill()
            srv.proc.wait()
        srv.cleanup()


@pytest.fixture
def srv(shared):
    """The shared server; after the test it must still be running and
    serve a new client."""
    sessions = []
    shared.sessions = sessions
    start = len(shared.log_text())
    yield shared
    for r in sessions:
        r.close()
    assert shared.proc.poll() is None, f"server died: {shared.log_text()[-3000:]}"
    still_serving(shared)
    # what this test caused (the module's end checks the whole log again)
    text = shared.log_text()[start:]
    shared.checked = start + len(text)
    for marker in SANITIZER_MARKERS:
        i = text.find(marker)
        assert i < 0, f"sanitizer report in server log:\n{text[max(0, i - 2000):i + 4000]}"


def new_user(srv):
    """A user of its own for a test that counts messages or mailboxes
    (password: alice's)."""
    srv.users += 1
    name = f"hostile{srv.users}"
    srv.add_user(name, ALICE)
    PASSWORDS[name] = ALICE
    return name


def session(srv, user=None, **kw):
    r = raw(srv, user, **kw)
    getattr(srv, "sessions", []).append(r)
    return r


def still_serving(srv):
    r = raw(srv, "alice")
    lines = r.cmd(b"Z1 NOOP")
    assert lines[-1].startswith(b"Z1 OK"), lines
    r.close()


def ok(lines, tag):
    assert lines[-1].startswith(tag + b" OK"), lines
    return lines


def reply(r, data, tag=None, timeout=3):
    """Send a command; the lines up to its tagged reply, or up to a BYE
    and the close. Never hangs: a silent server fails the test."""
    if data is not None:
        try:
            r.send(data + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return [b""]
    tag = tag or data.split(b" ", 1)[0]
    r.sock.settimeout(timeout)
    lines = []
    try:
        while True:
            line = r.response()
            lines.append(line)
            if not line or line.startswith(tag + b" "):
                return lines
    except (socket.timeout, TimeoutError):
        raise AssertionError(f"no reply to {tag!r} in {timeout} s: {lines[-5:]}")
    except ConnectionResetError:
        lines.append(b"")
        return lines


def refused(lines, tag, codes=(b"BAD", b"NO"), bye_ok=True, what=""):
    """The tagged reply is one of codes, or (bye_ok) the server said BYE
    and closed. Returns "bye" or the code."""
    last = lines[-1]
    for code in codes:
        if last.startswith(tag + b" " + code):
            return code
    if bye_ok and any(x.startswith(b"* BYE ") for x in lines):
        return "bye"
    raise AssertionError(f"{tag!r} {what}: expected {codes} or BYE, got {lines[-3:]}")


def each_case(cases, run):
    """run(case) for every case; the failures are reported together, so
    one wrong answer does not hide the others."""
    problems = []
    for case in cases:
        try:
            run(case)
        except AssertionError as e:
            label = (f"{case[0]} {case[2]!r}" if isinstance(case, tuple) else repr(case))
            problems.append(f"{label:.60}: {e}")
    assert not problems, "\n".join(problems)


def select(r, box=b"INBOX", tag=b"S1"):
    return ok(r.cmd(tag + b" SELECT " + box), tag)


def count(srv, user, box=b"INBOX"):
    r = raw(srv, user)
    lines = ok(r.cmd(b"C1 STATUS " + box + b" (MESSAGES)"), b"C1")
    r.close()
    return int(re.search(rb"MESSAGES (\d+)", lines[0]).group(1))


def list_names(r, tag=b"L1"):
    out = []
    for x in ok(r.cmd(tag + b' LIST "" "*"'), tag)[:-1]:
        m = re.match(rb'\* LIST \([^)]*\) "/" (.*)\r\n$', x, re.S)
        assert m, x
        name = m.group(1)
        if name.startswith(b"{"):
            name = name.split(b"\r\n", 1)[1]
        out.append(name.strip(b'"'))
    return sorted(out)


# ---------------------------------------------------------------- sequence sets


def test_sequence_sets(srv):
    """RFC 9051 9 sequence-set: huge and many ranges, reversed ranges,
    and numbers out of range."""
    user = new_user(srv)
    deliver(srv, 5, user)
    r = session(srv, user)
    select(r)
    # UIDs: any range is fine, the messages that exist are answered once
    lines = ok(r.cmd(b"U1 UID FETCH 1:4294967295 (UID)"), b"U1")
    assert lines[:-1] == [b"* %d FETCH (UID %d)\r\n" % (i, i) for i in range(1, 6)], lines
    many = b",".join(b"1:4294967295" for _ in range(2000)) + b",1:2"
    lines = r.cmd(b"U2 UID FETCH " + many + b" (UID)")
    code = refused(lines, b"U2", (b"OK", b"BAD"), bye_ok=False)
    if code == b"OK":
        assert len(lines) == 6, lines  # each message once
    # 10,000 separate ranges (58 KB, within the line limit): answered
    spread = b",".join(b"%d" % (i * 2 + 1) for i in range(10000))
    lines = r.cmd(b"U3 UID FETCH " + spread + b" (UID)")
    code = refused(lines, b"U3", (b"OK", b"BAD"), bye_ok=False)
    if code == b"OK":
        assert [int(x.split(b" ")[1]) for x in lines[:-1]] == [1, 3, 5], lines
    # RFC 9051 9: message numbers beyond EXISTS are an error
    refused(r.cmd(b"F1 FETCH 1:4294967295 (UID)"), b"F1", bye_ok=False)
    refused(r.cmd(b"F2 FETCH 4294967296 (UID)"), b"F2", (b"BAD",), bye_ok=False)
    refused(r.cmd(b"F3 FETCH 0:1 (UID)"), b"F3", (b"BAD",), bye_ok=False)
    refused(r.cmd(b"F4 UID FETCH 99999999999999999999 (UID)"), b"F4", (b"BAD",), bye_ok=False)
    refused(r.cmd(b"F5 FETCH 1:2:3 (UID)"), b"F5", (b"BAD",), bye_ok=False)
    refused(r.cmd(b"F6 FETCH 1,,2 (UID)"), b"F6", (b"BAD",), bye_ok=False)
    # reversed ranges are the same set (RFC 9051 9: "n:m" = "m:n")
    want = [b"* %d FETCH (UID %d)\r\n" % (i, i) for i in range(2, 6)]
    assert ok(r.cmd(b"R1 FETCH 5:2 (UID)"), b"R1")[:-1] == want
    assert ok(r.cmd(b"R2 FETCH *:2 (UID)"), b"R2")[:-1] == want
    assert ok(r.cmd(b"R3 UID FETCH 4294967295:2 (UID)"), b"R3")[:-1] == want
    assert ok(r.cmd(b"R4 SEARCH 4:2"), b"R4")[0] == b"* SEARCH 2 3 4\r\n"
    assert ok(r.cmd(b"R5 UID SEARCH UID 5:4,2:1"), b"R5")[0] == b"* SEARCH 1 2 4 5\r\n"
    ok(r.cmd(b"N1 NOOP"), b"N1")


def test_star_on_empty_mailbox(srv):
    """RFC 9051 9 (seq-number): "*" in an empty mailbox is an error for
    message numbers ("This includes '*' if the selected mailbox is
    empty": BAD), and UIDNEXT for UIDs (nothing matches)."""
    r = session(srv, "alice")
    select(r, b"Drafts")
    for tag, cmd in ((b"E1", b"FETCH * (UID)"), (b"E2", b"FETCH 1:* (FLAGS)"),
                     (b"E3", b"STORE * +FLAGS (\\Seen)"), (b"E4", b"COPY 1:* Trash")):
        lines = r.cmd(tag + b" " + cmd)
        refused(lines, tag, bye_ok=False)
        assert not any(b" FETCH " in x for x in lines[:-1]), lines
    for tag, cmd in ((b"U1", b"UID FETCH * (UID)"), (b"U2", b"UID FETCH 1:* (FLAGS)"),
                     (b"U3", b"UID STORE * +FLAGS (\\Seen)"), (b"U4", b"UID COPY 1:* Trash"),
                     (b"U5", b"UID SEARCH UID *")):
        lines = ok(r.cmd(tag + b" " + cmd), tag)
        assert not any(b" FETCH " in x for x in lines[:-1]), lines
    lines = r.cmd(b"S2 SEARCH *")
    if lines[-1].startswith(b"S2 OK"):
        assert lines[0] == b"* SEARCH\r\n", lines
    else:
        refused(lines, b"S2", (b"BAD",), bye_ok=False)
    ok(r.cmd(b"N1 NOOP"), b"N1")


# ---------------------------------------------------------------- nesting and sizes


def test_deep_nesting(srv):
    """Thousands of nested parentheses in SEARCH and in a FETCH
    HEADER.FIELDS list: BAD (nesting limit) or a right answer, never a
    crash or a stack overflow; thousands of field names in one list."""
    user = new_user(srv)
    deliver(srv, 1, user)
    r = session(srv, user)
    select(r)
    for depth in (1000, 10000, 30000):
        tag = b"D%d" % depth
        lines = r.cmd(tag + b" SEARCH " + b"(" * depth + b"ALL" + b")" * depth)
        if refused(lines, tag, (b"BAD", b"OK"), bye_ok=False) == b"OK":
            assert lines[0] == b"* SEARCH 1\r\n", lines
    for tag, prog in ((b"N1", b"NOT " * 20000 + b"ALL"), (b"N2", b"OR ALL " * 20000 + b"ALL"),
                      (b"N3", b"OR " * 20000 + b"ALL ALL")):
        lines = r.cmd(tag + b" SEARCH " + prog)
        refused(lines, tag, (b"BAD", b"OK"), bye_ok=False)
    r = session(srv, user)
    select(r)
    for depth in (100, 5000):
        tag = b"H%d" % depth
        lines = r.cmd(tag + b" FETCH 1 (BODY.PEEK[HEADER.FIELDS " + b"(" * depth + b"Subject" +
                      b")" * depth + b"])")
        refused(lines, tag, (b"BAD",), bye_ok=False)
    # 3000 field names: within the limits, answered exactly
    names = b" ".join(b"X-F%d" % i for i in range(3000))
    lines = ok(r.cmd(b"H1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (" + names + b" Subject)])"), b"H1")
    head, _, data = lines[0].partition(b"] {22}\r\n")
    assert head.lower() == b"* 1 fetch (body[header.fields (" + names.lower() + b" subject)", \
        head[-100:]
    assert data == b"Subject: message 1\r\n\r\n)\r\n", data
    names = b" ".join(b"X-F%d" % i for i in range(10000))
    lines = r.cmd(b"H2 FETCH 1 (BODY.PEEK[HEADER.FIELDS (" + names + b")])")
    refused(lines, b"H2", (b"BAD", b"OK"), bye_ok=False)
    ok(r.cmd(b"N4 NOOP"), b"N4")


def test_huge_literal_sizes(srv):
    """A literal of 2^32 or 2^64 octets is refused at once, without a "+"
    (RFC 9051 7.5) and without reading it ([TOOBIG], RFC 9051 7.1);
    a non-synchronizing one that big cannot be skipped: BAD and BYE are
    right (RFC 7888 4)."""
    r = session(srv)
    r.send(b"L1 LOGIN {4294967296}\r\n")
    lines = reply(r, None, b"L1")
    refused(lines, b"L1")
    assert not lines[0].startswith(b"+"), lines
    for tag, lit in ((b"A1", b"{4294967296}"), (b"A2", b"{18446744073709551616}"),
                     (b"A3", b"{99999999999999999999999}"), (b"A4", b"{18446744073709551615}"),
                     (b"A5", b"~{18446744073709551616}")):
        r = session(srv, "alice")
        r.send(tag + b" APPEND INBOX " + lit + b"\r\n")
        lines = reply(r, None, tag)
        assert not lines[0].startswith(b"+"), (tag, lines)
        refused(lines, tag)
        # the session is still usable unless the server said goodbye
        if not any(x.startswith(b"* BYE") for x in lines):
            ok(r.cmd(b"N1 NOOP"), b"N1")
    for tag, lit in ((b"P1", b"{4294967296+}"), (b"P2", b"{18446744073709551616+}")):
        r = session(srv, "alice")
        r.send(tag + b" APPEND INBOX " + lit + b"\r\nabc\r\n")
        lines = reply(r, None, tag)
        refused(lines, tag)
        assert b"TOOBIG" in b"".join(lines) or any(x.startswith(b"* BYE") for x in lines), lines
    # a non-synchronizing literal over the pre-login limit is skipped
    # (RFC 7888 4): the next command on the same line is parsed again
    r = session(srv)
    r.send(b"L2 LOGIN alice {20000+}\r\n" + b"x" * 20000 + b"\r\nL3 NOOP\r\n")
    lines = reply(r, None, b"L2")
    refused(lines, b"L2")
    if not any(x.startswith(b"* BYE") for x in lines):
        ok(reply(r, None, b"L3"), b"L3")
    assert count(srv, "alice") == 0


def test_literal8_where_not_allowed(srv):
    """RFC 3516 4.3 / RFC 9051 9: literal8 (~{n}) only in APPEND; as a
    mailbox, password or search string it is BAD."""
    r = session(srv, "alice")
    for tag, cmd in ((b"S1", b"SELECT ~{5+}\r\nINBOX"), (b"C1", b"CREATE ~{4+}\r\nbin8"),
                     (b"S2", b"STATUS ~{5+}\r\nINBOX (MESSAGES)")):
        refused(reply(r, tag + b" " + cmd, tag), tag, (b"BAD",))
    ok(r.cmd(b"S3 SELECT INBOX"), b"S3")
    refused(reply(r, b"S4 SEARCH SUBJECT ~{3+}\r\nabc", b"S4"), b"S4", (b"BAD",))
    # a synchronizing one: refused before or after its octets
    r.send(b"S5 SELECT ~{5}\r\n")
    line = r.response()
    if line.startswith(b"+"):
        lines = reply(r, b"INBOX", b"S5")
    else:
        lines = [line] if line.startswith(b"S5 ") else [line] + reply(r, None, b"S5")
    refused(lines, b"S5", (b"BAD",))
    r = session(srv)
    lines = reply(r, b'L1 LOGIN alice ~{%d+}\r\n%s' % (len(ALICE), ALICE.encode()), b"L1")
    refused(lines, b"L1", (b"BAD",))
    names = list_names(session(srv, "alice"))
    assert b"bin8" not in names, names


def test_nul_bytes(srv):
    """NUL is not a CHAR8 (RFC 9051 9): BAD in a command line and in a
    literal; a message with NUL needs literal8 (RFC 9051 4.3.1, RFC 3516
    4.3: "unencoded binary strings are not permitted"), so APPEND {n} with
    a NUL is refused and nothing is stored."""
    user = new_user(srv)
    r = session(srv, user)
    refused(r.cmd(b"N1 NOOP\x00"), b"N1", (b"BAD",), bye_ok=False)
    refused(r.cmd(b'N2 SELECT "IN\x00BOX"'), b"N2", (b"BAD",), bye_ok=False)
    refused(reply(r, b"N3 SELECT {5+}\r\nIN\x00OX", b"N3"), b"N3", (b"BAD",), bye_ok=False)
    refused(reply(r, b"N4 CREATE {3+}\r\na\x00b", b"N4"), b"N4", (b"BAD",), bye_ok=False)
    ok(r.cmd(b"N6 NOOP"), b"N6")
    r2 = session(srv)
    refused(reply(r2, b'L1 LOGIN "al\x00ice" x', b"L1"), b"L1", (b"BAD",), bye_ok=False)
    refused(reply(r2, b"L2 LOGIN alice {%d+}\r\n\x00%s" % (len(ALICE) + 1, ALICE.encode()),
                  b"L2"), b"L2", (b"BAD",), bye_ok=False)
    ok(r2.cmd(b"N7 NOOP"), b"N7")
    # the same message as literal8 is fine (test_imap_extensions); as a
    # literal it is not
    msg = b"From: s@example.org\r\nSubject: nul\r\n\r\nzero\x00byte\r\n"
    lines = reply(r, b"A1 APPEND INBOX {%d+}\r\n%s" % (len(msg), msg), b"A1")
    refused(lines, b"A1", bye_ok=False)
    assert count(srv, user) == 0


def test_eight_bit_atoms(srv):
    """CHAR is 7-bit (RFC 9051 9): 8-bit bytes in atoms (tag, command,
    mailbox atom, fetch item, flag) are BAD, and nothing is created."""
    user = new_user(srv)
    deliver(srv, 1, user)
    r = session(srv, user)
    select(r)
    for tag, rest in ((b"E1", b"NO\xc3\xa9OP"), (b"E2", b"CREATE caf\xc3\xa9"),
                      (b"E3", b"FETCH 1 (FL\xffAGS)"), (b"E4", b"STORE 1 +FLAGS (k\xe9y)"),
                      (b"E5", b"SEARCH KEYWORD \x80"), (b"E6", b"CREATE \xff\xfe")):
        refused(r.cmd(tag + b" " + rest), tag, (b"BAD",), bye_ok=False)
    r.send(b"t\xe9g NOOP\r\n")
    line = r.line()
    assert line.startswith((b"* BAD", b"t\xe9g BAD")), line
    ok(r.cmd(b"F1 FETCH 1 (FLAGS)"), b"F1")
    assert ok(r.cmd(b"F2 FETCH 1 (FLAGS)"), b"F2")[0] in (
        b"* 1 FETCH (FLAGS (\\Recent))\r\n", b"* 1 FETCH (FLAGS ())\r\n")
    assert list_names(r) == sorted([b"INBOX", b"Archive", b"Drafts", b"Junk", b"Sent",
                                    b"Trash"])


def test_long_lines(srv):
    """Lines of 100 KB (over the 64 KiB line limit) before and after
    login, and 8 MB: BAD [TOOBIG] or BYE, no unbounded buffering."""
    for user in (None, "alice"):
        r = session(srv, user)
        lines = reply(r, b"X1 NOOP " + b"a" * 100_000, b"X1")
        refused(lines, b"X1", (b"BAD",))
        if not any(x.startswith(b"* BYE") for x in lines):
            ok(r.cmd(b"X2 NOOP"), b"X2")
        r = session(srv, user)
        lines = reply(r, b'X3 SELECT "' + b"b" * 100_000 + b'"', b"X3")
        refused(lines, b"X3", (b"BAD",))
    r = session(srv, "alice")
    try:
        r.send(b"X4 NOOP " + b"a" * (8 * 1024 * 1024) + b"\r\n")
        lines = reply(r, None, b"X4")
        refused(lines, b"X4", (b"BAD",))
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_many_pipelined_commands(srv):
    """10,000 commands in one send: every one answered, in order, within
    a bound (or a close on purpose: then a BYE first)."""
    user = new_user(srv)
    deliver(srv, 2, user)
    r = session(srv, user)
    select(r)
    n = 10000
    cmds = (b"NOOP", b"FETCH 1:* (UID)", b"CHECK", b"SEARCH ALL")
    t0 = time.monotonic()
    r.send(b"".join(b"p%d %s\r\n" % (i, cmds[i % 4]) for i in range(n)))
    r.sock.settimeout(30)
    i = 0
    while i < n:
        line = r.line()
        assert line, f"closed after {i} replies"
        if line.startswith(b"*"):
            assert not line.startswith(b"* BAD"), line
            if line.startswith(b"* BYE"):
                assert r.closed(), "BYE without a close"
                return
            continue
        assert line.startswith(b"p%d OK" % i), (i, line)
        i += 1
    assert time.monotonic() - t0 < 20
    ok(r.cmd(b"N1 NOOP"), b"N1")


def test_pipelined_after_starttls_not_executed(srv):
    """RFC 9051 6.2.1 (CVE-2011-0411 class): commands after STARTTLS in
    the same packet are discarded, not run inside the TLS session."""
    s = connect(srv.imap_port)
    r = Raw(s)
    r.line()
    s.sendall(b"T1 STARTTLS\r\nT2 LOGIN alice \"" + ALICE.encode() + b"\"\r\nT3 SELECT INBOX\r\n")
    line = r.line()
    assert line.startswith(b"T1 OK"), line
    t = srv.client_tls_context().wrap_socket(s, server_hostname="localhost")
    tr = Raw(t)
    srv.sessions.append(tr)
    lines = tr.cmd(b"T4 CAPABILITY")
    assert not any(x.startswith((b"T2", b"T3")) for x in lines), lines
    assert b"AUTH=PLAIN" in lines[0] and b"STARTTLS" not in lines[0]  # not logged in
    lines = tr.cmd(b"T5 SELECT INBOX")
    assert lines[-1].startswith(b"T5 BAD"), lines  # still not authenticated
    ok(tr.cmd(b'T6 LOGIN alice "' + ALICE.encode() + b'"'), b"T6")


# ---------------------------------------------------------------- authentication


def b64(data):
    return base64.b64encode(data)


def test_authenticate_garbage(srv):
    """RFC 9051 6.2.2: a response that is not valid base64 ("characters
    outside the base64 alphabet, or non-terminal '='") MUST be rejected
    with a tagged BAD; the same for a SASL-IR initial response (RFC 4959
    3). A 1 MB SASL line is over the line limit: BAD or BYE."""
    def sasl_continuation(junk):
        r = session(srv)
        r.send(b"A1 AUTHENTICATE PLAIN\r\n")
        assert r.line().startswith(b"+")
        lines = reply(r, junk, b"A1")
        refused(lines, b"A1", (b"BAD",), bye_ok=False)

    def initial_response(junk):
        r = session(srv)
        refused(r.cmd(b"I1 AUTHENTICATE PLAIN " + junk), b"I1", (b"BAD",), bye_ok=False)
        ok(r.cmd(b"I2 NOOP"), b"I2")

    def long_line(size):
        r = session(srv)
        r.send(b"B1 AUTHENTICATE PLAIN\r\n")
        assert r.line().startswith(b"+")
        try:
            refused(reply(r, b"QUFB" * (size // 4), b"B1"), b"B1", (b"BAD",))
        except (BrokenPipeError, ConnectionResetError):
            pass

    junk = (b"!!!not*base64???", b"AAA=AAAA", b"\xff\xfe\xfd", b"A", b"AB==CD==")
    each_case([("continuation", sasl_continuation, j) for j in junk] +
              [("initial response", initial_response, j) for j in junk[:2] + junk[3:]] +
              [("line of", long_line, n) for n in (100_000, 1024 * 1024)],
              lambda c: c[1](c[2]))
    # a right PLAIN exchange still works afterwards
    r = session(srv)
    lines = r.cmd(b"G1 AUTHENTICATE PLAIN " + b64(b"\x00alice\x00" + ALICE.encode()))
    ok(lines, b"G1")


def test_login_hostile_user_names(srv):
    """User names that look like paths or hold NUL, and very long ones:
    NO [AUTHENTICATIONFAILED] (or BAD for what is not a string), and
    nothing appears in the data directory."""
    session(srv, "alice")
    before = sorted(p.name for p in (srv.data_dir / "mail").iterdir())
    names = [b'"../alice"', b'"alice/.."', b'".."', b'"/etc/passwd"', b'"alice/"',
             b'"a/b"', b'"~alice"', b'"' + b"x" * 1000 + b'"', b'"alice\\\\"', b'"ALICE/../alice"']
    for i, name in enumerate(names):
        r = session(srv)
        tag = b"L%d" % i
        lines = r.cmd(tag + b" LOGIN " + name + b' "' + ALICE.encode() + b'"')
        code = refused(lines, tag, bye_ok=False)
        if code == b"NO":
            assert b"[AUTHENTICATIONFAILED]" in lines[-1], lines
    r = session(srv)
    refused(reply(r, b"M1 LOGIN {6+}\r\nal\x00ice x", b"M1"), b"M1", (b"BAD",), bye_ok=False)
    long_name = b"y" * 9000  # over the pre-login literal limit
    refused(reply(r, b"M2 LOGIN {%d+}\r\n%s x" % (len(long_name), long_name), b"M2"), b"M2")
    after = sorted(p.name for p in (srv.data_dir / "mail").iterdir())
    assert after == before, after


# ---------------------------------------------------------------- mailbox names


HOSTILE_NAMES = [
    b'".."', b'"../bob"', b'"../x"', b'"a/../b"', b'"/etc"', b'"~root"', b'"~bob"', b'"~/x"',
    b'"a/./b"', b'"a//b"', b'"."', b'"/"', b'"&AGE"', b'"&AGE-"', b'"&-&"',
    b'"a&Jjo"', b'"&ZeVnLIqe-&"',
]


def test_hostile_mailbox_names(srv):
    """RFC 9051 5.1 and 5.1.3: path tricks and invalid modified UTF-7 are
    refused (NO or BAD) for CREATE, SELECT, RENAME, APPEND and DELETE;
    nothing is created outside the user's Maildir."""
    user = new_user(srv)
    session(srv, user)  # the first login makes the Maildir
    top = sorted(p.name for p in srv.data_dir.iterdir())
    mail = sorted(p.name for p in (srv.data_dir / "mail").iterdir())
    for name in HOSTILE_NAMES:
        r = session(srv, user)
        for tag, cmd in ((b"C1", b"CREATE " + name), (b"S1", b"SELECT " + name),
                         (b"R1", b"RENAME Junk " + name), (b"A1", b"APPEND " + name +
                                                           b" {3+}\r\nx\r\n"),
                         (b"D1", b"DELETE " + name)):
            lines = r.cmd(tag + b" " + cmd)
            refused(lines, tag, bye_ok=False, what=name)
        assert list_names(r) == [b"Archive", b"Drafts", b"INBOX", b"Junk", b"Sent", b"Trash"], name
        r.close()
    assert sorted(p.name for p in srv.data_dir.iterdir()) == top
    assert sorted(p.name for p in (srv.data_dir / "mail").iterdir()) == mail


def test_odd_but_valid_mailbox_names(srv):
    """"a.b" (a dot is Maildir++'s separator on disk, not IMAP's), a
    1,000-octet name, a 50-level deep name, and the names of Maildir's own
    directories: refused with NO, or created and then listed exactly as
    given, usable (INBOX unchanged) and deletable."""
    user = new_user(srv)
    r = session(srv, user)
    deep = b"/".join(b"d%d" % i for i in range(50))
    for name in (b"a.b", b"x" * 1000, deep, b"Sent.Old", b".hidden", b"tmp", b"new", b"cur/x"):
        lines = r.cmd(b'C1 CREATE "' + name + b'"')
        if refused(lines, b"C1", (b"OK", b"NO", b"BAD"), bye_ok=False) != b"OK":
            continue
        names = list_names(r)
        assert name in names, (name[:40], names[:10])
        if name == b"a.b":  # not the same as a/b
            assert b"a" not in names and b"a/b" not in names, names
        ok(r.cmd(b'A1 APPEND "' + name + b'" {%d+}\r\n%s' % (len(plain(1)), plain(1))), b"A1")
        lines = ok(r.cmd(b'S1 STATUS "' + name + b'" (MESSAGES)'), b"S1")
        assert b"(MESSAGES 1)" in lines[0], lines
        assert count(srv, user) == 0, name
        ok(r.cmd(b'D1 DELETE "' + name + b'"'), b"D1")
        assert name not in list_names(r)
    # a name over the limit is refused, not cut short
    lines = r.cmd(b'C2 CREATE "' + b"z" * 5000 + b'"')
    refused(lines, b"C2", bye_ok=False)
    assert not any(n.startswith(b"zzz") for n in list_names(r))


def test_rename_inbox_and_into_itself(srv):
    """RFC 9051 6.3.6: RENAME INBOX moves its messages to the new name and
    leaves INBOX empty; INBOX to itself is NO; a mailbox into its own
    child is NO (no loop, no loss)."""
    user = new_user(srv)
    deliver(srv, 3, user)
    r = session(srv, user)
    refused(r.cmd(b"R1 RENAME INBOX INBOX"), b"R1", (b"NO", b"BAD"), bye_ok=False)
    refused(r.cmd(b"R2 RENAME inbox INBOX"), b"R2", (b"NO", b"BAD"), bye_ok=False)
    assert count(srv, user) == 3
    lines = r.cmd(b"R3 RENAME INBOX INBOX/child")
    if refused(lines, b"R3", (b"OK", b"NO"), bye_ok=False) == b"OK":
        assert count(srv, user) == 0 and count(srv, user, b"INBOX/child") == 3
    else:
        assert count(srv, user) == 3
    ok(r.cmd(b"C1 CREATE Work"), b"C1")
    ok(r.cmd(b"A1 APPEND Work {%d+}\r\n%s" % (len(plain(9)), plain(9))), b"A1")
    for tag, cmd in ((b"R4", b"RENAME Work Work/sub"), (b"R5", b"RENAME Work Work/a/b/c"),
                     (b"R6", b"RENAME Work Work")):
        refused(r.cmd(tag + b" " + cmd), tag, (b"NO", b"BAD"), bye_ok=False)
    assert count(srv, user, b"Work") == 1
    names = list_names(r)
    assert b"Work/sub" not in names and b"Work/a/b/c" not in names, names


def test_selected_mailbox_deleted_elsewhere(srv):
    """Session A has a mailbox selected; session B deletes it. A's NOOP,
    FETCH, STORE, SEARCH, COPY, EXPUNGE and CLOSE get OK, NO or an
    intentional BYE, never a crash; and what A is told is true: a STORE
    OK shows the new flags (RFC 9051 6.4.6), a COPY OK names real UIDs
    (RFC 4315 3: nz-number) and the copy is in INBOX, a COPY NO copied
    nothing."""
    user = new_user(srv)
    r = session(srv, user)
    ok(r.cmd(b"C1 CREATE Doomed"), b"C1")
    for i in range(3):
        ok(r.cmd(b"A1 APPEND Doomed {%d+}\r\n%s" % (len(plain(i)), plain(i))), b"A1")
    select(r, b"Doomed")
    other = session(srv, user)
    ok(other.cmd(b"D1 DELETE Doomed"), b"D1")
    assert b"Doomed" not in list_names(other)
    copied = 0
    problems = []
    for tag, cmd in ((b"N1", b"NOOP"), (b"F1", b"FETCH 1:* (FLAGS BODY.PEEK[])"),
                     (b"T1", b"STORE 1 +FLAGS (\\Flagged)"), (b"S2", b"SEARCH ALL"),
                     (b"U1", b"UID FETCH 1:* (UID)"), (b"K1", b"COPY 1 INBOX"),
                     (b"X1", b"EXPUNGE"), (b"C2", b"CLOSE")):
        lines = reply(r, tag + b" " + cmd, tag)
        code = refused(lines, tag, (b"OK", b"NO", b"BAD"))
        if code == "bye":
            break
        if code == b"OK" and tag == b"T1":
            fetch = [x for x in lines if x.startswith(b"* 1 FETCH")]
            if not (fetch and b"\\Flagged" in fetch[0]):
                problems.append(f"STORE said OK but the flags are {fetch}")
        if code == b"OK" and tag == b"K1":
            m = re.search(rb"\[COPYUID \d+ (\S+) (\S+)\]", lines[-1])
            if not m or re.search(rb"(^|[,:])0($|[,:])", m.group(2)):
                problems.append(f"COPY said {lines[-1]!r}")
            copied = 1
    if code != "bye":
        select(r, b"INBOX", b"S3")
    r2 = session(srv, user)
    assert b"Doomed" not in list_names(r2)
    if count(srv, user) != copied:
        problems.append(f"INBOX has {count(srv, user)} messages after COPY {copied and 'OK'}")
    assert not problems, problems


def test_idle_then_garbage(srv):
    """RFC 2177 3: anything but DONE ends IDLE with a tagged BAD (also a
    100 KB line: "I1 BAD", or BYE; RFC 9051 2.2.2: every command gets its
    tagged completion); the session goes on."""
    def case(junk):
        r = session(srv, "alice")
        select(r)
        r.send(b"I1 IDLE\r\n")
        assert r.line().startswith(b"+ ")
        lines = reply(r, junk, b"I1")
        if refused(lines, b"I1", (b"BAD",)) != "bye":
            ok(r.cmd(b"N1 NOOP"), b"N1")

    each_case((b"NOT-DONE", b"DONE DONE", b"D\x00NE", b"\xff\xfe", b"", b"x" * 100_000,
               b"I2 NOOP"), case)
    # a right DONE in any case
    r = session(srv, "alice")
    r.send(b"I1 IDLE\r\n")
    assert r.line().startswith(b"+ ")
    ok(reply(r, b"done", b"I1"), b"I1")


def test_append_aborted_midway(srv):
    """A client that closes the connection inside an APPEND literal: the
    server goes on, no partial message appears (RFC 9051 6.3.12 is all or
    nothing), and its spool is removed."""
    user = new_user(srv)
    deliver(srv, 2, user)
    msg = plain(50, body=b"z" * 200_000 + b"\r\n")
    for form in (b"{%d}", b"{%d+}", b"~{%d+}"):
        r = raw(srv, user)
        r.send(b"A1 APPEND INBOX " + form % len(msg) + b"\r\n")
        if form == b"{%d}":
            assert r.line().startswith(b"+ ")
        r.send(msg[:len(msg) // 2])
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
    # another session: nothing new, and a full APPEND still works
    r = session(srv, user)
    deadline = time.monotonic() + 3
    tmp = srv.maildir(user) / "tmp"
    while time.monotonic() < deadline and tmp.is_dir() and any(tmp.iterdir()):
        time.sleep(0.05)
    assert not (tmp.is_dir() and any(tmp.iterdir())), list(tmp.iterdir())
    assert count(srv, user) == 2
    ok(r.cmd(b"A2 APPEND INBOX {%d+}\r\n%s" % (len(msg), msg)), b"A2")
    assert count(srv, user) == 3
    p = srv.pop3(user, ALICE)
    assert p.stat()[0] == 3
    p.quit()


def test_too_many_keywords(srv):
    """Maildir keeps at most 26 keywords per folder (letters a-z). More is
    NO with RFC 5530 [LIMIT] ("the number of flags on a single message"
    is its example; [OVERQUOTA] means storage quota), and nothing
    changes; once all 26 are used, PERMANENTFLAGS has no \\* (RFC 9051
    7.1: new keywords cannot be created) and APPEND with a new keyword is
    refused the same way, storing nothing."""
    user = new_user(srv)
    deliver(srv, 2, user)
    r = session(srv, user)
    select(r)
    problems = []

    def limit(lines, tag):
        if not lines[-1].startswith(tag + b" NO [LIMIT]"):
            problems.append(lines[-1])
        assert lines[-1].startswith(tag + b" NO"), lines

    many = b" ".join(b"$k%d" % i for i in range(200))
    limit(r.cmd(b"T1 STORE 1 +FLAGS (" + many + b")"), b"T1")
    flags = ok(r.cmd(b"F1 FETCH 1:2 (FLAGS)"), b"F1")
    assert all(b"$k" not in x for x in flags), flags
    twenty = b" ".join(b"$w%d" % i for i in range(20))
    ok(r.cmd(b"T2 STORE 1 +FLAGS (" + twenty + b")"), b"T2")
    ten = b" ".join(b"$x%d" % i for i in range(10))
    limit(r.cmd(b"T3 STORE 2 +FLAGS (" + ten + b")"), b"T3")
    lines = ok(r.cmd(b"F2 FETCH 1:2 (FLAGS)"), b"F2")
    got = set(re.search(rb"FLAGS \(([^)]*)\)", lines[0]).group(1).split())
    assert {b"$w%d" % i for i in range(20)} <= got, lines
    assert not any(b"$x" in x for x in lines), lines
    # six more fit (26), the 27th does not
    ok(r.cmd(b"T4 STORE 2 +FLAGS (" + b" ".join(b"$y%d" % i for i in range(6)) + b")"), b"T4")
    limit(r.cmd(b"T5 STORE 2 +FLAGS ($z0)"), b"T5")
    lines = ok(r.cmd(b"S2 SELECT INBOX"), b"S2")
    perm = [x for x in lines if b"PERMANENTFLAGS" in x]
    assert perm and b"$y5" in perm[0], perm
    if b"\\*" in perm[0]:
        problems.append(b"PERMANENTFLAGS with \\* and no keyword left")
    limit(r.cmd(b"A1 APPEND INBOX ($new) {%d+}\r\n%s" % (len(plain(3)), plain(3))), b"A1")
    assert count(srv, user) == 2
    p = srv.pop3(user, ALICE)
    assert p.stat()[0] == 2 and len(p.retr(1)[1]) > 3
    p.quit()
    assert not problems, problems


def test_copy_move_to_missing_mailbox(srv):
    """RFC 9051 6.4.7, RFC 6851 3.3: COPY/MOVE to a mailbox that does not
    exist is NO [TRYCREATE]; nothing leaves the source."""
    user = new_user(srv)
    deliver(srv, 2, user)
    r = session(srv, user)
    select(r)
    for tag, cmd in ((b"C1", b"COPY 1 Nowhere"), (b"C2", b"UID COPY 1:* Nowhere/deeper"),
                     (b"M1", b"MOVE 1:2 Nowhere"), (b"M2", b"UID MOVE 2 nowhere")):
        lines = r.cmd(tag + b" " + cmd)
        assert lines[-1].startswith(tag + b" NO [TRYCREATE]"), lines
        assert not any(b"EXPUNGE" in x for x in lines), lines
    for tag, cmd in ((b"C3", b'COPY 1 "../x"'), (b"M3", b'MOVE 1 "/etc"')):
        refused(r.cmd(tag + b" " + cmd), tag, bye_ok=False)
    assert ok(r.cmd(b"F1 FETCH 1:* (UID)"), b"F1")[:-1] == [
        b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 2)\r\n"]
    assert b"Nowhere" not in list_names(r)


def test_fetch_deep_body_sections(srv):
    """RFC 9051 6.4.5: BODY[1.2.3.4.5.6.7.8.9.10] of a single-part message
    names no part: empty (or NIL) content, or NO/BAD; malformed part
    numbers are BAD."""
    user = new_user(srv)
    deliver(srv, 1, user)
    r = session(srv, user)
    select(r)
    deep = b".".join(b"%d" % i for i in range(1, 11))
    for tag, sec in ((b"F1", b"BODY.PEEK[" + deep + b"]"),
                     (b"F2", b"BODY.PEEK[" + deep + b".HEADER]"),
                     (b"F3", b"BODY.PEEK[" + b".".join([b"1"] * 500) + b"]"),
                     (b"F4", b"BINARY.PEEK[" + deep + b"]"), (b"F5", b"BINARY.SIZE[" + deep + b"]"),
                     (b"F6", b"BODY.PEEK[" + deep + b".MIME]")):
        lines = r.cmd(tag + b" FETCH 1 (" + sec + b")")
        if refused(lines, tag, (b"OK", b"NO", b"BAD"), bye_ok=False) == b"OK":
            assert len(lines) == 2 and re.match(
                rb'\* 1 FETCH \(\S+\[[^\]]*\] (""|NIL|\{0\}\r\n|0)\)\r\n', lines[0]), lines
    for tag, sec in ((b"B1", b"BODY.PEEK[0]"), (b"B2", b"BODY.PEEK[1.0]"),
                     (b"B3", b"BODY.PEEK[4294967296]"), (b"B4", b"BODY.PEEK[1..2]"),
                     (b"B5", b"BODY.PEEK[-1]"), (b"B6", b"BODY.PEEK[1.]"),
                     (b"B7", b"BODY.PEEK[TEXT]<99999999999999999999.1>"),
                     (b"B8", b"BODY.PEEK[]<1.0.0>")):
        refused(r.cmd(tag + b" FETCH 1 (" + sec + b")"), tag, (b"BAD",), bye_ok=False)
    ok(r.cmd(b"F7 FETCH 1 (BODY.PEEK[1])"), b"F7")


def test_search_charset_and_huge_needle(srv):
    """RFC 9051 6.4.4: an unknown CHARSET is NO [BADCHARSET] (also as a
    literal); a 64 KB needle in a literal is searched (no match), the
    same in a quoted string is over the line limit (BAD)."""
    user = new_user(srv)
    deliver(srv, 2, user)
    r = session(srv, user)
    select(r)
    for tag, cmd in ((b"C1", b'SEARCH CHARSET "x-unknown" TEXT x'),
                     (b"C2", b"SEARCH CHARSET {9+}\r\nx-unknown SUBJECT y"),
                     (b"C3", b"UID SEARCH RETURN (COUNT) CHARSET x-unknown ALL")):
        lines = reply(r, tag + b" " + cmd, tag)
        assert re.match(tag + rb" NO \[BADCHARSET( \([^)]*\))?\]", lines[-1]), lines
    needle = (b"message 1" + b"q" * 70000)[:65536]
    lines = ok(reply(r, b"H1 SEARCH HEADER Subject {%d+}\r\n%s" % (len(needle), needle), b"H1"),
               b"H1")
    assert lines[0] == b"* SEARCH\r\n", lines
    lines = ok(reply(r, b"H2 SEARCH BODY {%d+}\r\n%s" % (len(needle), needle), b"H2"), b"H2")
    assert lines[0] == b"* SEARCH\r\n", lines
    lines = reply(r, b'H3 SEARCH HEADER Subject "' + needle + b'"', b"H3")
    refused(lines, b"H3", (b"BAD",))
    if not any(x.startswith(b"* BYE") for x in lines):
        lines = ok(r.cmd(b'H4 SEARCH HEADER Subject "message 1"'), b"H4")
        assert lines[0] == b"* SEARCH 1\r\n", lines


# ---------------------------------------------------------------- many processes at once


def test_concurrent_imap_pop3_lmtp(srv):
    """Two IMAP sessions (flags, searches, fetches), POP3 (read and delete
    old mail) and LMTP deliveries on one mailbox at once for ~3 s: every
    delivered message is then in IMAP exactly once, POP3's UIDL list
    agrees with IMAP's UIDs, and nobody got an error reply except NO
    [EXPUNGEISSUED] for a message that POP3 deleted meanwhile."""
    user = new_user(srv)
    old = 15
    for i in range(old):
        assert srv.deliver(user, plain(1000 + i)) == {}
    stop = time.monotonic() + 3
    errors, delivered, pop_deleted = [], [], []
    lock = threading.Lock()

    def guard(fn):
        def run():
            try:
                fn()
            except Exception as e:  # reported by the test below
                with lock:
                    errors.append(f"{fn.__name__}: {e!r}")
        return run

    def lmtp():
        n = 0
        while time.monotonic() < stop and n < 300:
            n += 1
            assert srv.deliver(user, plain(n)) == {}, n
            with lock:
                delivered.append(f"m{n}@example.org")

    def imap_worker(seed):
        def work():
            r = raw(srv, user)
            ok(r.cmd(b"S1 SELECT INBOX"), b"S1")
            k = 0
            while time.monotonic() < stop and k < 2000:
                k += 1
                tag = b"W%d" % k
                op = (k + seed) % 5
                if op == 0:
                    cmd = b"UID STORE 1:* +FLAGS.SILENT (\\Seen $W%d)" % seed
                elif op == 1:
                    cmd = b"UID FETCH 1:* (UID FLAGS RFC822.SIZE)"
                elif op == 2:
                    cmd = b"SEARCH UNSEEN"
                elif op == 3:
                    cmd = b"UID STORE 1:* -FLAGS.SILENT ($W%d)" % seed
                else:
                    cmd = b"NOOP"
                lines = r.cmd(tag + b" " + cmd)
                last = lines[-1]
                good = last.startswith(tag + b" OK") or (
                    op in (0, 3) and last.startswith(tag + b" NO [EXPUNGEISSUED]"))
                assert good, (cmd, lines[-3:])
                assert not any(x.startswith((b"* BAD", b"* NO", b"* BYE")) for x in lines), lines
            ok(r.cmd(b"L1 LOGOUT"), b"L1")
            r.close()
        work.__name__ = f"imap{seed}"
        return work

    def pop3():
        k = 0
        while time.monotonic() < stop and k < 200:
            k += 1
            p = srv.pop3(user, ALICE)
            n = p.stat()[0]
            p.uidl()
            if n:
                head = b"\n".join(p.top(1, 0)[1])
                m = re.search(rb"Message-ID: <(m10\d\d@example.org)>", head)
                if m:
                    p.dele(1)
                    with lock:
                        pop_deleted.append(m.group(1).decode())
                else:
                    p.retr(n)
            p.quit()

    threads = [threading.Thread(target=guard(f)) for f in
               (lmtp, imap_worker(1), imap_worker(2), pop3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a client hung"
    assert not errors, errors
    assert len(delivered) > 5

    r = session(srv, user)
    select(r)
    lines = ok(r.cmd(b"F1 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Message-ID)])"), b"F1")
    ids, uids = [], []
    for x in lines[:-1]:
        if b" FETCH " not in x:
            continue
        uids.append(int(re.search(rb"UID (\d+)", x).group(1)))
        ids.append(re.search(rb"<([^>]+)>", x).group(1).decode())
    want = sorted(delivered + [f"m{1000 + i}@example.org" for i in range(old)
                               if f"m{1000 + i}@example.org" not in pop_deleted])
    assert sorted(ids) == want, (len(ids), len(want))
    assert uids == sorted(set(uids)), uids  # ascending, no duplicate
    p = srv.pop3(user, ALICE)
    uidl = p.uidl()[1]
    p.quit()
    assert len(uidl) == len(uids) == len(set(x.split()[1] for x in uidl))
