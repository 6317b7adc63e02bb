"""The store seen through POP3: Dovecot migration, deletion and expiry
policies, LOGIN-DELAY, multiple folders, and changes other programs make
to the Maildir while yubin runs.
"""
import os
import poplib
import re
import shutil
import sqlite3
import time

import pytest

from conftest import IS_ROOT, SANITIZER_MARKERS, USERS, Server


@pytest.fixture(autouse=True)
def _cli_sanitizer_check(monkeypatch):
    """The command-line runs are the binary under test too: fail on any
    sanitizer report in their stderr (the server's log is checked by the
    fixture)."""
    orig = Server.cli

    def cli(self, *args, **kw):
        res = orig(self, *args, **kw)
        for marker in SANITIZER_MARKERS:
            assert marker.encode() not in res.stderr, res.stderr.decode(errors="replace")
        return res

    monkeypatch.setattr(Server, "cli", cli)
from dovecot_maildir import dovecot_body, make_dovecot_maildir

MSG = b"From: s@example.net\r\nSubject: m%d\r\n\r\nbody %d\r\n"


# ---- helpers ----------------------------------------------------------------

def own_like_data_dir(server, path):
    """Give path (recursively) to the account the server runs as."""
    if not IS_ROOT:
        return
    st = os.stat(server.data_dir)
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, st.st_uid, st.st_gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), st.st_uid, st.st_gid)


def prepare_mail_root(server):
    root = server.data_dir / "mail"
    root.mkdir(parents=True, exist_ok=True)
    own_like_data_dir(server, root)


def login(server, user="alice"):
    return server.pop3(user, USERS[user])


def uidls(p):
    return [line.split()[1].decode() for line in p.uidl()[1]]


def sizes(p):
    return [int(line.split()[1]) for line in p.list()[1]]


def retr(p, n):
    return b"\r\n".join(p.retr(n)[1]) + b"\r\n"


def snapshot(server, user="alice"):
    """(uidls, bodies) of a fresh POP3 session, which then QUITs."""
    p = login(server, user)
    try:
        ids = uidls(p)
        bodies = [retr(p, i + 1) for i in range(len(ids))]
    finally:
        p.quit()
    return ids, bodies


def deliver(server, n, user="alice"):
    for i in range(n):
        server.deliver(user, MSG % (i, i))


def message_files(server, user="alice", folder=""):
    root = server.maildir(user) / folder
    return sorted(p for sub in ("new", "cur") for p in (root / sub).iterdir()
                  if not p.name.startswith("."))


def crlf_size(data):
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def pop3_capa(server):
    p = server.pop3()
    try:
        return p.capa()
    finally:
        p.quit()


# ---- a Maildir left by Dovecot -------------------------------------------------

DOVECOT_MESSAGES = [
    {"body": "From: a@example.net\nSubject: one\n\nfirst\n", "flags": "S"},
    {"body": "From: b@example.net\nSubject: two\n\nsecond\n.dot line\n", "flags": "RS"},
    {"body": "From: c@example.net\nSubject: three\n\nthird\n", "flags": ""},
    {"body": "From: d@example.net\nSubject: four\n\nfourth, still in new/\n", "new": True},
]


def expected_retr(spec):
    body = spec["body"] if isinstance(spec, dict) else spec
    return dovecot_body(body).replace(b"\n", b"\r\n")


def dovecot_server(make_server, messages, overrides=None, **kw):
    srv = make_server(start=False, overrides=overrides)
    prepare_mail_root(srv)
    ids = make_dovecot_maildir(str(srv.maildir("alice")), messages, **kw)
    own_like_data_dir(srv, srv.maildir("alice"))
    srv.start()
    return srv, ids


