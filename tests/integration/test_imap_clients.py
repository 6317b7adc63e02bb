"""The IMAP clients people run against a mail server, driven as their
users do: mbsync (isync) and offlineimap syncing to a local Maildir in
both directions, mutt saving a message to another folder, and curl's
imap:// and imaps:// URLs.

Each tool runs in its own temporary HOME with a 0600 configuration and a
time limit; a test is skipped only when the tool is not installed.

What the tools write must be what the server holds: the server's message
(BODY[]) with CRLF turned into LF, as Maildir tools store it.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import make_tempdir
from imap_helpers import ALICE, connect, login, make_server, plain, reaper, server  # noqa: F401

RUN_TIMEOUT = 60
MSGID_RE = re.compile(rb"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (scripts/install-deps.sh --test installs it)")


def wait_listening(server):
    for port in (server.imap_port, server.imaps_port):
        connect(port).close()


@pytest.fixture
def workdir():
    d = make_tempdir("yubin-imapclients-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_private(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)


def tool_env(home, **extra):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "TZ", "LD_LIBRARY_PATH")}
    env.update(HOME=str(home), LANG="C", LC_ALL="C", **extra)
    return env


def run(cmd, home, expect_rc=0, **kw):
    res = subprocess.run(cmd, env=tool_env(home), capture_output=True, timeout=RUN_TIMEOUT,
                         stdin=subprocess.DEVNULL, **kw)
    out = (res.stdout + res.stderr).decode(errors="replace")
    assert res.returncode == expect_rc, f"{cmd[0]} exit {res.returncode}:\n{out[-4000:]}"
    return out


def lf(data):
    return data.replace(b"\r\n", b"\n")


def server_messages(server, box="INBOX"):
    """{message id: (flags, BODY[])} as the server has them."""
    m = login(server)
    typ, _ = m.select(box, readonly=True)
    assert typ == "OK", box
    typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[])") if int(_[0]) else ("OK", [])
    m.logout()
    out = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())
        flags.discard("\\Recent")
        mid = MSGID_RE.search(item[1]).group(1).decode()
        out[mid] = (flags, item[1])
    return out


def maildir_messages(path):
    """{message id: (maildir flags, content, file)} of a Maildir folder."""
    out = {}
    for sub in ("new", "cur"):
        d = path / sub
        if not d.is_dir():
            continue
        for f in d.iterdir():
            data = f.read_bytes()
            mid = MSGID_RE.search(data).group(1).decode()
            assert mid not in out, f"{mid} twice in {path}"
            info = f.name.rsplit(":2,", 1)[1] if ":2," in f.name else ""
            out[mid] = (info, data, f)
    return out


def same_content(local, remote):
    """A tool may add its own header (mbsync's X-TUID on upload); the
    rest must be the server's message with LF line ends."""
    local = re.sub(rb"^X-TUID: .*\n", b"", local, flags=re.MULTILINE)
    return local == lf(remote)


# ---------------------------------------------------------------- mbsync


class Mbsync:
    def __init__(self, server, workdir, tls):
        wait_listening(server)
        self.server = server
        self.home = workdir / "home"
        self.home.mkdir()
        self.local = workdir / "Mail"
        self.local.mkdir()
        self.rc = workdir / "mbsyncrc"
        if tls == "plain":
            port, ssl = server.imap_port, "SSLType None"
        else:
            port = server.imap_port if tls == "starttls" else server.imaps_port
            ssl = (f"SSLType {'STARTTLS' if tls == 'starttls' else 'IMAPS'}\n"
                   f"CertificateFile {server.cert}")
        # the certificate is for "localhost"; mbsync checks the name
        host = "127.0.0.1" if tls == "plain" else "localhost"
        write_private(self.rc, f"""\
IMAPAccount yubin
Host {host}
Port {port}
User alice
Pass "{ALICE}"
{ssl}
AuthMechs PLAIN LOGIN
Timeout 20

IMAPStore remote
Account yubin

MaildirStore local
Path {self.local}/
Inbox {self.local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
""")

    def sync(self):
        return run(["mbsync", "-c", str(self.rc), "-a"], self.home)

    def box(self, name):
        return maildir_messages(self.local / name)


def mbsync_first_sync(server, workdir, tls):
    """Three messages in INBOX, a \\Seen one in Archive: all arrive, with
    the server's content and flags, and the special-use folders too."""
    need("mbsync")
    for i in range(1, 4):
        assert server.deliver("alice", plain(i)) == {}
    m = login(server)
    assert m.append("Archive", "(\\Seen)", None, plain(10))[0] == "OK"
    m.logout()
    tool = Mbsync(server, workdir, tls)
    tool.sync()
    remote = server_messages(server)
    local = tool.box("INBOX")
    assert sorted(local) == sorted(remote) == [f"m{i}@example.org" for i in (1, 2, 3)]
    for mid, (info, data, _) in local.items():
        assert same_content(data, remote[mid][1]), mid
        assert info == ""
    archive = tool.box("Archive")
    assert list(archive) == ["m10@example.org"] and archive["m10@example.org"][0] == "S"
    for name in ("Drafts", "Sent", "Trash", "Junk"):
        assert (tool.local / name / "cur").is_dir(), name
    return tool


@pytest.mark.parametrize("tls", ["starttls", "imaps"])
def test_mbsync_over_tls(server, workdir, tls):
    """The same first sync over STARTTLS and implicit TLS (certificate
    checked against "localhost"); the two-way scenario below runs in
    clear text only, since mbsync waits a second between runs that
    change a Maildir and TLS changes nothing in it."""
    mbsync_first_sync(server, workdir, tls)
    server.check_log()


def test_mbsync_two_way(server, workdir):
    tool = mbsync_first_sync(server, workdir, "plain")

    # a second run changes nothing
    files = sorted(str(v[2]) for v in tool.box("INBOX").values())
    tool.sync()
    assert sorted(str(v[2]) for v in tool.box("INBOX").values()) == files

    # flag a message locally: \Seen \Flagged on the server
    _, _, f = tool.box("INBOX")["m2@example.org"]
    f.rename(tool.local / "INBOX" / "cur" / (f.name.split(":2,")[0] + ":2,FS"))
    # a new local message is uploaded (APPEND, RFC 9051 6.3.12)
    (tool.local / "INBOX" / "new" / "1.local.msg").write_bytes(lf(plain(20)))
    tool.sync()
    remote = server_messages(server)
    assert remote["m2@example.org"][0] == {"\\Seen", "\\Flagged"}
    assert remote["m1@example.org"][0] == set()
    assert "m20@example.org" in remote
    assert same_content(lf(plain(20)), remote["m20@example.org"][1]) or \
        lf(remote["m20@example.org"][1]).endswith(lf(plain(20)).split(b"\n\n", 1)[1])

    # delete on the server: the local copy goes at the next sync
    m = login(server)
    m.select("INBOX")
    typ, data = m.search(None, 'HEADER Message-ID "<m3@example.org>"')
    assert m.store(data[0].decode(), "+FLAGS", "\\Deleted")[0] == "OK"
    assert m.expunge()[0] == "OK"
    m.logout()
    tool.sync()
    assert sorted(tool.box("INBOX")) == ["m1@example.org", "m20@example.org", "m2@example.org"]

    # delete locally (trashed flag T, then expunged by the sync)
    _, _, f = tool.box("INBOX")["m1@example.org"]
    f.rename(f.parent.parent / "cur" / (f.name.split(":2,")[0] + ":2,T"))
    tool.sync()
    assert sorted(server_messages(server)) == ["m20@example.org", "m2@example.org"]

    # a folder made locally appears on the server (Create Both), and one
    # made on the server appears locally
    proj = tool.local / "Projects"
    for sub in ("cur", "new", "tmp"):
        (proj / sub).mkdir(parents=True)
    (proj / "new" / "2.local.msg").write_bytes(lf(plain(30)))
    m = login(server)
    assert m.create("Reports")[0] == "OK"
    m.logout()
    tool.sync()
    assert list(server_messages(server, "Projects")) == ["m30@example.org"]
    assert (tool.local / "Reports" / "cur").is_dir()
    server.check_log()


def test_mbsync_sees_pop3_deletion_and_new_mail(server, workdir):
    """What another client (POP3) deletes, and what LMTP delivers between
    two syncs, is mirrored."""
    need("mbsync")
    for i in range(1, 4):
        server.deliver("alice", plain(i))
    tool = Mbsync(server, workdir, "plain")
    tool.sync()
    p = server.pop3("alice", ALICE)
    p.dele(1)
    p.quit()
    server.deliver("alice", plain(4))
    tool.sync()
    local = tool.box("INBOX")
    assert sorted(local) == ["m2@example.org", "m3@example.org", "m4@example.org"]
    remote = server_messages(server)
    assert same_content(local["m4@example.org"][1], remote["m4@example.org"][1])


# ---------------------------------------------------------------- offlineimap


class Offlineimap:
    def __init__(self, server, workdir, tls):
        wait_listening(server)
        self.home = workdir / "home"
        self.home.mkdir()
        self.local = workdir / "Mail"
        self.local.mkdir()
        self.conf = workdir / "offlineimaprc"
        if tls == "plain":
            remote = (f"remotehost = 127.0.0.1\nremoteport = {server.imap_port}\n"
                      "ssl = no\nstarttls = no")
        else:
            remote = (f"remotehost = localhost\nremoteport = {server.imaps_port}\n"
                      f"ssl = yes\nsslcacertfile = {server.cert}")
        write_private(self.conf, f"""\
[general]
accounts = test
metadata = {workdir}/meta
ui = quiet

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {self.local}

[Repository remote]
type = IMAP
{remote}
remoteuser = alice
remotepass = {ALICE}
""")

    def sync(self):
        return run(["offlineimap", "-c", str(self.conf), "-o", "-u", "quiet"], self.home)

    def box(self, name):
        return maildir_messages(self.local / name)


def offlineimap_first_sync(server, workdir, tls):
    need("offlineimap")
    for i in range(1, 4):
        server.deliver("alice", plain(i))
    tool = Offlineimap(server, workdir, tls)
    tool.sync()
    remote = server_messages(server)
    local = tool.box("INBOX")
    assert sorted(local) == sorted(remote)
    for mid, (_, data, _) in local.items():
        assert same_content(data, remote[mid][1]), mid
    assert (tool.local / "Sent").is_dir() and (tool.local / "Trash").is_dir()
    return tool


def test_offlineimap_imaps(server, workdir):
    """The first sync over implicit TLS; the changes below in clear text."""
    offlineimap_first_sync(server, workdir, "imaps")
    server.check_log()


def test_offlineimap_sync(server, workdir):
    tool = offlineimap_first_sync(server, workdir, "plain")

    # server-side changes: a delivery, a flag, a deletion
    server.deliver("alice", plain(4))
    m = login(server)
    m.select("INBOX")
    m.store("1", "+FLAGS", "(\\Flagged)")
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()
    tool.sync()
    local = tool.box("INBOX")
    assert sorted(local) == ["m1@example.org", "m3@example.org", "m4@example.org"]
    assert "F" in local["m1@example.org"][0]
    remote = server_messages(server)
    assert same_content(local["m4@example.org"][1], remote["m4@example.org"][1])

    # a local change goes up: mark m3 seen and answered
    _, _, f = local["m3@example.org"]
    f.rename(f.parent.parent / "cur" / (f.name.split(":2,")[0] + ":2,RS"))
    tool.sync()
    assert server_messages(server)["m3@example.org"][0] == {"\\Seen", "\\Answered"}
    server.check_log()


# ---------------------------------------------------------------- mutt


def mutt(server, workdir, keys, box="INBOX"):
    """mutt needs a terminal: script(1) gives it one; the pushed keys do
    the work and quit. (keys must not hold single quotes: shell quoting)"""
    assert "'" not in keys
    wait_listening(server)
    need("mutt")
    need("script")
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    rc = workdir / "muttrc"
    write_private(rc, f"""\
set imap_user = alice
set imap_pass = "{ALICE}"
set folder = imap://127.0.0.1:{server.imap_port}/
set spoolfile = +INBOX
set ssl_starttls = no
set ssl_force_tls = no
set header_cache = ""
set message_cachedir = ""
set confirmappend = no
set confirmcreate = no
set delete = yes
set quit = yes
set move = no
set wait_key = no
set beep = no
set sort = date
set timeout = 5
""")
    cmd = (f"mutt -n -F {rc} -f imap://127.0.0.1:{server.imap_port}/{box} "
           f"-e 'push \"{keys}\"'")
    res = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                         stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT,
                         env=tool_env(home, TERM="vt100", COLUMNS="100", LINES="30"))
    out = res.stdout.decode(errors="replace")
    assert res.returncode == 0, out[-3000:]
    return out


