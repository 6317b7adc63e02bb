"""A folder big enough to have a saved view (yubin-view, 2,000 messages
and up): SELECT maps the copy and catches up with what changed since it
was written. Whatever other sessions, POP3, LMTP and other programs did
in between, the client must see exactly what a view read afresh from the
index shows.

Real clients: Python's imaplib and poplib, LMTP through smtplib.
"""
import os
import poplib
import re

from conftest import USERS
from imap_helpers import login, plain

N = 2500


def write_messages(maildir, first, count):
    """Message files straight into new/, owned like the Maildir (as a
    migration or another delivery agent leaves them)."""
    st = os.stat(maildir)
    for i in range(first, first + count):
        data = plain(i).replace(b"\r\n", b"\n")
        name = f"{1700000000 + i}.M{i}P1.import.example,S={len(data)}"
        path = maildir / "new" / name
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, st.st_uid, st.st_gid)


def select_state(m):
    """What SELECT (CONDSTORE) and FETCH 1:* (UID FLAGS MODSEQ) say."""
    typ, data = m.select("INBOX")
    assert typ == "OK"
    resp = {}
    for key in ("EXISTS", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"):
        resp[key] = m.untagged_responses.get(key)
    typ, data = m.fetch("1:*", "(UID FLAGS MODSEQ)")
    assert typ == "OK"
    msgs = []
    for line in data:
        mm = re.search(rb"UID (\d+)", line)
        flags = re.search(rb"FLAGS \(([^)]*)\)", line).group(1).split()
        modseq = re.search(rb"MODSEQ \((\d+)\)", line).group(1)
        msgs.append((int(mm.group(1)), sorted(f for f in flags if f != b"\\Recent"), modseq))
    return resp, msgs


def test_saved_view_follows_every_change(server):
    m = login(server)
    m.select("INBOX")  # makes the Maildir
    m.logout()
    maildir = server.maildir("alice")
    write_messages(maildir, 1, N)

    a = login(server)
    typ, data = a.select("INBOX")
    assert typ == "OK" and int(data[0]) == N
    view = maildir / "yubin-view"
    assert view.exists()
    a.logout()

    # changes by another IMAP session
    b = login(server)
    b._simple_command("ENABLE", "CONDSTORE")
    b.select("INBOX")
    assert b.uid("STORE", "10:20", "+FLAGS", r"(\Seen $Work)")[0] == "OK"
    assert b.uid("STORE", "30,31,2400", "+FLAGS", r"(\Deleted)")[0] == "OK"
    assert b.expunge()[0] == "OK"
    b.logout()
    # by POP3
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=10)
    p.user("alice")
    p.pass_(USERS["alice"])
    p.dele(1)
    p.dele(2)
    p.quit()
    # by LMTP
    for i in range(3):
        assert server.deliver("alice", plain(9000 + i)) == {}
    # by another program: flags in file names
    cur = sorted(os.listdir(maildir / "cur"))[100:103]
    for name in cur:
        assert name.endswith(":2,")
        os.rename(maildir / "cur" / name, maildir / "cur" / (name + "F"))
    mtime = view.stat().st_mtime_ns

    c = login(server)
    c._simple_command("ENABLE", "CONDSTORE")
    got = select_state(c)
    c.logout()
    assert view.stat().st_mtime_ns == mtime  # caught up, not written again

    view.unlink()
    d = login(server)
    d._simple_command("ENABLE", "CONDSTORE")
    want = select_state(d)
    d.logout()

    assert got == want
    resp, msgs = got
    assert len(msgs) == N - 3 - 2 + 3
    uids = [u for u, _, _ in msgs]
    assert 1 not in uids and 2 not in uids and 30 not in uids and 2400 not in uids
    flags = dict((u, f) for u, f, _ in msgs)
    assert flags[15] == [b"$Work", b"\\Seen"]
    assert sum(1 for f in flags.values() if b"\\Flagged" in f) == 3