@pytest.mark.parametrize("mode", ["default", "pop3_uidl_f", "explicit"])
def test_dovecot_maildir_uidls(make_server, mode):
    kw = {"uidvalidity": 1650000000}
    if mode == "pop3_uidl_f":
        kw["with_pop3_uidl"] = True
    elif mode == "explicit":
        kw["with_pop3_uidl"] = ["UID1-abc", None, "000001f4.4b2c", "X"]
    srv, want = dovecot_server(make_server, DOVECOT_MESSAGES, **kw)
    assert len(set(want)) == len(want)
    if mode == "default":
        assert want[0] == "00000001%08x" % 1650000000
    p = login(srv)
    assert uidls(p) == want
    assert p.stat()[0] == len(DOVECOT_MESSAGES)
    # LIST sizes are the CRLF sizes, i.e. W= in the file names
    assert sizes(p) == [len(expected_retr(m)) for m in DOVECOT_MESSAGES]
    for i, spec in enumerate(DOVECOT_MESSAGES):
        assert retr(p, i + 1) == expected_retr(spec)
    # single-message forms agree with the list
    for i, uidl in enumerate(want):
        assert p._shortcmd("UIDL %d" % (i + 1)).split() == [b"+OK", str(i + 1).encode(),
                                                            uidl.encode()]
    p.quit()


def test_dovecot_uidls_with_gaps_and_stale_header(make_server):
    """UIDs with holes (messages expunged in Dovecot) and an N header that
    lags behind the last line (Dovecot appends without rewriting it)."""
    msgs = [f"Subject: g{i}\n\nbody {i}\n" for i in range(5)]
    srv = make_server(start=False)
    prepare_mail_root(srv)
    path = srv.maildir("alice")
    make_dovecot_maildir(str(path), msgs, uidvalidity=1600000000, nextuid=3)
    # Dovecot keeps the lines in ascending UID order, but UIDs have holes
    # and need not follow the file names' times: line k names message
    # perm[k] and carries UID uids[k].
    perm, uids = [2, 0, 4, 1, 3], [3, 4, 7, 9, 12]
    lines = (path / "dovecot-uidlist").read_text().splitlines()
    header, body = lines[0], lines[1:]
    rewritten = [f"{uids[k]} {body[perm[k]].split(' ', 1)[1]}" for k in range(5)]
    (path / "dovecot-uidlist").write_text("\n".join([header] + rewritten) + "\n")
    own_like_data_dir(srv, path)
    srv.start()
    order = perm
    want = ["%08x%08x" % (uids[k], 1600000000) for k in range(5)]
    ids, bodies = snapshot(srv)
    assert ids == want
    assert bodies == [expected_retr(msgs[i]) for i in order]
    # a new message after the migration: a new UIDL, listed last
    deliver(srv, 1)
    ids2, bodies2 = snapshot(srv)
    assert ids2[:5] == want and len(ids2) == 6
    assert ids2[5] not in want
    assert bodies2[5].endswith(MSG % (0, 0))
    # UIDLs survive losing the index
    srv.stop()
    for f in path.glob("yubin.sqlite*"):
        f.unlink()
    srv.start()
    assert snapshot(srv)[0] == ids2


def test_dovecot_maildir_at_custom_location(make_server):
    """mail.location pointing at existing Dovecot-style virtual mailboxes
    (docs/CONFIG.md: /var/vmail/%d/%n/Maildir)."""
    srv = make_server(start=False)
    vmail = srv.dir / "vmail"
    srv.settings["mail.location"] = str(vmail / "%d" / "%n" / "Maildir")
    srv.write_config()
    path = vmail / "example.org" / "carol" / "Maildir"
    want = make_dovecot_maildir(str(path), DOVECOT_MESSAGES, uidvalidity=1650000000)
    own_like_data_dir(srv, vmail)
    srv.start()
    ids, bodies = snapshot(srv, "carol@example.org")
    assert ids == want
    assert bodies == [expected_retr(m) for m in DOVECOT_MESSAGES]
    # deliveries go there too
    srv.deliver("carol@example.org", MSG % (9, 9))
    assert len([f for f in (path / "new").iterdir() if ".test.example," in f.name]) == 1
    assert not (srv.data_dir / "mail" / "carol@example.org").exists()


def test_dovecot_new_messages_get_new_uidls(make_server):
    srv, want = dovecot_server(make_server, DOVECOT_MESSAGES, uidvalidity=1650000000)
    ids, _ = snapshot(srv)
    assert ids == want
    deliver(srv, 2)
    assert srv.deliver_cmd("alice", b"Subject: lda\n\nvia deliver\n").returncode == 0
    ids2, bodies = snapshot(srv)
    assert ids2[:4] == want
    assert len(ids2) == 7 and len(set(ids2)) == 7
    assert bodies[4].endswith(MSG % (0, 0))
    assert bodies[5].endswith(MSG % (1, 1))
    assert bodies[6].endswith(b"via deliver\r\n")
    # stable across sessions and a restart
    srv.stop()
    srv.start()
    assert snapshot(srv)[0] == ids2


