"""Each IMAP extension yubin advertises, checked at the protocol level
with exact responses (RFC section in each test), the message-structure
answers (BODYSTRUCTURE, ENVELOPE, BINARY, partial sections, SEARCH in
encoded bodies), and mail shared with POP3 and LMTP. Hostile input is in
test_imap_hostile.py; SORT, THREAD, COMPRESS and QUOTA have their own
files.
"""
import base64
import re
import smtplib
import socket
import time

import pytest

from imap_helpers import (ALICE, ATTACHMENT, connect, deliver, make_server,  # noqa: F401
                          multipart_mixed, plain, raw, reaper, server, untagged)


def norecent(lines):
    """Lines without the \\Recent flag (RFC 3501 2.3.2: set for the first
    session to see a message; tests here do not depend on it)."""
    return [x.replace(b" \\Recent", b"").replace(b"\\Recent", b"") for x in lines]


def ok(lines, tag):
    assert lines[-1].startswith(tag + b" OK"), lines
    return lines


def select(r, box=b"INBOX", tag=b"S1", params=b""):
    return ok(r.cmd(tag + b" SELECT " + box + params), tag)


def uidvalidity(lines):
    for line in lines:
        m = re.search(rb"\[UIDVALIDITY (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no UIDVALIDITY in {lines}")


def highestmodseq(lines):
    for line in lines:
        m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"no HIGHESTMODSEQ in {lines}")


def fetch_modseq(line, seq, uid):
    """The MODSEQ of an untagged FETCH that, once CONDSTORE is on, must
    carry both UID and MODSEQ (RFC 7162 3.1, "CONDSTORE enabling
    command")."""
    m = re.match(rb"\* %d FETCH \((?=.*\bUID %d\b)(?=.*\bMODSEQ \((\d+)\)).*\)\r\n" % (seq, uid),
                 line)
    assert m, line
    return int(m.group(1))


