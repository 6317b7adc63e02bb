"""`yubin deliver`, the local delivery agent an MTA pipes messages into.

Exit codes are sysexits(3), which MTAs act on: 0 delivered, 64 usage,
65 data error (too large), 67 no such user, 75 temporary failure (retry).
A failure must leave nothing half-written in new/ or tmp/.
"""
import os
import re
import shutil
import stat
import subprocess

import pytest

from conftest import IS_ROOT, SANITIZER_MARKERS, USERS, YUBIN, Server


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


NAME_RE = re.compile(r"^(\d+)\.M(\d+)P(\d+)\.([^,:/]+),S=(\d+),W=(\d+)$")

LF_MSG = (b"From: sender@example.net\nTo: alice@example.org\nSubject: lf\n\n"
          b"line one\n.leading dot\n\nlast line\n")


def files_in(server, user, sub, folder=""):
    d = server.maildir(user) / folder / sub
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir())


def crlf_size(data):
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


def pop3_retr_all(server, user):
    p = server.pop3(user, USERS[user])
    try:
        n, size = p.stat()
        msgs = [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(n)]
    finally:
        p.quit()
    return n, size, msgs


def test_deliver_lf_message_byte_exact(server):
    res = server.deliver_cmd("alice", LF_MSG, sender="sender@example.net")
    assert res.returncode == 0, res.stderr
    names = files_in(server, "alice", "new")
    assert len(names) == 1 and files_in(server, "alice", "tmp") == []
    data = (server.maildir("alice") / "new" / names[0]).read_bytes()
    # trace headers in the message's own line-ending style, body untouched
    assert data == (b"Return-Path: <sender@example.net>\nDelivered-To: alice\n" + LF_MSG)
    m = NAME_RE.match(names[0])
    assert m, names[0]
    assert m.group(4) == "test.example"
    assert int(m.group(5)) == len(data)
    assert int(m.group(6)) == crlf_size(data)
    # over POP3: CRLF, the right size, dot-stuffing undone by poplib
    n, size, msgs = pop3_retr_all(server, "alice")
    assert n == 1 and size == crlf_size(data)
    assert msgs[0] == data.replace(b"\n", b"\r\n")


def test_deliver_crlf_message_kept(server):
    msg = LF_MSG.replace(b"\n", b"\r\n")
    res = server.deliver_cmd("bob", msg, sender="s@example.net")
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "bob", "new")
    data = (server.maildir("bob") / "new" / name).read_bytes()
    assert data == b"Return-Path: <s@example.net>\r\nDelivered-To: bob\r\n" + msg
    assert f",S={len(data)},W={len(data)}" in name


def test_deliver_binary_body_exact(server):
    body = b"Subject: bin\n\n" + bytes(range(256)) * 64 + b"\n\r\n\r\r\n.\n..\n"
    res = server.deliver_cmd("alice", body, sender="s@example.net")
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    data = (server.maildir("alice") / "new" / name).read_bytes()
    assert data.endswith(body)


def test_deliver_large_message(server):
    body = b"Subject: big\n\n" + (b"x" * 77 + b"\n") * 40000  # about 3 MB
    res = server.deliver_cmd("alice", body, sender="s@example.net")
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    assert (server.maildir("alice") / "new" / name).read_bytes().endswith(body)


def test_deliver_without_sender(server):
    res = server.deliver_cmd("alice", LF_MSG)
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    data = (server.maildir("alice") / "new" / name).read_bytes()
    assert data.endswith(LF_MSG)
    assert b"Delivered-To: alice\n" in data[:len(data) - len(LF_MSG)]


def test_deliver_null_sender(server):
    res = server.cli("deliver", "-u", "alice", "-f", "", input=LF_MSG, check=False)
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    data = (server.maildir("alice") / "new" / name).read_bytes()
    assert data == b"Return-Path: <>\nDelivered-To: alice\n" + LF_MSG