def test_dovecot_uidlist_extension_fields(make_server):
    """Lines with other extension fields (W vsize, G guid, O pop3 order)
    as Dovecot writes them in some setups: still the same UIDLs."""
    msgs = [f"Subject: e{i}\n\nbody {i}\n" for i in range(3)]
    srv = make_server(start=False)
    prepare_mail_root(srv)
    path = srv.maildir("alice")
    want = make_dovecot_maildir(str(path), msgs, uidvalidity=1650000000,
                                with_pop3_uidl=["abc", None, ""])
    lines = (path / "dovecot-uidlist").read_text().splitlines()
    out = [lines[0]]
    for k, line in enumerate(lines[1:]):
        uid, rest = line.split(" ", 1)
        out.append(f"{uid} W23 G{'%032x' % (k + 1)} {rest}")
    (path / "dovecot-uidlist").write_text("\n".join(out) + "\n")
    own_like_data_dir(srv, path)
    srv.start()
    ids, bodies = snapshot(srv)
    assert ids == want
    assert bodies == [expected_retr(m) for m in msgs]


def test_dovecot_message_not_in_uidlist(make_server):
    """A file Dovecot's LDA put in new/ after its last uidlist update."""
    srv = make_server(start=False)
    prepare_mail_root(srv)
    path = srv.maildir("alice")
    want = make_dovecot_maildir(str(path), DOVECOT_MESSAGES[:2], uidvalidity=1650000000)
    extra = b"Subject: late\n\nlate arrival\n"
    name = "1700000100.M5P77.mx.example.org,S=%d,W=%d" % (len(extra), crlf_size(extra))
    (path / "new" / name).write_bytes(extra)
    own_like_data_dir(srv, path)
    srv.start()
    ids, bodies = snapshot(srv)
    assert ids[:2] == want and len(ids) == 3 and ids[2] not in want
    assert bodies[2] == extra.replace(b"\n", b"\r\n")


def test_dovecot_dele_then_new_messages(make_server):
    srv, want = dovecot_server(make_server, DOVECOT_MESSAGES, uidvalidity=1650000000)
    p = login(srv)
    p.dele(2)
    p.quit()
    ids, _ = snapshot(srv)
    assert ids == [want[0], want[2], want[3]]
    deliver(srv, 1)
    ids2, _ = snapshot(srv)
    assert ids2[:3] == ids and ids2[3] not in want


# ---- pop3.delete ------------------------------------------------------------------

def test_delete_yes_removes_file(server):
    deliver(server, 3)
    p = login(server)
    ids = uidls(p)
    p.dele(2)
    p.quit()
    after = message_files(server)
    assert len(after) == 2
    contents = sorted(f.read_bytes()[-len(MSG % (0, 0)):] for f in after)
    assert contents == [MSG % (0, 0), MSG % (2, 2)]
    assert snapshot(server)[0] == [ids[0], ids[2]]


def test_dele_without_quit_deletes_nothing(server):
    deliver(server, 2)
    p = login(server)
    p.dele(1)
    p.dele(2)
    p.sock.close()  # dropped connection: no UPDATE state
    p.file.close()
    time.sleep(0.2)
    assert len(snapshot(server)[0]) == 2
    assert len(message_files(server)) == 2


def test_rset_undoes_dele(server):
    deliver(server, 2)
    p = login(server)
    p.dele(1)
    p.rset()
    p.quit()
    assert len(snapshot(server)[0]) == 2


def test_delete_hide(make_server):
    srv = make_server(overrides={"pop3.delete": "hide"})
    deliver(srv, 3)
    p = login(srv)
    ids = uidls(p)
    p.dele(1)
    p.dele(3)
    p.quit()
    ids2, bodies = snapshot(srv)
    assert ids2 == [ids[1]]
    assert bodies[0].endswith(MSG % (1, 1))
    # the files stay on disk, for IMAP or webmail
    files = message_files(srv)
    assert len(files) == 3
    # still hidden after a restart and after losing nothing else
    srv.stop()
    srv.start()
    assert snapshot(srv)[0] == [ids[1]]
    # a new message is visible as usual
    deliver(srv, 1)
    assert len(snapshot(srv)[0]) == 2


