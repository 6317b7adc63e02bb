"""Protocol details an IMAP compliance tester checks, each against the RFC
that asks for it: untagged updates at the right moment (EXISTS after
APPEND and MOVE, FLAGS when a keyword appears), \\Recent under EXAMINE,
UIDVALIDITY of a re-created folder, LIST RECURSIVEMATCH with several
patterns, the longest legal ID, address searches, and CONDSTORE enabled
by a command.

Real clients: a byte-level client (imap_helpers.raw) where the order of
responses matters, Python's imaplib elsewhere.
"""
import re

from imap_helpers import login, make_server, plain, raw, reaper, server, untagged  # noqa: F401


def tagged_ok(lines):
    return lines[-1].split(b" ", 2)[1] == b"OK"


def test_append_to_selected_announces_exists(server):
    r = raw(server, "alice")
    assert tagged_ok(r.cmd(b"a SELECT INBOX"))
    msg = plain(1)
    r.send(b"b APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    lines = r.read_until_tag(b"b")
    # RFC 9051 6.3.12: EXISTS with the APPEND's own responses
    assert b"* 1 EXISTS\r\n" in lines, lines
    assert lines[-1].startswith(b"b OK [APPENDUID "), lines
    r.close()


def test_move_reports_expunge_then_only_new_exists(server):
    for i in range(3):
        assert server.deliver("alice", plain(i)) == {}
    r = raw(server, "alice")
    assert tagged_ok(r.cmd(b"a SELECT INBOX"))
    assert tagged_ok(r.cmd(b"b CREATE Other"))
    lines = r.cmd(b"c UID MOVE 1 Other")
    assert b"* 1 EXPUNGE\r\n" in lines
    # the count went down by the EXPUNGE itself: no EXISTS (RFC 9051 7.4.1)
    assert untagged(lines, b"EXISTS") == [], lines
    # MOVE into the mailbox itself: gone and back with a new UID
    lines = r.cmd(b"d MOVE 1 INBOX")
    assert b"* 1 EXPUNGE\r\n" in lines, lines
    assert b"* 2 EXISTS\r\n" in lines, lines
    r.close()


def test_new_keyword_announced_before_use(server):
    assert server.deliver("alice", plain(1)) == {}
    a = raw(server, "alice")
    b = raw(server, "alice")
    assert tagged_ok(a.cmd(b"a SELECT INBOX"))
    assert tagged_ok(b.cmd(b"b SELECT INBOX"))
    lines = a.cmd(b"c STORE 1 +FLAGS ($Hello NIL)")
    flags = [i for i, l in enumerate(lines) if l.startswith(b"* FLAGS (")]
    fetch = [i for i, l in enumerate(lines) if b" FETCH " in l]
    assert flags and fetch and flags[0] < fetch[0], lines
    assert b"$Hello" in lines[flags[0]] and b"NIL" in lines[flags[0]]
    assert any(l.startswith(b"* OK [PERMANENTFLAGS (") and b"$Hello" in l for l in lines)
    # the other session learns the new list before the flag change
    lines = b.cmd(b"d NOOP")
    flags = [i for i, l in enumerate(lines) if l.startswith(b"* FLAGS (")]
    fetch = [i for i, l in enumerate(lines) if b" FETCH " in l]
    assert flags and fetch and flags[0] < fetch[0], lines
    # and only once
    assert untagged(a.cmd(b"e NOOP"), b"FLAGS") == []
    a.close()
    b.close()


def test_examine_shows_recent_without_taking_it(server):
    assert server.deliver("alice", plain(1)) == {}
    assert server.deliver("alice", plain(2)) == {}
    r = raw(server, "alice")
    lines = r.cmd(b"a EXAMINE INBOX")
    assert b"* 2 RECENT\r\n" in lines, lines
    assert tagged_ok(r.cmd(b"b CLOSE"))
    lines = r.cmd(b"c STATUS INBOX (RECENT)")
    assert b"(RECENT 2)" in lines[0], lines
    lines = r.cmd(b"d SELECT INBOX")
    assert b"* 2 RECENT\r\n" in lines, lines
    assert tagged_ok(r.cmd(b"e CLOSE"))
    assert b"(RECENT 0)" in r.cmd(b"f STATUS INBOX (RECENT)")[0]
    r.close()


def test_recreated_folder_gets_new_uidvalidity(server):
    m = login(server)
    seen = set()
    for _ in range(3):
        assert m.create("Again")[0] == "OK"
        typ, data = m.status("Again", "(UIDVALIDITY)")
        seen.add(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
        assert m.delete("Again")[0] == "OK"
    # RFC 9051 2.3.1.1: never the same UIDVALIDITY for a new folder,
    # also within one second
    assert len(seen) == 3, seen
    m.logout()


def test_list_recursivematch_several_patterns(server):
    m = login(server)
    for name in ("T", "T/a", "T/b"):
        assert m.create(name)[0] == "OK"
    assert m.subscribe("T/a")[0] == "OK"
    r = raw(server, "alice")
    # the subscribed child is not listed: its parent is, with CHILDINFO
    lines = r.cmd(b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" (T)')
    assert any(l.startswith(b'* LIST (') and b'"T" ("CHILDINFO" ("SUBSCRIBED"))' in l
               for l in lines), lines
    # the child is listed itself: the parent need not be (RFC 5258 3.5)
    lines = r.cmd(b'b LIST (SUBSCRIBED RECURSIVEMATCH) "" (T T/a)')
    listed = [l for l in lines if l.startswith(b"* LIST")]
    assert len(listed) == 1 and b'"T/a"' in listed[0], lines
    r.close()
    m.logout()


def test_longest_legal_id_before_login(server):
    r = raw(server)
    # RFC 2971 3.3: up to 30 fields, values up to 1024 octets
    pairs = b" ".join(b'"field%02d" "%s"' % (i, b"v" * 1024) for i in range(30))
    lines = r.cmd(b"a ID (" + pairs + b")")
    assert lines[-1].startswith(b"a OK"), lines[-1]
    assert tagged_ok(r.cmd(b"b NOOP"))
    r.close()


def test_search_address_with_comments(server):
    msg = (b"From: <user-from (comment)@ (comment) domain.org>\r\n"
           b"To: Some One <someone@example.org>\r\nSubject: s\r\n\r\nbody\r\n")
    assert server.deliver("alice", msg) == {}
    assert server.deliver("alice", plain(2)) == {}
    m = login(server)
    m.select("INBOX")
    assert m.search(None, "FROM", "user-from@domain.org") == ("OK", [b"1"])
    assert m.search(None, "TO", '"One <someone@"') == ("OK", [b"1"])
    assert m.search(None, "FROM", "nobody@domain.org") == ("OK", [b""])
    m.logout()


def test_condstore_enabled_by_command(server):
    for i in range(3):
        assert server.deliver("alice", plain(i)) == {}
    r = raw(server, "alice")
    assert tagged_ok(r.cmd(b"a SELECT INBOX"))
    lines = r.cmd(b"b FETCH 1 (MODSEQ)")
    # RFC 7162 3.1: the first enabling command announces HIGHESTMODSEQ
    assert any(l.startswith(b"* OK [HIGHESTMODSEQ ") for l in lines), lines
    assert untagged(r.cmd(b"c FETCH 1 (MODSEQ)"), b"OK") == []
    mods = {}
    for seq in (b"1", b"2", b"3"):
        lines = r.cmd(b"s STORE " + seq + b" +FLAGS (\\Seen)")
        mods[seq] = re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1)
    # RFC 7162 3.1.5: with only MIN (or MAX), the MODSEQ of that message
    lines = r.cmd(b'd SEARCH RETURN (MIN) 1:3 MODSEQ "/flags/\\\\seen" all 1')
    assert lines[0].endswith(b"MIN 1 MODSEQ " + mods[b"1"] + b"\r\n"), lines
    lines = r.cmd(b'e SEARCH RETURN (MAX) 1:2 MODSEQ 1')
    assert lines[0].endswith(b"MAX 2 MODSEQ " + mods[b"2"] + b"\r\n"), lines
    r.close()


def test_binary_append_kept_exactly(server):
    # RFC 3516: a binary part sent as a literal8 comes back byte for byte
    # from BINARY[], and BODY[] never carries its NULs (RFC 9051 4.3)
    data = b"\x00-\xe4\n\r\n\n\xff\x00"
    msg = (b"From: user@domain.org\r\nMime-Version: 1.0\r\n"
           b"Content-Type: application/octet-stream\r\n"
           b"Content-Transfer-Encoding: binary\r\n\r\n" + data)
    r = raw(server, "alice")
    r.send(b"a APPEND INBOX ~{%d+}\r\n" % len(msg) + msg + b"\r\n")
    assert r.read_until_tag(b"a")[-1].startswith(b"a OK")
    assert tagged_ok(r.cmd(b"b SELECT INBOX"))
    lines = r.cmd(b"c FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert lines[0] == (b"* 1 FETCH (BINARY.SIZE[1] %d BINARY[1] ~{%d}\r\n" % (len(data), len(data))
                        + data + b")\r\n"), lines
    lines = r.cmd(b"d FETCH 1 (BODY.PEEK[])")
    assert b"\x00" not in lines[0] and b"Content-Transfer-Encoding: base64" in lines[0], lines
    r.close()


def test_concurrent_subscribe_loses_nothing(server):
    import threading
    m = login(server)
    names = [f"F{i}" for i in range(24)]
    for n in names:
        assert m.create(n)[0] == "OK"
        assert m.unsubscribe(n)[0] == "OK"
    errors = []

    def worker(part):
        try:
            c = login(server)
            for n in part:
                assert c.subscribe(n)[0] == "OK"
            c.logout()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(names[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    typ, data = m.lsub('""', "F*")
    got = {re.search(rb'"?(F\d+)"?$', line).group(1).decode() for line in data}
    assert got == set(names)
    m.logout()


def test_delivered_nul_never_sent_in_a_literal(server):
    # a delivery may carry a NUL byte; IMAP may not send it outside a
    # literal8 (RFC 9051 4.3): BODY[] shows 0x80 in its place
    msg = b"From: a@example.org\r\nSubject: nul\r\n\r\nbefore\x00after\r\n"
    assert server.deliver("alice", msg) == {}
    r = raw(server, "alice")
    assert tagged_ok(r.cmd(b"a SELECT INBOX"))
    for item in (b"BODY.PEEK[]", b"BODY.PEEK[TEXT]", b"RFC822", b"BODY.PEEK[1]"):
        lines = r.cmd(b"b FETCH 1 (" + item + b")")
        assert b"\x00" not in lines[0] and b"before\x80after" in lines[0], (item, lines)
    r.close()


def test_digest_md5_never_offered(make_server):
    # historic (RFC 6331), and GNU SASL's server side reads out of bounds
    # on a malformed response: configured or not, it is refused
    srv = make_server({"auth.mechanisms": "PLAIN DIGEST-MD5 SCRAM-SHA-256"})
    r = raw(srv)
    caps = r.cmd(b"a CAPABILITY")[0]
    assert b"AUTH=SCRAM-SHA-256" in caps and b"DIGEST-MD5" not in caps, caps
    lines = r.cmd(b"b AUTHENTICATE DIGEST-MD5")
    assert lines[-1].startswith(b"b NO") or lines[-1].startswith(b"b BAD"), lines
    assert tagged_ok(r.cmd(b"c NOOP"))
    r.close()
    assert "DIGEST-MD5" in open(srv.log_path).read()


def test_copy_and_move_use_the_clients_sequence_numbers(server):
    # another session expunges message 1; until this session hears of it,
    # its "5" is still the fifth message it knows (RFC 9051 7.5.1, 5.5)
    for i in range(1, 7):
        assert server.deliver("alice", plain(i)) == {}
    a = raw(server, "alice")
    assert tagged_ok(a.cmd(b"a SELECT INBOX"))
    assert tagged_ok(a.cmd(b"b CREATE Other"))
    m = login(server)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    lines = a.cmd(b"c COPY 5 Other")
    assert lines[-1].startswith(b"c OK [COPYUID "), lines
    assert re.search(rb"COPYUID \d+ 5 ", lines[-1]), lines
    lines = a.cmd(b"d MOVE 6 Other")
    assert any(re.search(rb"COPYUID \d+ 6 ", l) for l in lines), lines
    # both expunges reported, highest first so that each number is right
    # when it is sent: the moved 6, then the other session's 1
    expunges = [l for l in lines if l.endswith(b" EXPUNGE\r\n")]
    assert expunges == [b"* 6 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"], lines
    a.close()
    m.select("Other")
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [d[1].strip() for d in data if isinstance(d, tuple)]
    assert subjects == [b"Subject: message 5", b"Subject: message 6"], subjects
    m.logout()


def test_long_name_in_three_byte_characters_is_listed(server):
    # UTF-8 longer than its modified UTF-7 directory name (found by
    # fuzz_mailbox_name): such a folder was created but never listed
    name = "日本語のフォルダ名前テストの長い名前です"
    m = login(server, rev2=True)
    m._encoding = "utf-8"
    typ, data = m._simple_command("CREATE", '"' + name + '"')
    assert typ == "OK", data
    r = raw(server, "alice")
    assert tagged_ok(r.cmd(b"e ENABLE UTF8=ACCEPT"))
    lines = r.cmd(b'a LIST "" "*"')
    assert any(name.encode() in l for l in lines), lines
    lines = r.cmd(b'b SELECT "' + name.encode() + b'"')
    assert tagged_ok(lines), lines
    r.close()
    m.logout()