def test_deliver_strips_mbox_from_line(server):
    """Postfix's local(8) gives a mailbox_command (docs/MTA.md) the message
    with a "From sender time_stamp" envelope line first (local(8),
    EXTERNAL COMMAND DELIVERY). It is not a header field; stored as is it
    would break the header block, so an LDA drops it (dovecot-lda does)."""
    from_line = b"From sender@example.net  Sat Nov 22 04:00:00 2025\n"
    res = server.deliver_cmd("alice", from_line + LF_MSG, sender="sender@example.net")
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    data = (server.maildir("alice") / "new" / name).read_bytes()
    assert data == b"Return-Path: <sender@example.net>\nDelivered-To: alice\n" + LF_MSG
    # a "From " line later in the body is content and stays
    body = LF_MSG + b"From the body, not an envelope\n"
    assert server.deliver_cmd("bob", body).returncode == 0
    (name,) = files_in(server, "bob", "new")
    assert (server.maildir("bob") / "new" / name).read_bytes().endswith(body)


@pytest.mark.parametrize("sender", ["a@b\nX-Injected: yes", "a@b\r\nX-Injected: yes",
                                    "a@b>\nX-Injected: <yes"])
def test_deliver_sender_cannot_inject_headers(server, sender):
    res = server.deliver_cmd("alice", LF_MSG, sender=sender)
    assert res.returncode in (0, 64, 65), (res.returncode, res.stderr)
    for name in files_in(server, "alice", "new"):
        data = (server.maildir("alice") / "new" / name).read_bytes()
        header = data.split(b"\n\n")[0]
        assert not any(line.startswith(b"X-Injected") for line in header.split(b"\n")), data
        assert data.endswith(LF_MSG)


def test_deliver_domain_user_and_case(server):
    res = server.deliver_cmd("Carol@Example.ORG", LF_MSG, sender="s@example.net")
    assert res.returncode == 0, res.stderr
    assert len(files_in(server, "carol@example.org", "new")) == 1


def test_deliver_unknown_user(server):
    res = server.deliver_cmd("nobody", LF_MSG, sender="s@example.net")
    assert res.returncode == 67, (res.returncode, res.stderr)
    assert b"nobody" in res.stderr
    assert not server.maildir("nobody").exists()


@pytest.mark.parametrize("name", ["../alice", "a/b", ".hidden", "", "alice bob"])
def test_deliver_invalid_user_name(server, name):
    res = server.deliver_cmd(name, LF_MSG)
    assert res.returncode in (64, 67), (res.returncode, res.stderr)
    assert files_in(server, "alice", "new") == []


@pytest.mark.parametrize("args", [
    [],                         # no -u
    ["-u"],                     # -u without a value
    ["-u", "alice", "-x"],      # unknown option
    ["-u", "alice", "extra"],   # stray argument
    ["-f"],
])
def test_deliver_usage(server, args):
    res = server.cli("deliver", *args, input=LF_MSG, check=False)
    assert res.returncode == 64, (res.returncode, res.stderr)
    assert b"usage" in res.stderr.lower()
    assert files_in(server, "alice", "new") == []


def test_deliver_too_large(make_server):
    srv = make_server(overrides={"limits.max_message_size": "4k"})
    res = srv.deliver_cmd("alice", b"Subject: big\n\n" + b"y" * 5000 + b"\n")
    assert res.returncode == 65, (res.returncode, res.stderr)
    assert files_in(srv, "alice", "new") == []
    assert files_in(srv, "alice", "tmp") == []
    # exactly at the limit is fine
    msg = b"Subject: ok\n\n"
    msg += b"z" * (4096 - len(msg) - 1) + b"\n"
    assert len(msg) == 4096
    res = srv.deliver_cmd("alice", msg)
    assert res.returncode == 0, res.stderr


def _break_tmp(server, user):
    tmp = server.maildir(user) / "tmp"
    shutil.rmtree(tmp)
    tmp.write_bytes(b"not a directory\n")


def _break_new(server, user):
    new = server.maildir(user) / "new"
    shutil.rmtree(new)
    new.write_bytes(b"not a directory\n")


def _readonly_new(server, user):
    # owned by root and not writable: the mail user cannot add to it
    new = server.maildir(user) / "new"
    os.chown(new, 0, 0)
    os.chmod(new, 0o555)


