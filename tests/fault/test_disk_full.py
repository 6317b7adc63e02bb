"""A full disk: deliveries fail temporarily, nothing half-written shows,
and delivery works again as soon as there is space.

data_dir is a 2 MiB tmpfs (needs root; the test is skipped otherwise).
A file fills it; then LMTP must answer 4xx per recipient (RFC 2033 4.2,
RFC 3463 X.3.x / X.2.2 are all temporary), `yubin deliver` must exit 75
(EX_TEMPFAIL, so the MTA retries), no file may appear in new/ or cur/,
and nothing may be left in tmp/. Messages already there stay readable.
"""
import poplib
import subprocess

import pytest

from faultlib import IS_ROOT, err_bytes, USERS, YUBIN, Tmpfs, lmtp_cmd, lmtp_transaction, maildir_files

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root")

SMALL = b"Message-ID: <small@fault.test>\r\nSubject: small\r\n\r\nsmall body\r\n"
MEDIUM = b"Message-ID: <medium@fault.test>\r\nSubject: medium\r\n\r\n" + \
    (b"M" * 78 + b"\r\n") * 2500  # 200 KB: kept in memory, written straight to tmp/
LARGE = b"Message-ID: <large@fault.test>\r\nSubject: large\r\n\r\n" + \
    (b"L" * 78 + b"\r\n") * 4000  # 320 KB: spooled to a file by the server


def deliver(srv, user, msg):
    return subprocess.run([YUBIN, "deliver", "-u", user, "-f", "s@example.net",
                           "-c", str(srv.conf)], input=msg, capture_output=True, timeout=30)


def state(srv, user):
    """(message files, files in tmp/) of the user's Maildir."""
    files = sorted(p.name for p in maildir_files(srv, user))
    tmp = srv.maildir(user) / "tmp"
    return files, sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []


def pop3_stat(srv, user):
    p = srv.pop3(user, USERS[user])
    try:
        return p.stat()
    finally:
        p.quit()


@pytest.fixture
def full_server(fault_server):
    srv = fault_server(users={}, start=False)
    try:
        mount = Tmpfs(srv.data_dir, "2m").__enter__()
    except OSError as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        srv.add_user("alice", USERS["alice"])
        srv.add_user("bob", USERS["bob"])
        srv.start()
        yield srv, mount
    finally:
        if srv.proc is not None:
            srv.stop()
        mount.__exit__()


@pytest.mark.parametrize("leave", [0, 100_000], ids=["full", "nearly-full"])
def test_disk_full(full_server, leave):
    """leave=0: not one block free; leave=100 KB: the 200 KB message fails
    in the middle of writing its tmp/ file (which must not show), the
    320 KB one while the server spools it."""
    srv, mount = full_server
    before = b"Message-ID: <before@fault.test>\r\nSubject: x\r\n\r\nkept\r\n"
    assert srv.deliver("alice", before) == {}
    assert pop3_stat(srv, "alice")[0] == 1  # the index exists too
    files_before = state(srv, "alice")

    filler = mount.fill(leave=leave)
    for msg in ((SMALL,) if leave == 0 else ()) + (MEDIUM, LARGE):
        data_reply, replies, c = lmtp_transaction(srv, ["alice", "bob"], msg)
        codes = [r[0] for r in replies] or [data_reply[0]]
        assert all(400 <= code < 500 for code in codes), (data_reply, replies)
        assert lmtp_cmd(c, b"NOOP") == 250  # the session goes on
        c.close()
        res = deliver(srv, "alice", msg)
        assert res.returncode == 75, (res.returncode, res.stderr)
        assert state(srv, "alice") == files_before
        assert state(srv, "bob")[0] == []
    # the failure was the disk, where the test meant it to be, and logged
    log = srv.log_text()
    assert "step=write error=ENOSPC" in log, log[-2000:]
    assert "op=spool_write" in log and "error=ENOSPC" in log, log[-2000:]
    # what was there is still served (or a temporary error, never less)
    try:
        count = pop3_stat(srv, "alice")[0]
    except poplib.error_proto as e:
        assert "SYS/TEMP" in str(e), e
    else:
        assert count == 1
    filler.unlink()
    for msg in (SMALL, MEDIUM, LARGE):
        data_reply, replies, c = lmtp_transaction(srv, ["bob"], msg)
        assert [r[0] for r in replies] == [250], (data_reply, replies)
        c.close()
    assert deliver(srv, "alice", SMALL).returncode == 0
    assert pop3_stat(srv, "alice")[0] == 2
    assert pop3_stat(srv, "bob")[0] == 3
    assert state(srv, "alice")[1] == [] and state(srv, "bob")[1] == []
    for path in maildir_files(srv, "bob"):
        data = path.read_bytes()
        assert any(data.endswith(m) for m in (SMALL, MEDIUM, LARGE)), path


def test_disk_full_pop3_quit(full_server):
    """A POP3 QUIT on a full disk: deletions either happen (+OK) or not
    at all (-ERR); the answer tells the truth."""
    srv, mount = full_server
    for i in range(3):
        assert srv.deliver("alice", b"Message-ID: <q%d@fault.test>\r\n\r\nx\r\n" % i) == {}
    assert pop3_stat(srv, "alice")[0] == 3
    filler = mount.fill()
    p = srv.pop3("alice", USERS["alice"])
    p.dele(1)
    p.dele(2)
    try:
        reply = p.quit()
    except poplib.error_proto as e:
        reply = err_bytes(e)
    filler.unlink()
    left = pop3_stat(srv, "alice")[0]
    if reply.startswith(b"+OK"):
        assert left == 1, reply
    else:
        assert left == 3 and b"[SYS/TEMP]" in reply, reply
    assert len(maildir_files(srv, "alice")) == left


def test_disk_full_imap_append(full_server):
    """IMAP APPEND on a full disk gets NO (nothing half-written shows, the
    session goes on), and works again once there is space."""
    import imaplib
    srv, mount = full_server
    assert srv.deliver("alice", SMALL) == {}
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=10)
    m.login("alice", USERS["alice"])
    assert m.select("INBOX") == ("OK", [b"1"])
    files_before = state(srv, "alice")
    filler = mount.fill()
    for msg in (MEDIUM, LARGE):
        typ, data = m.append("INBOX", "(\\Seen)", None, msg)
        assert typ == "NO", (typ, data)
        assert state(srv, "alice")[0] == files_before[0]
    assert m.noop()[0] == "OK"  # the session goes on
    filler.unlink()
    typ, data = m.append("INBOX", None, None, MEDIUM)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[-1] == b"2", data
    m.logout()
    assert state(srv, "alice")[1] == []
