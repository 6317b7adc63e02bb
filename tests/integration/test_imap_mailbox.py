"""IMAP with mail: folders (LIST, CREATE, DELETE, RENAME, SUBSCRIBE,
STATUS), SELECT/EXAMINE, FETCH, STORE, SEARCH, EXPUNGE, COPY, MOVE, APPEND,
IDLE, and mail shared with POP3 and LMTP.

Real clients: Python's imaplib and curl's imap:// support.
"""
import imaplib
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import USERS

ALICE = USERS["alice"]


def login(server, user="alice"):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    m.login(user, USERS[user])
    return m


def msg(n, extra=b""):
    return (b"From: Sender <s@example.org>\r\nTo: alice@example.org\r\n"
            b"Subject: message %d\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            b"Message-ID: <m%d@example.org>\r\n\r\nbody of message %d\r\n" % (n, n, n) + extra)


def deliver(server, n, user="alice"):
    for i in range(1, n + 1):
        server.deliver(user, msg(i))


def names(m, pattern="*"):
    typ, data = m.list('""', pattern)
    assert typ == "OK"
    out = []
    for line in data:
        mm = re.match(rb'\((.*?)\) "/" (.*)', line)
        out.append((mm.group(2).strip(b'"').decode(), mm.group(1).decode()))
    return out


def test_list_special_use_created(server):
    m = login(server)
    got = dict(names(m))
    assert "INBOX" in got
    for name, attr in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
                       ("Junk", "\\Junk"), ("Archive", "\\Archive")):
        assert name in got and attr in got[name], got
    typ, data = m.list('""', '""')
    assert data == [b'(\\Noselect) "/" ""']
    m.logout()


def test_create_delete_rename_subscribe(server):
    m = login(server)
    assert m.create("Work/Projects")[0] == "OK"
    got = dict(names(m))
    assert "Work" in got and "\\HasChildren" in got["Work"]
    assert "\\HasNoChildren" in got["Work/Projects"]
    assert m.create("Work/Projects")[0] == "NO"
    assert m.rename("Work", "Job")[0] == "OK"
    got = dict(names(m))
    assert "Job/Projects" in got and "Work" not in got
    assert m.subscribe("Job/Projects")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert any(b"Job/Projects" in d for d in data)
    assert m.delete("Job/Projects")[0] == "OK"
    assert "Job/Projects" not in dict(names(m))
    assert m.delete("INBOX")[0] == "NO"
    for bad in ("../x", "a//b", '""', "a.b", "~/x", "/etc"):
        typ, _ = m.create(bad)
        assert typ == "NO", bad
    m.logout()


def test_utf7_names(server):
    m = login(server)
    # "Entwürfe" in modified UTF-7, as a rev1 client sends it
    assert m.create("Entw&APw-rfe")[0] == "OK"
    assert "Entw&APw-rfe" in dict(names(m))
    assert (server.maildir("alice") / ".Entw&APw-rfe").is_dir()
    assert m.create("Bad&-name&")[0] != "OK"
    m.logout()


def test_select_fetch_store_expunge(server):
    deliver(server, 3)
    m = login(server)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE)")
    assert typ == "OK" and len(data) == 3
    typ, data = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert data[0][1] == b"Subject: message 2\r\n\r\n"
    typ, data = m.fetch("2", "(ENVELOPE)")
    assert b'"message 2"' in data[0] and b"<m2@example.org>" in data[0]
    typ, data = m.fetch("2", "(BODYSTRUCTURE)")
    assert b'"TEXT" "PLAIN"' in data[0].upper()
    typ, data = m.fetch("3", "(RFC822)")
    assert data[0][1].endswith(b"body of message 3\r\n")
    typ, data = m.fetch("3", "(FLAGS)")
    assert b"\\Seen" in data[0]  # RFC822 is not a PEEK
    typ, data = m.fetch("1", "(BODY[]<0.4>)")
    assert data[0][1] == b"Retu"
    assert m.store("1", "+FLAGS", "(\\Deleted $Important)")[0] == "OK"
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Deleted" in data[0] and b"$Important" in data[0]
    typ, data = m.expunge()
    assert data == [b"1"]
    typ, data = m.search(None, "ALL")
    assert data == [b"1 2"]
    m.close()
    m.logout()


def test_search(server):
    deliver(server, 5)
    m = login(server)
    m.select("INBOX")
    m.store("2", "+FLAGS", "\\Flagged")
    assert m.search(None, "FLAGGED")[1] == [b"2"]
    assert m.search(None, "UNFLAGGED")[1] == [b"1 3 4 5"]
    assert m.search(None, 'SUBJECT "message 4"')[1] == [b"4"]
    assert m.search(None, 'BODY "of message 5"')[1] == [b"5"]
    assert m.search(None, 'OR SUBJECT "message 1" SUBJECT "message 3"')[1] == [b"1 3"]
    assert m.search(None, "NOT 1:3")[1] == [b"4 5"]
    assert m.search(None, "LARGER 1")[1] == [b"1 2 3 4 5"]
    typ, data = m.uid("SEARCH", "FLAGGED")
    assert typ == "OK" and len(data[0].split()) == 1
    assert m.search("UTF-8", 'SUBJECT "message"')[0] == "OK"
    with pytest.raises(imaplib.IMAP4.error):
        m.search(None, "NOSUCHKEY")
    m.logout()


