"""Per-user storage quota (quota.storage) and IMAP QUOTA (RFC 9208).

Usage is the sum of RFC822.SIZE (the W= of each Maildir file name) of all
messages in all of a user's folders. Over the limit: LMTP answers
552 5.2.2 per recipient (RFC 3463 X.2.2 "mailbox full"), `yubin deliver`
exits 77 (EX_NOPERM, like dovecot-lda -e), IMAP APPEND and COPY answer
NO [OVERQUOTA]. IMAP shows one quota root "" with STORAGE in KiB.
"""
import imaplib
import os
import re
import smtplib
import subprocess

import pytest

from conftest import IS_ROOT, SANITIZER_MARKERS, USERS, YUBIN, Server

SENDER = "sender@example.net"
W_RE = re.compile(r",W=(\d+)")
# CRLF message bodies of a given total size
HEADER = b"From: s@example.org\r\nSubject: quota\r\n\r\n"


@pytest.fixture(autouse=True)
def _cli_sanitizer_check(monkeypatch):
    """`yubin deliver` runs are the binary under test too."""
    orig = Server.cli

    def cli(self, *args, **kw):
        res = orig(self, *args, **kw)
        for marker in SANITIZER_MARKERS:
            assert marker.encode() not in res.stderr, res.stderr.decode(errors="replace")
        return res

    monkeypatch.setattr(Server, "cli", cli)


def message(size):
    """A CRLF message of exactly size octets (size >= len(HEADER) + 2)."""
    fill = size - len(HEADER) - 2
    assert fill >= 0
    return HEADER + b"x" * fill + b"\r\n"


def usage_on_disk(server, user):
    """Sum of W= over every message file of the user (all folders)."""
    total = 0
    for p in server.maildir(user).rglob("*"):
        if p.is_file() and p.parent.name in ("new", "cur"):
            m = W_RE.search(p.name)
            assert m, p.name
            total += int(m.group(1))
    return total


def kib_up(n):
    return (n + 1023) // 1024


def login(server, user="alice"):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    m.login(user, USERS[user])
    return m


def getquotaroot(m, mailbox):
    """(tagged typ, tagged data, QUOTAROOT lines, QUOTA lines)."""
    typ, data = m._simple_command("GETQUOTAROOT", mailbox)
    roots = m.untagged_responses.pop("QUOTAROOT", [])
    quotas = m.untagged_responses.pop("QUOTA", [])
    return typ, data, roots, quotas


def getquota(m, root='""'):
    typ, data = m._simple_command("GETQUOTA", root)
    return typ, data, m.untagged_responses.pop("QUOTA", [])


def lmtp_session(server, rcpts, body):
    """One LMTP transaction over a raw socket: the replies after DATA, one
    per recipient (RFC 2033 4.2)."""
    c = server.raw(server.lmtp_port)
    replies = []

    def reply():
        while True:
            line = c.readline()
            assert line.endswith(b"\r\n"), line
            if line[3:4] != b"-":
                return line[:-2].decode()

    assert reply().startswith("220")
    for line in ["LHLO client.example", f"MAIL FROM:<{SENDER}>"] + \
            [f"RCPT TO:<{r}>" for r in rcpts] + ["DATA"]:
        c.send(line.encode() + b"\r\n")
        r = reply()
        assert r[:3] in ("250", "354"), (line, r)
    c.send(body + b".\r\n")
    for _ in rcpts:
        replies.append(reply())
    c.send(b"QUIT\r\n")
    c.close()
    return replies


# ---- IMAP QUOTA -------------------------------------------------------------

def test_capability_advertised(server):
    m = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=10)
    caps = m.capabilities
    assert "QUOTA" in caps and "QUOTA=RES-STORAGE" in caps
    # no SETQUOTA support, so no QUOTASET (RFC 9208 4.1.3)
    assert "QUOTASET" not in caps
    m.logout()


def test_unlimited_has_no_quota_root(server):
    m = login(server)
    typ, data, roots, quotas = getquotaroot(m, "INBOX")
    assert typ == "OK"
    # the mailbox is an astring: quoted like in LIST and STATUS
    assert roots == [b'"INBOX"'] and quotas == []
    typ, data, quotas = getquota(m)
    assert typ == "NO" and b"[NONEXISTENT]" in data[0] and quotas == []
    m.logout()