def test_hidden_survives_rename_by_other_program(make_server):
    srv = make_server(overrides={"pop3.delete": "hide"})
    deliver(srv, 2)
    p = login(srv)
    ids = uidls(p)
    p.dele(1)
    p.quit()
    # an IMAP client or a user's tool moves everything to cur/ with flags
    for f in list((srv.maildir("alice") / "new").iterdir()):
        os.rename(f, srv.maildir("alice") / "cur" / (f.name + ":2,S"))
    assert snapshot(srv)[0] == [ids[1]]


def test_hidden_survives_index_rebuild(make_server):
    """The index is a cache that is rebuilt when missing, corrupt or of
    another schema version (docs/ARCHITECTURE.md); a message deleted over
    POP3 with pop3.delete = hide must not come back when that happens, or
    every POP3 client downloads it again."""
    srv = make_server(overrides={"pop3.delete": "hide"})
    deliver(srv, 2)
    p = login(srv)
    ids = uidls(p)
    p.dele(1)
    p.quit()
    srv.stop()
    for f in srv.maildir("alice").glob("yubin.sqlite*"):
        f.unlink()
    srv.start()
    assert snapshot(srv)[0] == [ids[1]]


# ---- pop3.expire_days ----------------------------------------------------------------

def test_expire_zero_removes_retrieved_at_quit(make_server):
    srv = make_server(overrides={"pop3.expire_days": "0"})
    assert "EXPIRE" in pop3_capa(srv) and pop3_capa(srv)["EXPIRE"][0] == "0"
    deliver(srv, 4)
    p = login(srv)
    ids = uidls(p)
    p.retr(1)
    p.top(3, 0)  # TOP counts as retrieval (docs/CONFIG.md)
    p.quit()
    p = login(srv)
    assert uidls(p) == [ids[1], ids[3]]
    p.quit()
    assert len(message_files(srv)) == 2


def test_expire_zero_needs_quit(make_server):
    srv = make_server(overrides={"pop3.expire_days": "0"})
    deliver(srv, 2)
    p = login(srv)
    p.retr(1)
    p.sock.close()
    p.file.close()
    time.sleep(0.2)
    p = login(srv)
    assert p.stat()[0] == 2
    p.quit()


def test_expire_zero_with_hide(make_server):
    srv = make_server(overrides={"pop3.expire_days": "0", "pop3.delete": "hide"})
    deliver(srv, 2)
    p = login(srv)
    ids = uidls(p)
    p.retr(2)
    p.quit()
    p = login(srv)
    assert uidls(p) == [ids[0]]
    p.quit()
    assert len(message_files(srv)) == 2


def test_expire_days_never(server):
    assert pop3_capa(server)["EXPIRE"][0] == "NEVER"
    deliver(server, 1)
    snapshot(server)  # retrieves everything
    assert len(snapshot(server)[0]) == 1


def backdate_retrieval(server, uidl, seconds):
    """Pretend message `uidl` was retrieved `seconds` ago."""
    db_path = server.maildir("alice") / "yubin.sqlite"
    db = sqlite3.connect(str(db_path), timeout=10)
    try:
        cur = db.execute("UPDATE messages SET pop3_retrieved_at = ? WHERE uidl = ? "
                         "AND pop3_retrieved_at IS NOT NULL",
                         (int(time.time()) - seconds, uidl))
        assert cur.rowcount == 1, "no retrieval recorded for %s" % uidl
        db.commit()
    finally:
        db.close()
    own_like_data_dir(server, server.maildir("alice"))


def test_expire_days_one(make_server):
    srv = make_server(overrides={"pop3.expire_days": "1"})
    assert pop3_capa(srv)["EXPIRE"][0] == "1"
    deliver(srv, 3)
    p = login(srv)
    ids = uidls(p)
    p.retr(1)
    p.retr(2)
    p.quit()
    # just retrieved: nothing expires yet
    assert snapshot(srv)[0] == ids
    srv.stop()
    backdate_retrieval(srv, ids[0], 2 * 86400)
    backdate_retrieval(srv, ids[1], 86400 - 600)  # retrieved 23h50m ago: stays
    srv.start()
    p = login(srv)
    assert uidls(p) == [ids[1], ids[2]]
    p.quit()
    assert len(message_files(srv)) == 2