@pytest.mark.parametrize("breaker", [_break_tmp, _break_new, _readonly_new])
def test_deliver_temporary_failure(server, breaker):
    assert server.deliver_cmd("alice", LF_MSG).returncode == 0
    before_new = files_in(server, "alice", "new")
    before_cur = files_in(server, "alice", "cur")
    breaker(server, "alice")
    res = server.deliver_cmd("alice", b"Subject: second\n\nsecond\n", sender="s@example.net")
    assert res.returncode == 75, (res.returncode, res.stderr)
    # nothing partial anywhere
    new = server.maildir("alice") / "new"
    if new.is_dir():
        assert files_in(server, "alice", "new") == before_new
    tmp = server.maildir("alice") / "tmp"
    if tmp.is_dir():
        assert files_in(server, "alice", "tmp") == []
    assert files_in(server, "alice", "cur") == before_cur
    for p in server.maildir("alice").rglob("*"):
        if p.is_file():
            assert b"second" not in p.read_bytes(), p


def test_deliver_unreadable_users_file(server):
    users = server.data_dir / "users"
    os.chmod(users, 0)
    os.chown(users, 0, 0)
    res = server.deliver_cmd("alice", LF_MSG)
    assert res.returncode == 75, (res.returncode, res.stderr)
    assert files_in(server, "alice", "new") == []


def make_folder(server, user, name):
    root = server.maildir(user)
    for sub in ("cur", "new", "tmp"):
        (root / ("." + name) / sub).mkdir(parents=True, exist_ok=True)
    if IS_ROOT:
        st = os.stat(server.data_dir)
        for p in [root] + list(root.rglob("*")):
            os.chown(p, st.st_uid, st.st_gid)


def test_deliver_to_missing_folder_falls_back_to_inbox(server):
    res = server.cli("deliver", "-u", "alice", "-m", "Junk", "-f", "s@example.net",
                     input=LF_MSG, check=False)
    assert res.returncode == 0, res.stderr
    assert len(files_in(server, "alice", "new")) == 1
    assert not (server.maildir("alice") / ".Junk").exists()


def test_deliver_to_existing_folder(server):
    assert server.deliver_cmd("alice", LF_MSG).returncode == 0  # creates the Maildir
    make_folder(server, "alice", "Junk")
    res = server.cli("deliver", "-u", "alice", "-m", "Junk", input=b"Subject: spam\n\nspam\n",
                     check=False)
    assert res.returncode == 0, res.stderr
    assert len(files_in(server, "alice", "new")) == 1
    (name,) = files_in(server, "alice", "new", folder=".Junk")
    assert (server.maildir("alice") / ".Junk" / "new" / name).read_bytes().endswith(
        b"Subject: spam\n\nspam\n")


@pytest.mark.parametrize("folder", ["../x", "a/b", ".."])
def test_deliver_bad_folder_name(server, folder):
    res = server.cli("deliver", "-u", "alice", "-m", folder, input=LF_MSG, check=False)
    # refused, or delivered to INBOX: never outside the Maildir
    assert res.returncode in (0, 64, 65, 75), res.stderr
    if res.returncode == 0:  # the documented fallback: INBOX
        assert len(files_in(server, "alice", "new")) == 1
    assert not (server.maildir("alice").parent / "x").exists()
    assert not (server.data_dir / "x").exists()
    leaked = [p for p in server.data_dir.rglob("*")
              if p.is_file() and p.parent.name == "new"
              and not str(p).startswith(str(server.maildir("alice")) + "/new")]
    assert leaked == []


def test_server_sees_deliveries_while_running(server):
    p = server.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 0
    p.quit()
    for i in range(3):
        res = server.deliver_cmd("alice", b"Subject: %d\n\nbody %d\n" % (i, i),
                                 sender="s@example.net")
        assert res.returncode == 0, res.stderr
    n, size, msgs = pop3_retr_all(server, "alice")
    assert n == 3
    assert [m.split(b"\r\n\r\n")[1] for m in msgs] == [b"body 0\r\n", b"body 1\r\n",
                                                       b"body 2\r\n"]
    # and a delivery after the server indexed the mailbox is seen too
    assert server.deliver_cmd("alice", b"Subject: 3\n\nbody 3\n").returncode == 0
    n, size, msgs = pop3_retr_all(server, "alice")
    assert n == 4 and msgs[-1].endswith(b"body 3\r\n")