def test_copy_move_append(server):
    deliver(server, 2)
    m = login(server)
    m.select("INBOX")
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = m.uid("MOVE", "1", "Trash")
    assert typ == "OK"
    assert m.status("Archive", "(MESSAGES)")[1] == [b'"Archive" (MESSAGES 2)'] or \
        b"MESSAGES 2" in m.status("Archive", "(MESSAGES)")[1][0]
    typ, data = m.search(None, "ALL")
    assert data == [b"1"]
    typ, data = m.append("Drafts", "(\\Draft)", None, msg(9))
    assert typ == "OK" and b"APPENDUID" in data[0]
    m.select("Drafts")
    typ, data = m.fetch("1", "(FLAGS BODY[TEXT])")
    assert b"\\Draft" in data[0][0] and data[0][1] == b"body of message 9\r\n"
    assert m.append("NoSuchFolder", None, None, msg(1))[0] == "NO"
    m.logout()


def test_append_large_literal(server):
    m = login(server)
    big = msg(1, b"x" * 70 + b"\r\n") + (b"y" * 998 + b"\r\n") * 5000
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "OK"
    m.select("INBOX")
    typ, data = m.fetch("1", "(RFC822.SIZE)")
    assert b"RFC822.SIZE %d" % len(big) in data[0]
    m.logout()


def test_idle_sees_delivery(server):
    m = login(server)
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    t0 = time.time()
    server.deliver("alice", msg(1))
    line = b""
    while b"EXISTS" not in line:
        line = m.readline()
        assert time.time() - t0 < 5, "IDLE did not report the delivery"
    assert line == b"* 1 EXISTS\r\n"
    m.send(b"DONE\r\n")
    while True:
        line = m.readline()
        if line.startswith(tag):
            assert b"OK" in line
            break
    m.logout()


def test_pop3_and_imap_share_mail(server):
    deliver(server, 2)
    m = login(server)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Flagged")
    p = server.pop3("alice", ALICE)
    assert p.stat()[0] == 2  # IMAP flags do not disturb POP3
    uidls = p.uidl()[1]
    p.dele(2)
    p.quit()
    typ, data = m.noop()
    typ, data = m.search(None, "ALL")
    assert data == [b"1"]  # the POP3 deletion is seen by IMAP
    p = server.pop3("alice", ALICE)
    assert p.uidl()[1][0].split()[1] == uidls[0].split()[1]
    p.quit()
    m.logout()