def test_expire_days_one_with_hide(make_server):
    srv = make_server(overrides={"pop3.expire_days": "1", "pop3.delete": "hide"})
    deliver(srv, 2)
    p = login(srv)
    ids = uidls(p)
    p.retr(1)
    p.quit()
    srv.stop()
    backdate_retrieval(srv, ids[0], 3 * 86400)
    srv.start()
    assert snapshot(srv)[0] == [ids[1]]
    assert len(message_files(srv)) == 2  # hidden, not removed


# ---- pop3.login_delay -----------------------------------------------------------------

def test_login_delay(make_server):
    srv = make_server(overrides={"pop3.login_delay": "2"})
    capa = pop3_capa(srv)
    assert capa.get("LOGIN-DELAY", [None])[0] == "2", capa
    p = login(srv)
    t0 = time.monotonic()
    p.quit()
    p = srv.pop3()
    p.user("alice")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(USERS["alice"])
    assert e.value.args[0].startswith(b"-ERR [LOGIN-DELAY]"), e.value
    # still connected, in the AUTHORIZATION state
    assert b"LOGIN-DELAY" in b"".join(p._longcmd("CAPA")[1])
    p.quit()
    # the refused attempt does not restart the clock; other users are free
    login(srv, "bob").quit()
    time.sleep(max(0, 2.05 - (time.monotonic() - t0)))
    p = login(srv)
    assert p.stat()[0] == 0
    p.quit()


def test_login_delay_in_capa_after_login(make_server):
    srv = make_server(overrides={"pop3.login_delay": "2"})
    p = login(srv)
    capa = p.capa()
    p.quit()
    # RFC 2449 6.5: after login, the value in effect for this user
    assert capa["LOGIN-DELAY"][0] == "2", capa


def test_no_login_delay_by_default(server):
    assert "LOGIN-DELAY" not in pop3_capa(server)
    login(server).quit()
    login(server).quit()


# ---- pop3.folders ------------------------------------------------------------------------

def make_folder(server, name, user="alice"):
    root = server.maildir(user)
    for sub in ("cur", "new", "tmp"):
        (root / ("." + name) / sub).mkdir(parents=True, exist_ok=True)
    own_like_data_dir(server, root)


def drop_file(server, rel_dir, name, data, user="alice"):
    path = server.maildir(user) / rel_dir / name
    tmp = server.maildir(user) / "tmp" / ("drop." + name.split(":")[0])
    tmp.write_bytes(data)
    own_like_data_dir(server, tmp)
    os.rename(tmp, path)
    return path


_seq = [0]


def maildir_name(data, host="elsewhere.example", flags=None):
    _seq[0] += 1
    name = "%d.M%dP%d.%s,S=%d,W=%d" % (int(time.time()), _seq[0], os.getpid(), host,
                                       len(data), crlf_size(data))
    return name if flags is None else name + ":2," + flags


def test_folders_inbox_then_junk(make_server):
    srv = make_server(overrides={"pop3.folders": "INBOX, Junk"})
    deliver(srv, 2)
    make_folder(srv, "Junk")
    junk1 = b"Subject: spam 1\r\n\r\nbuy\r\n"
    junk2 = b"Subject: spam 2\n\nbuy more\n"
    drop_file(srv, ".Junk/new", maildir_name(junk1), junk1)
    res = srv.cli("deliver", "-u", "alice", "-m", "Junk", input=junk2, check=False)
    assert res.returncode == 0, res.stderr
    assert len(message_files(srv, folder=".Junk")) == 2
    # a late INBOX message still sorts before Junk
    deliver(srv, 1)
    p = login(srv)
    ids = uidls(p)
    assert len(ids) == 5 and len(set(ids)) == 5
    bodies = [retr(p, i + 1) for i in range(5)]
    assert bodies[0].endswith(MSG % (0, 0))
    assert bodies[1].endswith(MSG % (1, 1))
    assert bodies[2].endswith(MSG % (0, 0))
    assert bodies[3] == junk1
    assert bodies[4].endswith(junk2.replace(b"\n", b"\r\n"))
    p.dele(4)
    p.quit()
    assert len(message_files(srv, folder=".Junk")) == 1
    assert len(message_files(srv)) == 3
    ids2 = snapshot(srv)[0]
    assert ids2 == ids[:3] + ids[4:]