def test_getquotaroot_reports_usage_of_all_folders(make_server):
    srv = make_server(overrides={"quota.storage": "100k"})
    srv.deliver("alice", message(3000))
    srv.deliver("alice", message(5000))
    m = login(srv)
    assert m.append("Archive", None, None, message(2500))[0] == "OK"
    used = usage_on_disk(srv, "alice")
    assert used > 10500  # two deliveries with trace headers, one APPEND
    want = b'"" (STORAGE %d 100)' % kib_up(used)
    typ, data, roots, quotas = getquotaroot(m, "INBOX")
    assert typ == "OK", data
    assert roots == [b'"INBOX" ""'] and quotas == [want]
    # every folder is under the same root
    typ, data, roots, quotas = getquotaroot(m, "Archive")
    assert typ == "OK" and roots == [b'"Archive" ""'] and quotas == [want]
    typ, data, quotas = getquota(m)
    assert typ == "OK" and quotas == [want]
    m.logout()


def test_quota_counts_mail_the_index_has_not_seen(make_server):
    """Deliveries write files only; usage must still see them."""
    srv = make_server(overrides={"quota.storage": "1M"})
    m = login(srv)
    typ, data, quotas = getquota(m)
    assert quotas == [b'"" (STORAGE 0 1024)']
    res = srv.deliver_cmd("alice", message(4000), sender=SENDER)
    assert res.returncode == 0, res.stderr
    typ, data, quotas = getquota(m)
    assert typ == "OK"
    assert quotas == [b'"" (STORAGE %d 1024)' % kib_up(usage_on_disk(srv, "alice"))]
    m.logout()


def test_kib_rounding(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    m = login(srv)
    assert m.append("INBOX", None, None, message(1025))[0] == "OK"
    # 1025 octets are 2 KiB started: usage is rounded up (RFC 9208 5.1)
    assert getquota(m)[2] == [b'"" (STORAGE 2 10)']
    m.logout()


def test_getquota_errors(make_server):
    srv = make_server(overrides={"quota.storage": "1M"})
    m = login(srv)
    typ, data, roots, quotas = getquotaroot(m, "NoSuchFolder")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0] and roots == [] and quotas == []
    typ, data, quotas = getquota(m, '"user/alice"')
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    typ, data = m._simple_command("SETQUOTA", '""', "(STORAGE 512)")
    assert typ == "NO" and b"[NOPERM]" in data[0]
    with pytest.raises(imaplib.IMAP4.error):
        m._simple_command("SETQUOTA", '""')
    with pytest.raises(imaplib.IMAP4.error):
        m._simple_command("GETQUOTAROOT")
    with pytest.raises(imaplib.IMAP4.error):
        m._simple_command("GETQUOTA", '""', '""')
    # the session goes on
    assert m.noop()[0] == "OK"
    m.logout()


# ---- APPEND, COPY, MOVE -------------------------------------------------------

def test_append_up_to_the_limit_then_overquota(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    m = login(srv)
    # exactly the limit fits
    assert m.append("INBOX", None, None, message(10240))[0] == "OK"
    assert getquota(m)[2] == [b'"" (STORAGE 10 10)']
    typ, data = m.append("Drafts", None, None, message(len(HEADER) + 2))
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]"), data
    m.select("Drafts")
    assert m.search(None, "ALL")[1] == [b""]
    m.logout()


def test_copy_overquota_move_allowed(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    m = login(srv)
    assert m.append("INBOX", None, None, message(6000))[0] == "OK"
    m.select("INBOX")
    typ, data = m.copy("1", "Archive")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]"), data
    assert m.status("Archive", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 0)")
    # MOVE stays under the same root: usage does not change
    typ, data = m._simple_command("MOVE", "1", "Archive")
    assert typ == "OK", data
    assert m.status("Archive", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)")
    assert getquota(m)[2] == [b'"" (STORAGE 6 10)']
    m.logout()