def modseqs(r, tag=b"MS"):
    """{seq: (uid, modseq)} of the selected mailbox."""
    out = {}
    for line in ok(r.cmd(tag + b" FETCH 1:* (UID MODSEQ)"), tag)[:-1]:
        m = re.match(rb"\* (\d+) FETCH \(UID (\d+) MODSEQ \((\d+)\)\)\r\n", line)
        assert m, line
        out[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    return out


# ------------------------------------------------------------ CAPABILITY

# What is tested in this file for each advertised capability.
TESTED = {
    "IMAP4REV1", "IMAP4REV2", "LITERAL+", "ENABLE", "ID", "SASL-IR", "IDLE", "NAMESPACE",
    "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS",
    "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "STATUS=SIZE", "UTF8=ACCEPT", "BINARY",
    "APPENDLIMIT", "STARTTLS", "LOGINDISABLED",
}
# Being added by others now, with their own tests.
ELSEWHERE = ("SORT", "THREAD=", "COMPRESS=", "QUOTA", "AUTH=")


def capabilities(lines):
    for line in lines:
        m = re.search(rb"CAPABILITY ([^\]\r]*)", line)
        if m:
            return m.group(1).decode().upper().split()
    raise AssertionError(f"no CAPABILITY in {lines}")


def test_capability_lists_only_tested_extensions(server):
    """RFC 9051 7.2.2: every advertised name is an extension the server
    implements; each one is exercised below (SORT/THREAD/COMPRESS/QUOTA
    have their own tests)."""
    r = raw(server)
    before = capabilities(ok(r.cmd(b"C1 CAPABILITY"), b"C1"))
    after = capabilities(ok(r.cmd(b'C2 LOGIN alice "%s"' % ALICE.encode()), b"C2"))
    for caps in (before, after):
        assert caps.count("IMAP4REV1") == 1 and "IMAP4REV2" in caps
        assert len(caps) == len(set(caps)), caps
        for c in caps:
            name = c.split("=", 1)[0] if c.startswith("APPENDLIMIT") else c
            assert name in TESTED or c.startswith(ELSEWHERE), f"untested capability {c}"
    # after login: no STARTTLS, no AUTH= (RFC 9051 6.2.1, 7.2.2)
    assert not any(c.startswith("AUTH=") or c == "STARTTLS" for c in after), after
    # the greeting's capabilities are those of CAPABILITY
    r2 = connect(server.imap_port)
    greeting = r2.makefile("rb").readline()
    r2.close()
    assert capabilities([greeting]) == before


def test_capability_after_login_is_stable(server):
    """RFC 9051 7.2.2: the list after LOGIN is what a later CAPABILITY
    says, so that clients may cache it."""
    r = raw(server)
    login_caps = capabilities(ok(r.cmd(b'C1 LOGIN alice "%s"' % ALICE.encode()), b"C1"))
    assert capabilities(ok(r.cmd(b"C2 CAPABILITY"), b"C2")) == login_caps


# ------------------------------------------------------------ NAMESPACE


def test_namespace(server):
    """RFC 2342 5 / RFC 9051 6.3.10: one personal namespace, prefix ""
    and separator "/"; no other users', no shared."""
    r = raw(server, "alice")
    lines = ok(r.cmd(b"N1 NAMESPACE"), b"N1")
    assert lines == [b'* NAMESPACE (("" "/")) NIL NIL\r\n', lines[-1]]


# ------------------------------------------------------------ LITERAL+


def test_literal_plus_needs_no_continuation(server):
    """RFC 7888 3: a {n+} literal is sent without waiting for "+"."""
    deliver(server, 1)
    r = raw(server)
    r.send(b"L1 LOGIN {5+}\r\nalice {%d+}\r\n%s\r\n" % (len(ALICE), ALICE.encode()))
    lines = r.read_until_tag(b"L1")
    assert not any(line.startswith(b"+") for line in lines), lines
    ok(lines, b"L1")
    msg = plain(7)
    r.send(b"A1 APPEND INBOX (\\Flagged) {%d+}\r\n%s\r\n" % (len(msg), msg))
    lines = r.read_until_tag(b"A1")
    assert not any(line.startswith(b"+") for line in lines), lines
    ok(lines, b"A1")
    select(r)
    lines = norecent(ok(r.cmd(b"F1 FETCH 2 (FLAGS BODY.PEEK[])"), b"F1"))
    assert lines[0] == b"* 2 FETCH (FLAGS (\\Flagged) BODY[] {%d}\r\n%s)\r\n" % (len(msg), msg)


def test_synchronizing_literal_gets_continuation(server):
    """RFC 9051 7.5: for {n} the server answers "+" before the octets."""
    r = raw(server)
    r.send(b"L1 LOGIN {5}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"alice {%d}\r\n" % len(ALICE))
    assert r.line().startswith(b"+ ")
    r.send(ALICE.encode() + b"\r\n")
    ok(r.read_until_tag(b"L1"), b"L1")


# ------------------------------------------------------------ UIDPLUS


def test_uidplus_appenduid_copyuid_match_fetch(server):
    """RFC 4315 3: APPENDUID and COPYUID give the UIDVALIDITY and UIDs the
    messages really have in the destination."""
    deliver(server, 3)
    r = raw(server, "alice")
    lines = ok(r.cmd(b"A1 APPEND Archive {%d+}\r\n%s" % (len(plain(9)), plain(9))), b"A1")
    m = re.match(rb"A1 OK \[APPENDUID (\d+) (\d+)\]", lines[-1])
    assert m, lines
    a_validity, a_uid = int(m.group(1)), int(m.group(2))
    select(r)
    lines = ok(r.cmd(b"C1 COPY 2:3 Archive"), b"C1")
    m = re.match(rb"C1 OK \[COPYUID (\d+) (\S+) (\S+)\]", lines[-1])
    assert m, lines
    src_uids = ok(r.cmd(b"F1 FETCH 2:3 (UID)"), b"F1")
    src = [int(re.search(rb"UID (\d+)", x).group(1)) for x in src_uids[:-1]]
    assert int(m.group(1)) == a_validity
    assert expand(m.group(2)) == src
    dst = expand(m.group(3))
    assert len(dst) == 2 and dst[0] > a_uid
    lines = select(r, b"Archive", b"S2")
    assert uidvalidity(lines) == a_validity
    lines = ok(r.cmd(b"F2 FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Message-ID)])"), b"F2")
    got = {}
    for line in lines[:-1]:
        uid = int(re.search(rb"UID (\d+)", line).group(1))
        got[uid] = re.search(rb"<(m\d+)@", line).group(1)
    assert got == {a_uid: b"m9", dst[0]: b"m2", dst[1]: b"m3"}


def expand(uidset):
    out = []
    for part in uidset.split(b","):
        lo, _, hi = part.partition(b":")
        lo, hi = int(lo), int(hi or lo)
        out.extend(range(min(lo, hi), max(lo, hi) + 1))
    return out


def test_uid_expunge_only_named(server):
    """RFC 4315 2.1: UID EXPUNGE removes only the \\Deleted messages whose
    UID is in the set."""
    deliver(server, 3)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 1:3 +FLAGS.SILENT (\\Deleted)"), b"T1")
    lines = ok(r.cmd(b"E1 UID EXPUNGE 2"), b"E1")
    assert [x for x in lines if b"EXPUNGE\r\n" in x] == [b"* 2 EXPUNGE\r\n"], lines
    lines = ok(r.cmd(b"F1 FETCH 1:* (UID)"), b"F1")
    assert lines[:-1] == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"]


# ------------------------------------------------------------ MOVE


def test_move_reports_copyuid_then_expunge(server):
    """RFC 6851 3.3: MOVE sends an untagged OK [COPYUID ...] before the
    EXPUNGE responses; the tagged OK follows; flags move too."""
    deliver(server, 4)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 2 +FLAGS.SILENT (\\Flagged $Work)"), b"T1")
    status = ok(r.cmd(b"T2 STATUS Trash (UIDVALIDITY)"), b"T2")[0]
    validity = int(re.search(rb"UIDVALIDITY (\d+)", status).group(1))
    lines = ok(r.cmd(b"M1 MOVE 2:3 Trash"), b"M1")
    assert re.match(rb"\* OK \[COPYUID %d 2:3 1:2\] " % validity, lines[0]), lines
    expunges = [x for x in lines if x.endswith(b"EXPUNGE\r\n")]
    # either order of numbering is right (RFC 9051 7.5.1)
    assert expunges in ([b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"],
                        [b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"]), lines
    assert lines.index(expunges[0]) > 0
    lines = ok(r.cmd(b"F1 FETCH 1:* (UID)"), b"F1")
    assert lines[:-1] == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 4)\r\n"]
    select(r, b"Trash", b"S2")
    lines = ok(r.cmd(b"F2 FETCH 1:* (UID FLAGS)"), b"F2")
    assert b"\\Flagged" in lines[0] and b"$Work" in lines[0], lines
    assert len(lines) == 3


def test_uid_move_nonexistent_target(server):
    """RFC 6851 3.3 / RFC 9051 6.4.7: a missing target is NO [TRYCREATE],
    and nothing leaves the source."""
    deliver(server, 1)
    r = raw(server, "alice")
    select(r)
    lines = r.cmd(b"M1 UID MOVE 1 Nowhere")
    assert lines[-1].startswith(b"M1 NO [TRYCREATE]"), lines
    assert len(lines) == 1
    lines = ok(r.cmd(b"F1 FETCH 1 (UID)"), b"F1")
    assert lines[0] == b"* 1 FETCH (UID 1)\r\n"


# ------------------------------------------------------------ UNSELECT


def test_unselect_does_not_expunge(server):
    """RFC 3691 2: UNSELECT leaves the selected state without expunging
    (CLOSE would)."""
    deliver(server, 2)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 1 +FLAGS.SILENT (\\Deleted)"), b"T1")
    lines = ok(r.cmd(b"U1 UNSELECT"), b"U1")
    assert len(lines) == 1, lines
    assert r.cmd(b"F1 FETCH 1 (UID)")[-1].startswith(b"F1 BAD")  # not selected
    lines = ok(r.cmd(b"T2 STATUS INBOX (MESSAGES DELETED)"), b"T2")
    assert lines[0] == b'* STATUS "INBOX" (MESSAGES 2 DELETED 1)\r\n'
    assert r.cmd(b"U2 UNSELECT")[-1].startswith(b"U2 BAD")  # nothing selected
    # CLOSE does expunge
    select(r, tag=b"S2")
    lines = ok(r.cmd(b"C1 CLOSE"), b"C1")
    assert not any(b"EXPUNGE" in x for x in lines), lines  # RFC 9051 6.4.1: silently
    lines = ok(r.cmd(b"T3 STATUS INBOX (MESSAGES)"), b"T3")
    assert lines[0] == b'* STATUS "INBOX" (MESSAGES 1)\r\n'


# ------------------------------------------------------------ LIST-EXTENDED, CHILDREN, SPECIAL-USE


def list_lines(lines):
    return [x for x in lines if x.startswith(b"* LIST ")]


def test_list_extended_subscribed(server):
    """RFC 5258 3.1: (SUBSCRIBED) lists subscribed names with \\Subscribed,
    also one that does not exist (\\NonExistent)."""
    r = raw(server, "alice")
    for name in (b"Work", b"Work/Sub", b"Other"):
        ok(r.cmd(b"C CREATE " + name), b"C")
    ok(r.cmd(b"S SUBSCRIBE Work/Sub"), b"S")
    ok(r.cmd(b"S SUBSCRIBE Gone"), b"S")  # RFC 9051 6.3.7: need not exist
    lines = list_lines(ok(r.cmd(b'L1 LIST (SUBSCRIBED) "" "*"'), b"L1"))
    by_name = {re.search(rb'"/" (.*)\r\n', x).group(1).strip(b'"'): x for x in lines}
    assert b"Other" not in by_name and b"Work" not in by_name
    assert b"\\Subscribed" in by_name[b"Work/Sub"]
    assert b"\\Subscribed" in by_name[b"Gone"] and b"\\NonExistent" in by_name[b"Gone"], lines
    # RECURSIVEMATCH: a parent with a subscribed child (RFC 5258 3.5)
    lines = list_lines(ok(r.cmd(b'L2 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"'), b"L2"))
    work = [x for x in lines if re.search(rb'"/" "?Work"?( |\r\n)', x)]
    assert work and b'("CHILDINFO" ("SUBSCRIBED"))' in work[0], lines
    # REMOTE is accepted and changes nothing here (RFC 5258 3)
    lines = ok(r.cmd(b'L3 LIST (REMOTE) "" "Other"'), b"L3")
    assert len(list_lines(lines)) == 1
    # several patterns (RFC 5258 3)
    lines = list_lines(ok(r.cmd(b'L4 LIST "" ("INBOX" "Other")'), b"L4"))
    assert len(lines) == 2
    # an unknown selection option is BAD (RFC 5258 3)
    assert r.cmd(b'L5 LIST (BOGUS) "" "*"')[-1].startswith(b"L5 BAD")


def test_list_return_children_special_use(server):
    """RFC 5258 4 CHILDREN, RFC 6154 2 SPECIAL-USE attributes."""
    r = raw(server, "alice")
    ok(r.cmd(b"C CREATE Work/Sub"), b"C")
    lines = list_lines(ok(r.cmd(b'L1 LIST "" "*" RETURN (CHILDREN SPECIAL-USE)'), b"L1"))
    got = {}
    for x in lines:
        m = re.match(rb'\* LIST \(([^)]*)\) "/" (.*)\r\n', x)
        got[m.group(2).strip(b'"').decode()] = set(m.group(1).decode().split())
    assert "\\HasChildren" in got["Work"] and "\\HasNoChildren" in got["Work/Sub"]
    for name, use in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"), ("Trash", "\\Trash"),
                      ("Junk", "\\Junk"), ("Archive", "\\Archive")):
        assert use in got[name], (name, got[name])
    assert not any(a in got["INBOX"] for a in ("\\Drafts", "\\Sent", "\\Trash"))
    # (SPECIAL-USE) selection: only the special-use folders (RFC 6154 3)
    lines = list_lines(ok(r.cmd(b'L2 LIST (SPECIAL-USE) "" "*"'), b"L2"))
    names = sorted(re.search(rb'"/" (.*)\r\n', x).group(1).strip(b'"') for x in lines)
    assert names == [b"Archive", b"Drafts", b"Junk", b"Sent", b"Trash"]


def test_list_status(server):
    """RFC 5819 2: LIST ... RETURN (STATUS (...)) sends a STATUS response
    after the LIST response of each selectable mailbox."""
    deliver(server, 3)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 1 +FLAGS.SILENT (\\Seen)"), b"T1")
    ok(r.cmd(b"C CREATE Work/Sub"), b"C")
    lines = ok(r.cmd(b'L1 LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))'), b"L1")
    i = next(k for k, x in enumerate(lines) if x.startswith(b"* LIST") and b'"INBOX"' in x)
    assert lines[i + 1] == b'* STATUS "INBOX" (MESSAGES 3 UNSEEN 2)\r\n'
    statuses = [x for x in lines if x.startswith(b"* STATUS")]
    lists = list_lines(lines)
    # "Work" exists only as a parent of Work/Sub: no STATUS for a
    # \Noselect/\NonExistent name (RFC 5819 2)
    for x in lists:
        if b"\\Noselect" in x or b"\\NonExistent" in x:
            name = re.search(rb'"/" (.*)\r\n', x).group(1)
            assert not any(s.startswith(b"* STATUS " + name + b" ") for s in statuses)
    assert len(statuses) == len([x for x in lists if b"\\Noselect" not in x
                                 and b"\\NonExistent" not in x])


# ------------------------------------------------------------ ESEARCH, SEARCHRES


def test_esearch_return_options(server):
    """RFC 4731 3.1 / RFC 9051 6.4.4: ESEARCH with MIN MAX COUNT ALL; with
    no match only COUNT 0; UID SEARCH gives UIDs and the UID marker."""
    deliver(server, 6)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 2,4:5 +FLAGS.SILENT (\\Flagged)"), b"T1")
    lines = ok(r.cmd(b"E1 SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED"), b"E1")
    assert lines[0] == b'* ESEARCH (TAG "E1") MIN 2 MAX 5 COUNT 3 ALL 2,4:5\r\n', lines
    lines = ok(r.cmd(b"E2 SEARCH RETURN (MIN MAX COUNT ALL) KEYWORD $Nothing"), b"E2")
    assert lines[0] == b'* ESEARCH (TAG "E2") COUNT 0\r\n', lines
    # UID SEARCH; delete message 1 first so that UIDs differ from numbers
    ok(r.cmd(b"T2 STORE 1 +FLAGS.SILENT (\\Deleted)"), b"T2")
    ok(r.cmd(b"X1 EXPUNGE"), b"X1")
    lines = ok(r.cmd(b"E3 UID SEARCH RETURN (MIN MAX) FLAGGED"), b"E3")
    assert lines[0] == b'* ESEARCH (TAG "E3") UID MIN 2 MAX 5\r\n', lines
    lines = ok(r.cmd(b"E4 SEARCH RETURN () FLAGGED"), b"E4")  # () means ALL
    assert lines[0] == b'* ESEARCH (TAG "E4") ALL 1,3:4\r\n', lines
    # a plain SEARCH in IMAP4rev1 still answers * SEARCH
    lines = ok(r.cmd(b"E5 SEARCH FLAGGED"), b"E5")
    assert lines[0] == b"* SEARCH 1 3 4\r\n", lines
    assert r.cmd(b"E6 SEARCH RETURN (BOGUS) ALL")[-1].startswith(b"E6 BAD")


def test_searchres_save_and_dollar(server):
    """RFC 5182 2: SEARCH RETURN (SAVE) stores the result without an
    ESEARCH response (SAVE alone); "$" then names it in FETCH, STORE,
    COPY, UID FETCH and SEARCH."""
    deliver(server, 5)
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 2,4 +FLAGS.SILENT (\\Flagged)"), b"T1")
    lines = ok(r.cmd(b"S1 SEARCH RETURN (SAVE) FLAGGED"), b"S1")
    assert lines == [lines[-1]], lines  # RFC 5182 2.1: no ESEARCH for SAVE alone
    lines = ok(r.cmd(b"F1 FETCH $ (UID)"), b"F1")
    assert lines[:-1] == [b"* 2 FETCH (UID 2)\r\n", b"* 4 FETCH (UID 4)\r\n"], lines
    lines = ok(r.cmd(b"F2 UID FETCH $ (FLAGS)"), b"F2")
    assert [x.split(b" ")[1] for x in lines[:-1]] == [b"2", b"4"], lines
    lines = ok(r.cmd(b"S2 SEARCH $"), b"S2")
    assert lines[0] == b"* SEARCH 2 4\r\n"
    ok(r.cmd(b"T2 STORE $ +FLAGS.SILENT (\\Answered)"), b"T2")
    lines = ok(r.cmd(b"S3 SEARCH ANSWERED"), b"S3")
    assert lines[0] == b"* SEARCH 2 4\r\n", lines
    lines = ok(r.cmd(b"C1 COPY $ Archive"), b"C1")
    assert b"[COPYUID " in lines[-1]
    # SAVE with MIN: the saved result is then MIN only (RFC 5182 2.1)
    lines = ok(r.cmd(b"S4 SEARCH RETURN (SAVE MIN) FLAGGED"), b"S4")
    assert lines[0] == b'* ESEARCH (TAG "S4") MIN 2\r\n', lines
    lines = ok(r.cmd(b"F3 FETCH $ (UID)"), b"F3")
    assert lines[:-1] == [b"* 2 FETCH (UID 2)\r\n"], lines
    # an expunged message leaves the saved result (RFC 5182 2.1)
    ok(r.cmd(b"S5 SEARCH RETURN (SAVE) FLAGGED"), b"S5")
    ok(r.cmd(b"T3 STORE 2 +FLAGS.SILENT (\\Deleted)"), b"T3")
    ok(r.cmd(b"X1 EXPUNGE"), b"X1")
    lines = ok(r.cmd(b"F4 FETCH $ (UID)"), b"F4")
    assert lines[:-1] == [b"* 3 FETCH (UID 4)\r\n"], lines


def test_searchres_empty_before_any_save(server):
    """RFC 5182 2.1: before any SAVE, "$" is the empty set: FETCH $ is OK
    and returns nothing."""
    deliver(server, 2)
    r = raw(server, "alice")
    select(r)
    lines = ok(r.cmd(b"F1 FETCH $ (UID)"), b"F1")
    assert lines == [lines[-1]]


# ------------------------------------------------------------ STATUS=SIZE, APPENDLIMIT


def test_status_size(server):
    """RFC 8438 / RFC 9051 6.3.11: SIZE is the sum of the RFC822.SIZEs."""
    deliver(server, 3)
    r = raw(server, "alice")
    lines = ok(r.cmd(b"T1 STATUS INBOX (SIZE MESSAGES)"), b"T1")
    m = re.match(rb'\* STATUS "?INBOX"? \(SIZE (\d+) MESSAGES 3\)\r\n', lines[0])
    assert m, lines
    select(r)
    sizes = ok(r.cmd(b"F1 FETCH 1:* (RFC822.SIZE)"), b"F1")
    total = sum(int(re.search(rb"RFC822.SIZE (\d+)", x).group(1)) for x in sizes[:-1])
    assert int(m.group(1)) == total
    lines = ok(r.cmd(b"T2 STATUS Drafts (SIZE)"), b"T2")
    assert lines[0] == b'* STATUS "Drafts" (SIZE 0)\r\n'


def test_appendlimit(make_server):
    """RFC 7889: APPENDLIMIT=n names the limit; a bigger APPEND is refused
    with [TOOBIG] before the client sends it; STATUS APPENDLIMIT (RFC 7889
    3.2) gives the same number."""
    srv = make_server(overrides={"limits.max_message_size": "2048"})
    r = raw(srv)
    caps = capabilities(ok(r.cmd(b'C1 LOGIN alice "%s"' % ALICE.encode()), b"C1"))
    assert "APPENDLIMIT=2048" in caps, caps
    r.send(b"A1 APPEND INBOX {3000}\r\n")
    line = r.line()
    # no "+": the client need not send it (RFC 7889 2, RFC 9051 7.1 TOOBIG)
    assert re.match(rb"A1 (NO|BAD) \[TOOBIG\] ", line) and b"(null)" not in line, line
    small = plain(1)
    ok(r.cmd(b"A2 APPEND INBOX {%d+}\r\n%s" % (len(small), small)), b"A2")
    lines = ok(r.cmd(b"T1 STATUS INBOX (APPENDLIMIT)"), b"T1")
    assert lines[0] == b'* STATUS "INBOX" (APPENDLIMIT 2048)\r\n', lines
    # a non-synchronizing literal over the limit: refused, the connection
    # may close (RFC 7888 4), but the server goes on
    r.send(b"A3 APPEND INBOX {3000+}\r\n" + b"x" * 3000 + b"\r\n")
    lines = []
    while True:
        line = r.line()
        if not line or line.startswith(b"A3 "):
            lines.append(line)
            break
        lines.append(line)
    assert b"TOOBIG" in b"".join(lines), lines
    r2 = raw(srv, "alice")
    ok(r2.cmd(b"N1 NOOP"), b"N1")


# ------------------------------------------------------------ IMAP4rev2, UTF8=ACCEPT


def test_enable_imap4rev2_esearch_by_default(server):
    """RFC 9051 6.4.4 and 7.3.4: after ENABLE IMAP4rev2, SEARCH answers
    with ESEARCH; SELECT has no RECENT (RFC 9051 6.3.2), FLAGS no \\Recent."""
    deliver(server, 3)
    r = raw(server, "alice")
    lines = ok(r.cmd(b"E1 ENABLE IMAP4rev2"), b"E1")
    assert lines[0] == b"* ENABLED IMAP4rev2\r\n"
    lines = select(r)
    assert not untagged(lines, b"RECENT"), lines
    assert lines[0] == b"* 3 EXISTS\r\n"
    lines = ok(r.cmd(b"S1 SEARCH ALL"), b"S1")
    assert lines[0] == b'* ESEARCH (TAG "S1") ALL 1:3\r\n', lines
    lines = ok(r.cmd(b"S2 UID SEARCH 2"), b"S2")
    assert lines[0] == b'* ESEARCH (TAG "S2") UID ALL 2\r\n', lines
    lines = ok(r.cmd(b"S3 SEARCH KEYWORD $Nothing"), b"S3")
    assert lines[0] == b'* ESEARCH (TAG "S3")\r\n', lines
    lines = ok(r.cmd(b"F1 FETCH 1 (FLAGS)"), b"F1")
    assert lines[0] == b"* 1 FETCH (FLAGS ())\r\n", lines


def test_utf8_accept_mailbox_names(server):
    """RFC 6855 3: with UTF8=ACCEPT, names are UTF-8 both ways; a rev1
    session sees the same mailbox in modified UTF-7 (RFC 3501 5.1.3)."""
    r = raw(server, "alice")
    ok(r.cmd(b"E1 ENABLE UTF8=ACCEPT"), b"E1")
    name = "Entwürfe".encode()
    ok(r.cmd(b'C1 CREATE "' + name + b'"'), b"C1")
    lines = list_lines(ok(r.cmd(b'L1 LIST "" "Entw*"'), b"L1"))
    assert lines == [b'* LIST (\\HasNoChildren) "/" "' + name + b'"\r\n'], lines
    select(r, b'"' + name + b'"')
    # APPEND with the UTF8 data extension (RFC 6855 4)
    msg = "Subject: Grüße\r\nFrom: jürgen@example.org\r\n\r\nHallo\r\n".encode()
    ok(r.cmd(b'A1 APPEND "' + name + b'" UTF8 (~{%d+}\r\n%s)' % (len(msg), msg)), b"A1")
    lines = ok(r.cmd(b"F1 FETCH 1 (BODY.PEEK[])"), b"F1")
    assert msg in b"".join(lines), lines  # after the new message's EXISTS
    r1 = raw(server, "alice")
    lines = list_lines(ok(r1.cmd(b'L1 LIST "" "Entw*"'), b"L1"))
    assert lines == [b'* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"\r\n'], lines
    lines = ok(r1.cmd(b'T1 STATUS "Entw&APw-rfe" (MESSAGES)'), b"T1")
    assert lines[0] == b'* STATUS "Entw&APw-rfe" (MESSAGES 1)\r\n', lines
    # rev1: raw 8-bit in a name is not valid (RFC 3501 5.1.3)
    assert not r1.cmd(b'C2 CREATE "' + "Grüße".encode() + b'"')[-1].startswith(b"C2 OK")


# ------------------------------------------------------------ CONDSTORE, QRESYNC


def test_condstore_fetch_modseq_and_unchangedsince(server):
    """RFC 7162 3.1: HIGHESTMODSEQ on SELECT, MODSEQ in FETCH, STORE
    UNCHANGEDSINCE fails with [MODIFIED set] for changed messages and still
    stores the others, FETCH CHANGEDSINCE and SEARCH MODSEQ."""
    deliver(server, 3)
    r = raw(server, "alice")
    lines = select(r, params=b" (CONDSTORE)")
    high = highestmodseq(lines)
    ms = modseqs(r)
    assert max(m for _, m in ms.values()) == high
    # change message 2: its modseq grows beyond the old highest
    lines = ok(r.cmd(b"T1 STORE 2 +FLAGS (\\Flagged)"), b"T1")
    new = fetch_modseq(lines[0], 2, 2)
    assert b"FLAGS (\\Flagged" in lines[0], lines
    assert new > high
    # 2 changed since `high`, 1 and 3 did not
    lines = r.cmd(b"T2 STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % high)
    assert lines[-1].startswith(b"T2 OK [MODIFIED 2]"), lines
    fetched = {int(x.split(b" ")[1]) for x in lines[:-1] if b" FETCH " in x}
    assert fetched == {1, 3}, lines
    lines = ok(r.cmd(b"F1 FETCH 1:3 (FLAGS)"), b"F1")
    assert b"\\Seen" in lines[0] and b"\\Seen" not in lines[1] and b"\\Seen" in lines[2]
    # UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3)
    lines = r.cmd(b"T3 STORE 1 (UNCHANGEDSINCE 0) -FLAGS (\\Seen)")
    assert lines[-1].startswith(b"T3 OK [MODIFIED 1]"), lines
    lines = ok(r.cmd(b"F2 FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % new), b"F2")
    assert sorted(int(x.split(b" ")[1]) for x in lines[:-1]) == [1, 3], lines
    assert all(b"MODSEQ (" in x for x in lines[:-1])
    lines = ok(r.cmd(b"S1 SEARCH MODSEQ %d" % (new + 1)), b"S1")
    assert re.match(rb"\* SEARCH 1 3 \(MODSEQ \d+\)\r\n", lines[0]), lines
    lines = ok(r.cmd(b"T4 STATUS Archive (HIGHESTMODSEQ)"), b"T4")
    assert re.match(rb'\* STATUS "Archive" \(HIGHESTMODSEQ \d+\)\r\n', lines[0]), lines


@pytest.mark.parametrize("enabler", [
    b"E1 ENABLE CONDSTORE", b"E1 FETCH 1 (MODSEQ)", b"E1 STATUS INBOX (HIGHESTMODSEQ)",
    b"E1 SEARCH MODSEQ 1", b"E1 FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
    b"E1 STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\\Answered)",
])
def test_condstore_enabling_commands(server, enabler):
    """RFC 7162 3.1: after any CONDSTORE enabling command, every later
    untagged FETCH carries UID and MODSEQ: STORE results, and changes made
    by another session."""
    deliver(server, 2)
    r = raw(server, "alice")
    if enabler.startswith(b"E1 ENABLE"):
        ok(r.cmd(enabler), b"E1")
        select(r)
    else:
        select(r)
        ok(r.cmd(enabler), b"E1")
    lines = ok(r.cmd(b"T1 STORE 2 +FLAGS (\\Flagged)"), b"T1")
    fetch_modseq(lines[0], 2, 2)
    other = raw(server, "alice")
    select(other)
    ok(other.cmd(b"T1 STORE 1 +FLAGS.SILENT (\\Draft)"), b"T1")
    lines = ok(r.cmd(b"N1 NOOP"), b"N1")
    fetches = [x for x in lines if b" FETCH " in x]
    assert len(fetches) == 1, lines
    fetch_modseq(fetches[0], 1, 1)


def test_qresync_select_reports_vanished(server):
    """RFC 7162 3.2.5: SELECT (QRESYNC (uidvalidity modseq)) reports the
    UIDs expunged since modseq as VANISHED (EARLIER) and the flag changes
    as FETCH with UID and MODSEQ."""
    deliver(server, 5)
    r = raw(server, "alice")
    ok(r.cmd(b"E1 ENABLE QRESYNC"), b"E1")
    lines = select(r)
    validity, high = uidvalidity(lines), highestmodseq(lines)
    ok(r.cmd(b"U1 UNSELECT"), b"U1")
    # another session expunges UIDs 2 and 4 and flags UID 5
    other = raw(server, "alice")
    select(other)
    ok(other.cmd(b"T1 STORE 2,4 +FLAGS.SILENT (\\Deleted)"), b"T1")
    ok(other.cmd(b"T2 STORE 5 +FLAGS.SILENT (\\Flagged)"), b"T2")
    ok(other.cmd(b"X1 EXPUNGE"), b"X1")
    other.close()
    lines = select(r, params=b" (QRESYNC (%d %d))" % (validity, high), tag=b"S2")
    vanished = [x for x in lines if x.startswith(b"* VANISHED")]
    assert len(vanished) == 1 and vanished[0].startswith(b"* VANISHED (EARLIER) "), lines
    assert sorted(expand(vanished[0].split()[3])) == [2, 4], lines
    fetches = [x for x in lines if b" FETCH " in x]
    assert len(fetches) == 1 and re.match(
        rb"\* 3 FETCH \((?=.*UID 5)(?=.*FLAGS \(\\Flagged\))(?=.*MODSEQ \(\d+\)).*\)\r\n",
        fetches[0]), lines
    # a wrong UIDVALIDITY: no VANISHED, no FETCH (RFC 7162 3.2.5)
    lines = select(r, params=b" (QRESYNC (%d %d))" % (validity + 1, high), tag=b"S3")
    assert not [x for x in lines if x.startswith(b"* VANISHED") or b" FETCH " in x], lines
    # QRESYNC without ENABLE is BAD (RFC 7162 3.2.5)
    r2 = raw(server, "alice")
    lines = r2.cmd(b"S1 SELECT INBOX (QRESYNC (%d %d))" % (validity, high))
    assert lines[-1].startswith(b"S1 BAD"), lines


def test_qresync_expunge_sends_vanished(server):
    """RFC 7162 3.2.10: with QRESYNC enabled, EXPUNGE answers VANISHED
    (without EARLIER) instead of EXPUNGE."""
    deliver(server, 3)
    r = raw(server, "alice")
    ok(r.cmd(b"E1 ENABLE QRESYNC"), b"E1")
    select(r)
    ok(r.cmd(b"T1 STORE 1,3 +FLAGS.SILENT (\\Deleted)"), b"T1")
    lines = ok(r.cmd(b"X1 EXPUNGE"), b"X1")
    got = [x for x in lines if b"VANISHED" in x or b"EXPUNGE\r\n" in x]
    assert len(got) == 1 and got[0].startswith(b"* VANISHED "), lines
    assert sorted(expand(got[0].split()[2])) == [1, 3], lines


# ------------------------------------------------------------ BINARY


def test_binary_fetch_decodes(server):
    """RFC 3516 4.2: BINARY[section] is the decoded content (literal8 when
    it has NUL), BINARY.SIZE its decoded size; BINARY.PEEK does not set
    \\Seen."""
    msg, _ = multipart_mixed()
    server.deliver("alice", msg)
    r = raw(server, "alice")
    select(r)
    lines = ok(r.cmd(b"B1 FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])"), b"B1")
    assert lines[0] == (b"* 1 FETCH (BINARY[2] ~{1024}\r\n" + ATTACHMENT +
                        b" BINARY.SIZE[2] 1024)\r\n"), lines[0][:200]
    lines = ok(r.cmd(b"B2 FETCH 1 (FLAGS)"), b"B2")
    assert lines[0] == b"* 1 FETCH (FLAGS (\\Recent))\r\n" or b"\\Seen" not in lines[0]
    lines = ok(r.cmd(b"B3 FETCH 1 (BINARY.PEEK[2]<1020.100>)"), b"B3")
    # no NUL in these four: a literal or a literal8 (RFC 3516 4.2)
    assert re.sub(rb"~\{", b"{", lines[0]) == \
        b"* 1 FETCH (BINARY[2]<1020> {4}\r\n" + ATTACHMENT[1020:] + b")\r\n"
    lines = ok(r.cmd(b"B4 FETCH 1 (BINARY.PEEK[1])"), b"B4")
    assert lines[0] == b"* 1 FETCH (BINARY[1] {21}\r\nSee the attachment.\r\n)\r\n", lines


def test_binary_quoted_printable_and_unknown_encoding(server):
    """RFC 3516 4.2: QP decoded (soft breaks joined); a CTE the server
    cannot decode gives NO [UNKNOWN-CTE]."""
    server.deliver("alice", qp_message())
    server.deliver("alice", b"From: s@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                   b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n")
    r = raw(server, "alice")
    select(r)
    body = "Schöne Grüße, softbreak here\r\n".encode()
    lines = ok(r.cmd(b"B1 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"), b"B1")
    assert lines[0] == b"* 1 FETCH (BINARY[1] {%d}\r\n%s BINARY.SIZE[1] %d)\r\n" % (
        len(body), body, len(body)), lines
    lines = r.cmd(b"B2 FETCH 2 (BINARY.PEEK[1])")
    assert lines[-1].startswith(b"B2 NO [UNKNOWN-CTE]"), lines


def test_append_literal8(server):
    """RFC 3516 4.3: APPEND with a ~{n} literal8 holding NUL octets."""
    r = raw(server, "alice")
    msg = b"From: s@example.org\r\nSubject: bin\r\n\r\nzero\x00byte\r\n"
    lines = ok(r.cmd(b"A1 APPEND INBOX ~{%d+}\r\n%s" % (len(msg), msg)), b"A1")
    select(r)
    # the binary part is stored as base64 (so that BODY[] has no NUL);
    # BINARY[1] gives back exactly the bytes that were sent
    body = b"zero\x00byte\r\n"
    lines = ok(r.cmd(b"F1 FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"), b"F1")
    assert lines[0] == b"* 1 FETCH (BINARY[1] ~{%d}\r\n%s BINARY.SIZE[1] %d)\r\n" % (
        len(body), body, len(body)), lines
    lines = ok(r.cmd(b"F2 FETCH 1 (BODY.PEEK[])"), b"F2")
    assert b"\x00" not in lines[0] and b"Content-Transfer-Encoding: base64" in lines[0]


# ------------------------------------------------------------ structure, SEARCH in bodies

ENCODED = (b"From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.org>\r\n"
           b"To: friends: a@example.org, \"B B\" <b@example.org>;, c@example.org\r\n"
           b"Cc: undisclosed-recipients:;\r\n"
           b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"
           b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
           b"Message-ID: <enc@example.org>\r\n")


def qp_message():
    return (ENCODED + b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe, soft=\r\nbreak here\r\n")


def b64_message():
    text = "Hidden treasure: Überraschung\r\n".encode()
    return (b"From: s@example.org\r\nSubject: b64\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            base64.encodebytes(text).replace(b"\n", b"\r\n"))


NESTED = (b"From: s@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n"
          b"--o\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n"
          b"--i\r\nContent-Type: text/plain\r\n\r\nplain alternative\r\n"
          b"--i\r\nContent-Type: text/html\r\n\r\n<p>0123456789abcdef</p>\r\n"
          b"--i--\r\n--o\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--o--\r\n")


def test_bodystructure_multipart_with_attachment(server):
    """RFC 9051 7.5.2 BODYSTRUCTURE: parts with type, parameters, encoding,
    size (the CRLF before a boundary belongs to the boundary, RFC 2046
    5.1.1), lines for text, disposition, and the multipart extension data."""
    msg, b64 = multipart_mixed()
    server.deliver("alice", msg)
    server.deliver("alice", NESTED)
    r = raw(server, "alice")
    select(r)
    lines = ok(r.cmd(b"F1 FETCH 1 (BODYSTRUCTURE)"), b"F1")
    want = (b'* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
            b'21 1 NIL NIL NIL NIL)("application" "octet-stream" ("name" "data.bin") NIL NIL '
            b'"base64" %d NIL ("attachment" ("filename" "data.bin")) NIL NIL) "mixed" '
            b'("boundary" "XYZ") NIL NIL NIL))\r\n' % (len(b64) - 2))
    assert lines[0] == want
    lines = ok(r.cmd(b"F2 FETCH 1 (BODY)"), b"F2")
    assert lines[0] == (b'* 1 FETCH (BODY (("text" "plain" ("charset" "us-ascii") NIL NIL '
                        b'"7bit" 21 1)("application" "octet-stream" ("name" "data.bin") NIL '
                        b'NIL "base64" %d) "mixed"))\r\n' % (len(b64) - 2))
    lines = ok(r.cmd(b"F3 FETCH 2 (BODYSTRUCTURE)"), b"F3")
    assert lines[0] == (
        b'* 2 FETCH (BODYSTRUCTURE ((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" '
        b'17 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 23 0 NIL '
        b'NIL NIL NIL) "alternative" ("boundary" "i") NIL NIL NIL)("text" "plain" ("charset" '
        b'"us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) "mixed" ("boundary" "o") NIL NIL '
        b'NIL))\r\n'), lines


def test_envelope_encoded_words_and_groups(server):
    """RFC 9051 7.5.2 ENVELOPE: encoded words are passed as they are
    (RFC 2047), groups are (NIL NIL "name" NIL) ... (NIL NIL NIL NIL),
    Sender and Reply-To default to From."""
    server.deliver("alice", qp_message())
    r = raw(server, "alice")
    select(r)
    lines = ok(r.cmd(b"F1 FETCH 1 (ENVELOPE)"), b"F1")
    frm = b'(("=?UTF-8?B?SsO8cmdlbg==?=" NIL "j" "example.org"))'
    assert lines[0] == (
        b'* 1 FETCH (ENVELOPE ("Mon, 02 Mar 2026 10:00:00 +0000" '
        b'"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=" ' + frm + b" " + frm + b" " + frm +
        b' ((NIL NIL "friends" NIL)(NIL NIL "a" "example.org")("B B" NIL "b" "example.org")'
        b'(NIL NIL NIL NIL)(NIL NIL "c" "example.org")) '
        b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL '
        b'"<enc@example.org>"))\r\n'), lines


def test_partial_section_fetch(server):
    """RFC 9051 6.4.5: BODY[1.2]<0.10> is octets 0-9 of part 1.2, answered
    as BODY[1.2]<0>; a range past the end is empty; .MIME headers."""
    server.deliver("alice", NESTED)
    r = raw(server, "alice")
    select(r)
    lines = ok(r.cmd(b"F1 FETCH 1 (BODY.PEEK[1.2]<0.10>)"), b"F1")
    assert lines[0] == b"* 1 FETCH (BODY[1.2]<0> {10}\r\n<p>0123456)\r\n", lines
    lines = ok(r.cmd(b"F2 FETCH 1 (BODY.PEEK[1.2]<20.10>)"), b"F2")
    assert lines[0] == b"* 1 FETCH (BODY[1.2]<20> {3}\r\n/p>)\r\n", lines
    lines = ok(r.cmd(b"F3 FETCH 1 (BODY.PEEK[1.2]<500.10>)"), b"F3")
    assert lines[0] in (b'* 1 FETCH (BODY[1.2]<500> "")\r\n',
                        b"* 1 FETCH (BODY[1.2]<500> {0}\r\n)\r\n"), lines
    lines = ok(r.cmd(b"F4 FETCH 1 (BODY.PEEK[1.2.MIME] BODY.PEEK[2])"), b"F4")
    assert lines[0] == (b"* 1 FETCH (BODY[1.2.MIME] {27}\r\nContent-Type: text/html\r\n\r\n"
                        b" BODY[2] {11}\r\nsecond part)\r\n"), lines
    # a part that does not exist is empty (RFC 9051 6.4.5)
    lines = ok(r.cmd(b"F5 FETCH 1 (BODY.PEEK[3])"), b"F5")
    assert lines[0] in (b'* 1 FETCH (BODY[3] "")\r\n', b"* 1 FETCH (BODY[3] NIL)\r\n",
                        b"* 1 FETCH (BODY[3] {0}\r\n)\r\n"), lines


def test_search_charset_and_encoded_bodies(server):
    """RFC 9051 6.4.4: SEARCH compares decoded text: RFC 2047 headers,
    base64 and quoted-printable bodies (soft line breaks removed), with
    CHARSET UTF-8; an unknown charset is NO [BADCHARSET]."""
    server.deliver("alice", qp_message())
    server.deliver("alice", b64_message())
    server.deliver("alice", plain(3))
    r = raw(server, "alice")
    select(r)

    def search(crit):
        lines = ok(r.cmd(b"S SEARCH " + crit), b"S")
        return lines[0]
    assert search('CHARSET UTF-8 SUBJECT "grüße aus köln"'.encode()) == b"* SEARCH 1\r\n"
    assert search('CHARSET UTF-8 FROM "Jürgen"'.encode()) == b"* SEARCH 1\r\n"
    # case-insensitive for ASCII only (RFC 9051 6.4.4)
    assert search('CHARSET UTF-8 BODY "ÜBERRASCHUNG"'.encode()) == b"* SEARCH 2\r\n"
    assert search(b'BODY "treasure"') == b"* SEARCH 2\r\n"
    assert search(b'BODY "SGlkZGVu"') == b"* SEARCH\r\n"  # not the base64 text
    assert search('CHARSET UTF-8 TEXT "Schöne"'.encode()) == b"* SEARCH 1\r\n"
    assert search(b'BODY "softbreak"') == b"* SEARCH 1\r\n"
    assert search(b'BODY "=C3"') == b"* SEARCH\r\n"
    assert search(b'TEXT "message 3"') == b"* SEARCH 3\r\n"  # TEXT includes headers
    # a literal search string in UTF-8 (RFC 9051 6.4.4)
    word = "köln".encode()
    r.send(b"S2 SEARCH CHARSET UTF-8 SUBJECT {%d}\r\n" % len(word))
    assert r.line().startswith(b"+")
    lines = ok(r.cmd(word, tag=b"S2"), b"S2")
    assert lines[0] == b"* SEARCH 1\r\n"
    lines = r.cmd(b"S3 SEARCH CHARSET X-NO-SUCH SUBJECT x")
    assert lines[-1].startswith(b"S3 NO [BADCHARSET"), lines


# ------------------------------------------------------------ IDLE


def idle(r, tag=b"I1"):
    r.send(tag + b" IDLE\r\n")
    line = r.line()
    assert line.startswith(b"+ "), line


def idle_wait(r, pred, timeout):
    """Lines received in IDLE until pred(line) or the timeout."""
    r.sock.settimeout(timeout)
    got = []
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            line = r.line()
            if not line:
                break
            got.append(line)
            if pred(line):
                break
    except (socket.timeout, TimeoutError):
        pass
    finally:
        r.sock.settimeout(10)
    return got, time.monotonic() - t0


def idle_done(r, tag=b"I1"):
    r.send(b"DONE\r\n")
    return ok(r.read_until_tag(tag), tag)


def test_idle_woken_by_lmtp_delivery(server):
    """RFC 2177 3: a delivery over LMTP shows as EXISTS within a second."""
    deliver(server, 1)
    r = raw(server, "alice")
    select(r)
    idle(r)
    with smtplib.LMTP("127.0.0.1", server.lmtp_port, timeout=10) as c:
        t0 = time.monotonic()
        assert c.sendmail("s@example.org", ["alice@example.org"], plain(2)) == {}
        got, _ = idle_wait(r, lambda x: b"EXISTS" in x, 2)
        elapsed = time.monotonic() - t0
    assert b"* 2 EXISTS\r\n" in got, got
    assert elapsed < 1.0, f"IDLE took {elapsed:.2f} s"
    lines = idle_done(r)
    lines = ok(r.cmd(b"F1 FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)])"), b"F1")
    assert b"Subject: message 2" in lines[0]


def test_idle_woken_by_expunge_and_flags_elsewhere(server):
    """RFC 2177 3 / RFC 9051 7.5.1: another session's EXPUNGE shows as
    "* n EXPUNGE" and its flag change as FETCH FLAGS, while idling."""
    deliver(server, 3)
    r = raw(server, "alice")
    select(r)
    idle(r)
    other = raw(server, "alice")
    select(other)
    ok(other.cmd(b"T1 STORE 3 +FLAGS.SILENT (\\Flagged)"), b"T1")
    got, elapsed = idle_wait(r, lambda x: b"FETCH" in x, 2)
    assert got and re.match(rb"\* 3 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)( UID 3)?\)\r\n",
                            got[-1]), got
    assert elapsed < 1.0
    ok(other.cmd(b"T2 STORE 2 +FLAGS.SILENT (\\Deleted)"), b"T2")
    ok(other.cmd(b"X1 EXPUNGE"), b"X1")
    got, elapsed = idle_wait(r, lambda x: b"EXPUNGE" in x, 2)
    assert b"* 2 EXPUNGE\r\n" in got, got
    assert elapsed < 1.0
    idle_done(r)
    lines = ok(r.cmd(b"F1 FETCH 1:* (UID)"), b"F1")
    assert lines[:-1] == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"]


def test_idle_bad_continuation(server):
    """RFC 2177 3: anything but DONE ends IDLE with BAD; the session goes
    on."""
    r = raw(server, "alice")
    select(r)
    idle(r)
    r.send(b"NOT-DONE\r\n")
    lines = r.read_until_tag(b"I1")
    assert lines[-1].startswith(b"I1 BAD"), lines
    ok(r.cmd(b"N1 NOOP"), b"N1")


# ------------------------------------------------------------ with POP3


def test_pop3_dele_seen_as_expunge_by_imap(server):
    """A POP3 DELE+QUIT (RFC 1939 6) expunges; a selected IMAP session is
    told "* n EXPUNGE" at its next NOOP (RFC 9051 7.5.1)."""
    deliver(server, 3)
    r = raw(server, "alice")
    select(r)
    p = server.pop3("alice", ALICE)
    p.dele(2)
    p.quit()
    lines = ok(r.cmd(b"N1 NOOP"), b"N1")
    assert lines[:-1] == [b"* 2 EXPUNGE\r\n"] or \
        [x for x in lines if b"EXPUNGE" in x] == [b"* 2 EXPUNGE\r\n"], lines
    lines = ok(r.cmd(b"F1 FETCH 1:* (UID)"), b"F1")
    assert lines[:-1] == [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n"]


def test_imap_flags_do_not_change_pop3_uidl(server):
    """POP3 UIDL (RFC 1939 7) stays the same when IMAP changes flags,
    which renames the Maildir file (":2,FS")."""
    deliver(server, 3)
    p = server.pop3("alice", ALICE)
    before = p.uidl()[1]
    p.quit()
    r = raw(server, "alice")
    select(r)
    ok(r.cmd(b"T1 STORE 1:3 +FLAGS (\\Seen \\Flagged $Label1)"), b"T1")
    ok(r.cmd(b"T2 STORE 2 -FLAGS (\\Seen)"), b"T2")
    ok(r.cmd(b"T3 STORE 3 +FLAGS (\\Answered \\Draft)"), b"T3")
    p = server.pop3("alice", ALICE)
    assert p.uidl()[1] == before
    p.quit()


# ------------------------------------------------------------ UID FETCH


def test_uid_fetch_reports_uid_once(server):
    """RFC 9051 6.4.9: UID FETCH includes UID in each FETCH response; when
    the client asked for UID too, it is still one data item, not two."""
    deliver(server, 2)
    r = raw(server, "alice")
    select(r)
    lines = norecent(ok(r.cmd(b"F1 UID FETCH 1:* (UID FLAGS)"), b"F1"))
    assert lines[:-1] == [b"* 1 FETCH (UID 1 FLAGS ())\r\n", b"* 2 FETCH (UID 2 FLAGS ())\r\n"]