def test_folders_missing_folder_ignored(make_server):
    srv = make_server(overrides={"pop3.folders": "INBOX, Junk"})
    deliver(srv, 1)
    assert len(snapshot(srv)[0]) == 1


def test_folders_same_base_name_in_two_folders(make_server):
    """A copy of one file in INBOX and in .Junk (cp, rsync): two messages
    that must still have two different UIDLs (RFC 1939 7)."""
    srv = make_server(overrides={"pop3.folders": "INBOX, Junk"})
    make_folder(srv, "Junk")
    (srv.maildir("alice") / "new").mkdir(parents=True, exist_ok=True)
    (srv.maildir("alice") / "tmp").mkdir(parents=True, exist_ok=True)
    (srv.maildir("alice") / "cur").mkdir(parents=True, exist_ok=True)
    own_like_data_dir(srv, srv.maildir("alice"))
    data = b"Subject: twin\r\n\r\ntwin\r\n"
    name = maildir_name(data)
    drop_file(srv, "cur", name + ":2,S", data)
    drop_file(srv, ".Junk/cur", name + ":2,S", data)
    ids, bodies = snapshot(srv)
    assert len(ids) == 2
    assert ids[0] != ids[1], ids
    assert bodies == [data, data]


# ---- changes behind the server's back -------------------------------------------------------

def test_files_added_behind_back(server):
    deliver(server, 1)
    ids = snapshot(server)[0]
    a = b"Subject: new/\r\n\r\nadded to new\r\n"
    b = b"Subject: cur/\n\nadded to cur, LF\n"
    c = b"Subject: plain name\r\n\r\nno S= or W= in the name\r\n"
    drop_file(server, "new", maildir_name(a), a)
    drop_file(server, "cur", maildir_name(b, flags="S"), b)
    drop_file(server, "new", "%d.procmail%d.host" % (int(time.time()), os.getpid()), c)
    p = login(server)
    ids2 = uidls(p)
    assert ids2[0] == ids[0] and len(ids2) == 4 and len(set(ids2)) == 4
    got = sorted(retr(p, i + 1) for i in range(1, 4))
    assert got == sorted([a, b.replace(b"\n", b"\r\n"), c])
    assert sorted(sizes(p)[1:]) == sorted([len(a), crlf_size(b), len(c)])
    p.quit()


@pytest.mark.parametrize("name", [
    "x" * 120,                                  # longer than a UIDL may be
    "1700000000.M1P1.host with spaces,S=30",    # bytes a UIDL may not have
    "1700000000.M2P2.h\u00f6st",                # non-ASCII
])
def test_uidl_of_odd_file_names(server, name):
    deliver(server, 1)
    data = b"Subject: odd\r\n\r\nodd name\r\n"
    drop_file(server, "cur", name + ":2,S", data)
    ids, bodies = snapshot(server)
    assert len(ids) == 2 and ids[0] != ids[1]
    assert data in bodies
    # RFC 1939 7: 1 to 70 characters in the range 0x21 to 0x7E
    for uidl in ids:
        assert re.fullmatch(r"[\x21-\x7e]{1,70}", uidl), uidl
    assert snapshot(server)[0] == ids  # stable


def test_ignored_files(server):
    deliver(server, 1)
    root = server.maildir("alice")
    (root / "tmp" / "123.M1P1.half-written").write_bytes(b"Subject: tmp\r\n\r\n")
    (root / "new" / ".hidden").write_bytes(b"Subject: dot\r\n\r\n")
    (root / "new" / "subdir").mkdir()
    own_like_data_dir(server, root)
    assert len(snapshot(server)[0]) == 1


def test_files_removed_behind_back(server):
    deliver(server, 3)
    ids = snapshot(server)[0]
    files = message_files(server)
    victim = [f for f in files if f.read_bytes().endswith(MSG % (1, 1))][0]
    victim.unlink()
    ids2, bodies = snapshot(server)
    assert ids2 == [ids[0], ids[2]]
    assert bodies[1].endswith(MSG % (2, 2))


def test_move_to_cur_keeps_uidl(server):
    deliver(server, 2)
    ids, bodies = snapshot(server)
    for f in list((server.maildir("alice") / "new").iterdir()):
        os.rename(f, server.maildir("alice") / "cur" / (f.name + ":2,S"))
    ids2, bodies2 = snapshot(server)
    assert ids2 == ids and bodies2 == bodies
    # flags changing again (an IMAP client marking it answered) too
    for f in list((server.maildir("alice") / "cur").iterdir()):
        os.rename(f, f.with_name(f.name.split(":")[0] + ":2,RS"))
    assert snapshot(server) == (ids, bodies)