def test_mutt_save_and_delete(server, workdir):
    for i in range(1, 4):
        server.deliver("alice", plain(i))
    # save (move) "message 2" to Archive
    mutt(server, workdir, "<tag-pattern>~i m2@<enter><tag-prefix>"
                          "<save-message>=Archive<enter><sync-mailbox><quit>")
    assert sorted(server_messages(server)) == ["m1@example.org", "m3@example.org"]
    archived = server_messages(server, "Archive")
    assert list(archived) == ["m2@example.org"]
    # delete "message 3" and flag "message 1"
    mutt(server, workdir, "<tag-pattern>~i m3@<enter><tag-prefix><delete-message>"
                          "<tag-pattern>~i m1@<enter><tag-prefix><flag-message>"
                          "<sync-mailbox><quit>")
    remote = server_messages(server)
    assert list(remote) == ["m1@example.org"]
    assert "\\Flagged" in remote["m1@example.org"][0]
    server.check_log()


# ---------------------------------------------------------------- curl


def curl(*args, check=True):
    res = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", f"alice:{ALICE}", *args],
                         capture_output=True, timeout=RUN_TIMEOUT)
    if check:
        assert res.returncode == 0, res.stderr
    return res


def test_curl_imap_and_imaps(server, workdir):
    need("curl")
    wait_listening(server)
    for i in range(1, 4):
        server.deliver("alice", plain(i))
    base = f"imap://127.0.0.1:{server.imap_port}"
    sbase = f"imaps://localhost:{server.imaps_port}"
    cacert = ["--cacert", str(server.cert)]
    stored = server_messages(server)
    # a whole message by UID, over imap and imaps
    out = curl(f"{base}/INBOX;UID=2").stdout
    assert out == stored["m2@example.org"][1]
    out = curl(f"{sbase}/INBOX;UID=3", *cacert).stdout
    assert out == stored["m3@example.org"][1]
    # STARTTLS required (--ssl-reqd)
    out = curl("--ssl-reqd", f"{base}/INBOX;UID=1", *cacert).stdout
    assert out == stored["m1@example.org"][1]
    # a section (RFC 5092 URL: ;SECTION=)
    out = curl(f"{base}/INBOX;UID=1;SECTION=TEXT").stdout
    assert out == b"body of message 1\r\n"
    out = curl(f"{sbase}/INBOX;UID=2;SECTION=HEADER.FIELDS%20(SUBJECT)", *cacert).stdout
    assert out == b"Subject: message 2\r\n\r\n"
    # SEARCH through the URL query
    out = curl(f"{base}/INBOX?SUBJECT%20%22message%203%22").stdout
    assert out == b"* SEARCH 3\r\n"
    out = curl(f"{sbase}/INBOX?ALL", *cacert).stdout
    assert out == b"* SEARCH 1 2 3\r\n"
    # custom commands
    out = curl(f"{base}/", "-X", "EXAMINE INBOX").stdout
    assert b"* 3 EXISTS\r\n" in out and b"[PERMANENTFLAGS ()]" in out
    out = curl(f"{base}/", "-X", "STATUS INBOX (MESSAGES UIDNEXT)").stdout
    assert out == b'* STATUS "INBOX" (MESSAGES 3 UIDNEXT 4)\r\n'
    out = curl(f"{base}/INBOX", "-X", "UID FETCH 1:* (FLAGS)").stdout
    assert out.count(b" FETCH ") == 3
    # the folder list
    out = curl(f"{base}/").stdout
    assert b'"INBOX"' in out and b"\\Sent" in out
    # upload (APPEND)
    msg = plain(40)
    (workdir / "up.eml").write_bytes(msg)
    curl("-T", str(workdir / "up.eml"), f"{base}/Drafts")
    assert server_messages(server, "Drafts")["m40@example.org"][1] == msg
    # wrong password and a missing UID are errors
    res = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "alice:wrong",
                          f"{base}/INBOX;UID=1"], capture_output=True, timeout=RUN_TIMEOUT)
    assert res.returncode == 67, res  # CURLE_LOGIN_DENIED
    res = curl(f"{base}/INBOX;UID=99", check=False)
    assert res.returncode != 0 and res.stdout == b""
    server.check_log()