def test_deliver_does_not_need_the_server(make_server):
    srv = make_server(start=False)
    res = srv.deliver_cmd("alice", LF_MSG, sender="s@example.net")
    assert res.returncode == 0, res.stderr
    srv.start()
    n, _, msgs = pop3_retr_all(srv, "alice")
    assert n == 1 and msgs[0].endswith(LF_MSG.replace(b"\n", b"\r\n"))


def test_delivered_files_owned_by_mail_user(server):
    if not IS_ROOT:
        pytest.skip("ownership only changes when run as root")
    assert server.deliver_cmd("alice", LF_MSG).returncode == 0
    (name,) = files_in(server, "alice", "new")
    st = os.stat(server.maildir("alice") / "new" / name)
    dd = os.stat(server.data_dir)
    assert (st.st_uid, st.st_gid) == (dd.st_uid, dd.st_gid)
    assert st.st_uid != 0
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0


def test_deliver_as_unprivileged_caller_goes_through_lmtp(server):
    """An MTA running the command as the recipient (who cannot write
    data_dir) gets the message delivered by the running server."""
    if not IS_ROOT:
        pytest.skip("needs root to run the command as another user")
    os.chmod(server.data_dir, 0o700)
    res = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", YUBIN, "deliver",
         "-u", "alice", "-f", "s@example.net", "-c", str(server.conf)],
        input=LF_MSG, capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert not any(m.encode() in res.stderr for m in SANITIZER_MARKERS), res.stderr
    n, _, msgs = pop3_retr_all(server, "alice")
    assert n == 1 and msgs[0].endswith(LF_MSG.replace(b"\n", b"\r\n"))
    res = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", YUBIN, "deliver",
         "-u", "nobody", "-c", str(server.conf)],
        input=LF_MSG, capture_output=True, timeout=30)
    assert res.returncode == 67, (res.returncode, res.stderr)


def test_deliver_replaces_the_mta_envelope_block(server):
    """Postfix's local(8) prepends Return-Path, X-Original-To and
    Delivered-To (and an mbox From_ line) before running mailbox_command;
    the final delivery writes Return-Path and Delivered-To itself (RFC 5321
    4.4), so the leading ones are replaced, not doubled. The same fields
    further down (from earlier hops) are message content and stay."""
    msg = (b"From sender@example.net  Sat Nov 22 04:00:00 2025\n"
           b"Return-Path: <sender@example.net>\n"
           b"X-Original-To: alice@example.org\n"
           b"Delivered-To: alice@example.org\n"
           b"Received: from elsewhere\n"
           b"Delivered-To: old-hop@example.com\n"
           b"Subject: envelope\n\nbody\n")
    res = server.deliver_cmd("alice@example.org", msg, sender="sender@example.net")
    assert res.returncode == 0, res.stderr
    (name,) = files_in(server, "alice", "new")
    data = (server.maildir("alice") / "new" / name).read_bytes()
    assert data == (b"Return-Path: <sender@example.net>\n"
                    b"Delivered-To: alice@example.org\n"
                    b"X-Original-To: alice@example.org\n"
                    b"Received: from elsewhere\n"
                    b"Delivered-To: old-hop@example.com\n"
                    b"Subject: envelope\n\nbody\n")


def test_deliver_resolves_addresses_like_lmtp(server):
    """-u takes an address and finds its user the way LMTP does: the full
    address, the local part, and each without a +extension."""
    for address in ("alice@example.org", "alice+lists", "Alice+x@Example.org"):
        res = server.deliver_cmd(address, LF_MSG, sender="s@example.net")
        assert res.returncode == 0, (address, res.stderr)
    assert len(files_in(server, "alice", "new")) == 3
    assert server.deliver_cmd("nobody+x@example.org", LF_MSG).returncode == 67