def test_changes_right_after_a_sync(server):
    """Several changes each within moments of the previous session: the
    directory-mtime fast path must not hide any of them."""
    deliver(server, 1)
    for i in range(4):
        p = login(server)
        count = p.stat()[0]
        p.quit()
        data = b"Subject: quick %d\r\n\r\nquick\r\n" % i
        drop_file(server, "new", maildir_name(data), data)
        p = login(server)
        assert p.stat()[0] == count + 1, i
        p.quit()
    # and removals
    for f in message_files(server)[:2]:
        p = login(server)
        count = p.stat()[0]
        p.quit()
        f.unlink()
        p = login(server)
        assert p.stat()[0] == count - 1
        p.quit()


def test_retr_of_file_deleted_meanwhile(server):
    deliver(server, 3)
    p = login(server)
    ids = uidls(p)
    files = message_files(server)
    victim = [f for f in files if f.read_bytes().endswith(MSG % (1, 1))][0]
    victim.unlink()
    with pytest.raises(poplib.error_proto) as e:
        p.retr(2)
    assert e.value.args[0].startswith(b"-ERR"), e.value
    # the session goes on
    assert p.noop().startswith(b"+OK")
    assert retr(p, 3).endswith(MSG % (2, 2))
    assert retr(p, 1).endswith(MSG % (0, 0))
    with pytest.raises(poplib.error_proto):
        p.top(2, 0)
    assert p.stat()[0] == 3  # the snapshot is fixed for the session
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    assert snapshot(server)[0] == [ids[0], ids[2]]


def test_retr_follows_rename_during_session(server):
    deliver(server, 2)
    p = login(server)
    for f in list((server.maildir("alice") / "new").iterdir()):
        os.rename(f, server.maildir("alice") / "cur" / (f.name + ":2,S"))
    assert retr(p, 1).endswith(MSG % (0, 0))
    assert retr(p, 2).endswith(MSG % (1, 1))
    p.dele(1)
    p.quit()
    assert len(message_files(server)) == 1


def test_dele_of_file_deleted_meanwhile(server):
    deliver(server, 2)
    p = login(server)
    message_files(server)[0].unlink()
    p.dele(1)
    p.dele(2)
    assert p.quit().startswith(b"+OK")
    assert snapshot(server)[0] == []
    assert message_files(server) == []


def test_index_rebuilt_when_corrupt(server):
    deliver(server, 3)
    ids, bodies = snapshot(server)
    server.stop()
    db = server.maildir("alice") / "yubin.sqlite"
    for f in server.maildir("alice").glob("yubin.sqlite-*"):
        f.unlink()
    db.write_bytes(b"this is not a database" * 100)
    own_like_data_dir(server, server.maildir("alice"))
    server.start()
    assert snapshot(server) == (ids, bodies)


def test_large_mailbox_lists_on_demand(make_server):
    """Above STORE_POP3_EAGER_MAX (2000) messages, login and STAT use the
    index's counts and the message list is loaded by the first command that
    needs it; the session must not be able to tell the difference."""
    srv = make_server(start=False)
    maildir = srv.maildir("alice")
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    n = 2100
    for i in range(n):
        body = f"Subject: m{i}\r\n\r\nmessage {i}\r\n".encode()
        name = f"{1700000000 + i}.M1P1.bulk,S={len(body)},W={len(body)}"
        (maildir / "new" / name).write_bytes(body)
    if IS_ROOT:
        for path in [maildir.parent, maildir, *maildir.rglob("*")]:
            shutil.chown(path, "mail", "mail")
    srv.start()
    p = srv.pop3("alice", USERS["alice"])
    count, size = p.stat()
    assert count == n
    # a delivery after login is not part of this session
    srv.deliver("alice", b"Subject: late\r\n\r\nlate\r\n")
    resp, listing, _ = p.list()
    assert len(listing) == n
    assert sum(int(line.split()[1]) for line in listing) == size
    assert p.retr(n)[1][-1] == f"message {n - 1}".encode()
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == n  # one deleted, one delivered
    p.quit()