def test_curl_imap(server):
    deliver(server, 2)
    url = f"imap://127.0.0.1:{server.imap_port}/INBOX"
    out = subprocess.run(["curl", "-s", "-u", f"alice:{ALICE}", url + ";UID=1"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.endswith(b"body of message 1\r\n")
    out = subprocess.run(["curl", "-s", "-u", f"alice:{ALICE}",
                          f"imap://127.0.0.1:{server.imap_port}/"], capture_output=True,
                         timeout=30)
    assert b"INBOX" in out.stdout


def test_condstore_qresync(server):
    """RFC 7162: modseqs, UNCHANGEDSINCE, and a QRESYNC reconnect that learns
    what changed (VANISHED (EARLIER) and FETCH FLAGS) without a full fetch."""
    from test_imap_session import raw
    deliver(server, 3)
    r = raw(server)
    r.cmd(b"a LOGIN alice " + ALICE.encode())
    assert r.cmd(b"b ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC\r\n"
    out = b"".join(r.cmd(b"c SELECT INBOX"))
    validity = int(re.search(rb"UIDVALIDITY (\d+)", out).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", out).group(1))
    out = b"".join(r.cmd(b"d FETCH 1 (MODSEQ)"))
    m1 = int(re.search(rb"MODSEQ \((\d+)\)", out).group(1))
    assert m1 <= modseq
    out = b"".join(r.cmd(b"e STORE 1 +FLAGS (\\Seen)"))
    assert re.search(rb"\* 1 FETCH \(.*MODSEQ \((\d+)\)", out), out
    # 3.1.3: a message modified since the given modseq is not changed
    out = b"".join(r.cmd(b"f STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % m1))
    assert b"f OK [MODIFIED 1]" in out, out
    r.cmd(b"g STORE 2 +FLAGS.SILENT (\\Deleted)")
    out = b"".join(r.cmd(b"h EXPUNGE"))
    assert b"* VANISHED 2\r\n" in out, out  # QRESYNC: VANISHED, not EXPUNGE
    r.cmd(b"z LOGOUT")

    r = raw(server)
    r.cmd(b"a LOGIN alice " + ALICE.encode())
    # without ENABLE QRESYNC the parameter is an error
    assert r.cmd(b"b SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq))[-1].startswith(b"b BAD")
    r.cmd(b"c ENABLE QRESYNC")
    out = b"".join(r.cmd(b"d SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq)))
    assert b"* VANISHED (EARLIER) 2\r\n" in out, out
    assert re.search(rb"\* 1 FETCH \(FLAGS \(\\Seen\) UID 1 MODSEQ \(\d+\)\)", out), out
    assert b"* 2 FETCH" not in out  # message 3 (now seq 2) did not change
    out = b"".join(r.cmd(b"e UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq))
    assert b"* VANISHED (EARLIER) 2\r\n" in out, out
    assert out.count(b"FETCH (") == 1, out
    r.cmd(b"z LOGOUT")


def test_search_body_full_text_index(server):
    """SEARCH BODY/TEXT through the full-text index: any substring of the
    decoded text parts; the index follows new mail."""
    import base64
    plain = msg(1, b"The quarterly projections are attached.\r\n")
    b64 = (b"From: a@example.org\r\nSubject: encoded\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes("Grüße aus Zürich, meeting tomorrow".encode()) )
    attach = (b"From: a@example.org\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
              b"Content-Type: text/plain\r\n\r\nsee the file\r\n--XX\r\n"
              b"Content-Type: application/octet-stream\r\n\r\nquarterly binary\r\n--XX--\r\n")
    for body in (plain, b64, attach):
        server.deliver("alice", body)
    m = login(server)
    m.select("INBOX")
    assert m.search(None, "BODY", "quarterly") == ("OK", [b"1"])  # not the octet-stream part
    assert m.search(None, "BODY", "projection") == ("OK", [b"1"])  # a word prefix
    assert m.search(None, "BODY", "meeting") == ("OK", [b"2"])  # base64, decoded
    m.literal = "Zürich".encode()  # 8-bit text goes as a literal
    assert m.search("UTF-8", "BODY") == ("OK", [b"2"])
    assert m.search(None, "TEXT", "attachment") == ("OK", [b"3"])  # header words too
    assert m.search(None, "BODY", "nowhere") == ("OK", [b""])
    assert m.search(None, "NOT", "BODY", "meeting") == ("OK", [b"1 3"])
    # RFC 9051 6.4.4: substrings, also through the index: inside a word,
    # the end of one word and the start of the next, across punctuation
    assert m.search(None, "BODY", "arterl") == ("OK", [b"1"])
    assert m.search(None, "BODY", '"ections are att"') == ("OK", [b"1"])
    assert m.search(None, "BODY", '"ing tomor"') == ("OK", [b"2"])
    assert m.search(None, "TEXT", "ttachmen") == ("OK", [b"3"])
    assert m.search(None, "BODY", "ectionz") == ("OK", [b""])
    assert m.search(None, "BODY", '"s are"') == ("OK", [b"1"])
    # header keys stay exact substrings
    assert m.search(None, "SUBJECT", "ncode") == ("OK", [b"2"])
    server.deliver("alice", msg(4, b"another quarterly report\r\n"))
    m.noop()
    assert m.search(None, "BODY", "quarterly") == ("OK", [b"1 4"])
    m.logout()
    # every message is in the index, and the index answers word queries
    import sqlite3
    db = sqlite3.connect(server.maildir("alice") / "yubin.sqlite")
    assert db.execute("SELECT count(*) FROM fts_done").fetchone()[0] == 4
    assert len(db.execute("SELECT rowid FROM fts WHERE fts MATCH 'meeting'").fetchall()) == 1
    db.close()


def test_search_header_keys_from_cached_structure(server):
    """Header keys give the same answers whether the message's structure is
    cached (after FETCH ENVELOPE) or not: folded, encoded and repeated
    fields, and a field the envelope does not keep."""
    server.deliver("alice", (
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: a@example.org,\r\n"
        b" b@example.net\r\nCc: c@example.org\r\nSubject: a long subject\r\n"
        b" folded over =?utf-8?b?ZMO8cmVy?= lines\r\nX-Tag: blue\r\n\r\nbody\r\n"))
    server.deliver("alice", msg(2))
    m = login(server)
    m.select("INBOX")
    queries = [("SUBJECT", '"subject folded"'), ("SUBJECT", "dürer".encode()),
               ("FROM", "Jürgen".encode()), ("TO", "b@example.net"), ("CC", "c@example"),
               ("SUBJECT", '"message 2"'),
               ("FROM", "nobody"), ("HEADER", "X-Tag", "blue")]

    def run():
        out = []
        for q in queries:
            if isinstance(q[-1], bytes):
                m.literal = q[-1]
                out.append(m.search("UTF-8", *q[:-1])[1])
            else:
                out.append(m.search(None, *q)[1])
        return out
    before = run()
    assert before == [[b"1"], [b"1"], [b"1"], [b"1"], [b"1"], [b"2"], [b""], [b"1"]], before
    m.fetch("1:*", "(ENVELOPE)")  # now the structure is cached
    assert run() == before
    m.logout()