# ---- LMTP -----------------------------------------------------------------------

def test_lmtp_552_when_full_and_again_after_expunge(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    srv.deliver("alice", message(4000))
    srv.deliver("alice", message(4000))
    before = usage_on_disk(srv, "alice")
    with pytest.raises(smtplib.SMTPDataError) as e:
        srv.deliver("alice", message(4000))
    assert e.value.smtp_code == 552
    assert e.value.smtp_error.startswith(b"5.2.2 "), e.value.smtp_error
    assert usage_on_disk(srv, "alice") == before
    assert "event=quota_exceeded user=alice" in srv.log_text()
    # expunging makes room again at once
    m = login(srv)
    m.select("INBOX")
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    m.logout()
    srv.deliver("alice", message(4000))
    assert usage_on_disk(srv, "alice") <= 10240


def test_lmtp_replies_per_recipient(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    srv.deliver("alice", message(8000))
    replies = lmtp_session(srv, ["alice", "bob"], message(4000))
    assert replies == ["552 5.2.2 <alice> Mailbox full", "250 2.0.0 <bob> Ok: delivered"]


def test_lmtp_message_larger_than_quota_to_new_user(make_server):
    """A user without a Maildir yet uses nothing, but a message larger than
    the whole quota still does not fit."""
    srv = make_server(overrides={"quota.storage": "10k"})
    replies = lmtp_session(srv, ["bob"], message(11000))
    assert replies == ["552 5.2.2 <bob> Mailbox full"]
    assert usage_on_disk(srv, "bob") == 0
    assert lmtp_session(srv, ["bob"], message(9000)) == ["250 2.0.0 <bob> Ok: delivered"]


def test_unlimited_by_default(server):
    for _ in range(3):
        server.deliver("alice", message(40000))
    assert usage_on_disk(server, "alice") > 120000


# ---- yubin deliver ----------------------------------------------------------------

def test_deliver_exit_77_when_full(make_server):
    srv = make_server(overrides={"quota.storage": "10k"})
    res = srv.deliver_cmd("alice", message(6000), sender=SENDER)
    assert res.returncode == 0, res.stderr
    before = usage_on_disk(srv, "alice")
    res = srv.deliver_cmd("alice", message(6000), sender=SENDER)
    assert res.returncode == 77, res.stderr
    assert b"mailbox full" in res.stderr
    assert usage_on_disk(srv, "alice") == before
    assert list((srv.maildir("alice") / "tmp").iterdir()) == []
    # -m FOLDER counts the whole user too
    res = srv.cli("deliver", "-u", "alice", "-m", "Archive", input=message(6000),
                  check=False)
    assert res.returncode == 77, res.stderr
    # a smaller message still fits
    res = srv.deliver_cmd("alice", message(2000), sender=SENDER)
    assert res.returncode == 0, res.stderr


def test_deliver_through_lmtp_exit_77_when_full(make_server):
    """An unprivileged caller's message goes through the server's LMTP:
    its 552 5.2.2 becomes the same exit 77."""
    if not IS_ROOT:
        pytest.skip("needs root to run the command as another user")
    srv = make_server(overrides={"quota.storage": "10k"})
    srv.deliver("alice", message(8000))
    os.chmod(srv.data_dir, 0o700)

    def run(size):
        return subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", YUBIN,
             "deliver", "-u", "alice", "-f", SENDER, "-c", str(srv.conf)],
            input=message(size), capture_output=True, timeout=30)

    res = run(4000)
    assert res.returncode == 77, (res.returncode, res.stderr)
    assert b"5.2.2" in res.stderr
    assert not any(m.encode() in res.stderr for m in SANITIZER_MARKERS), res.stderr
    res = run(1000)
    assert res.returncode == 0, res.stderr


def test_check_prints_quota(make_server):
    srv = make_server(overrides={"quota.storage": "1G"}, start=False)
    res = srv.cli("check")
    assert "quota.storage = 1073741824" in res.stdout.decode()
    srv.settings["quota.storage"] = "12Q"
    srv.write_config()
    res = srv.cli("check", check=False)
    assert res.returncode != 0 and b"quota.storage" in res.stderr
