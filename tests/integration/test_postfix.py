"""A real Postfix in front of yubin, set up as docs/MTA.md says.

Each test runs a private Postfix instance: its own config_directory,
queue_directory and data_directory in a temporary directory, loopback
only, smtpd on a free port, its log in a file (maillog_file). Nothing of
the machine's own Postfix (if any) is read or touched. Mail goes in through
Postfix's SMTP port and comes out of yubin through POP3.

The master runs in the foreground (`postfix start-fg`) under a small
subreaper, so that every Postfix process is reaped when `postfix stop`
ends the instance, also where PID 1 does not reap orphans (containers).

Needs root (Postfix's master and local(8) switch users) and the postfix
package; skipped otherwise.
"""
import os
import pwd
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import time
import uuid

import pytest

from conftest import IS_ROOT, SANITIZER_MARKERS, USERS, YUBIN, free_port, make_tempdir

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
HAVE_POSTFIX = os.path.exists(POSTFIX) and os.path.exists("/usr/lib/postfix/sbin/master")

pytestmark = [
    pytest.mark.skipif(not IS_ROOT, reason="a Postfix instance needs root"),
    pytest.mark.skipif(not HAVE_POSTFIX, reason="postfix is not installed"),
]

SANITIZER_ENV = [k for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")
                 if k in os.environ]
MYHOSTNAME = "postfix.test"
SENDER = "sender@example.net"
DEADLINE = 30  # seconds for a start, a stop or a delivery

MASTER_CF = """\
{smtp}    inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# Runs `postfix start-fg` as a child and reaps every descendant (it is a
# child subreaper, prctl PR_SET_CHILD_SUBREAPER); exits when all are gone.
REAPER = """\
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
rc = 0
while True:
    try:
        p, status = os.wait()
    except ChildProcessError:
        break
    if p == pid:
        rc = os.waitstatus_to_exitcode(status)
sys.exit(rc)
"""


class Postfix:
    """A private Postfix instance in its own directory."""

    def __init__(self, main=None, master_extra=""):
        self.dir = make_tempdir("yubin-postfix-")
        self.etc = self.dir / "etc"
        self.queue = self.dir / "spool"
        self.data = self.dir / "data"
        self.bin = self.dir / "bin"
        for d in (self.etc, self.queue, self.data, self.bin):
            d.mkdir()
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        # local(8) and pipe(8) run the LDA as another user, who may not be
        # able to reach the build tree (e.g. under /root): give them a copy.
        self.yubin = self.bin / "yubin"
        shutil.copy(YUBIN, self.yubin)
        os.chmod(self.yubin, 0o755)
        self.smtp_port = free_port()
        self.maillog = self.dir / "maillog"
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "myhostname": MYHOSTNAME,
            "mydomain": "test",
            "myorigin": "$myhostname",
            "mydestination": "$myhostname, localhost",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.dir),
            # the sanitizer build's settings reach `yubin deliver` too
            "import_environment": " ".join(
                ["MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C",
                 "POSTLOG_SERVICE POSTLOG_HOSTNAME", *SANITIZER_ENV]),
            "export_environment": " ".join(["TZ MAIL_CONFIG LANG", *SANITIZER_ENV]),
            # tests must not wait for Postfix's retry timers
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
        }
        settings.update(main or {})
        main_cf = "".join(f"{k} = {v}\n" for k, v in settings.items())
        master_cf = MASTER_CF.format(smtp=f"127.0.0.1:{self.smtp_port}") + master_extra
        # @YUBIN@ in the caller's settings: this instance's copy of yubin
        (self.etc / "main.cf").write_text(main_cf.replace("@YUBIN@", str(self.yubin)))
        (self.etc / "master.cf").write_text(master_cf.replace("@YUBIN@", str(self.yubin)))
        self.proc = None

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", str(self.etc), *args],
                              capture_output=True, timeout=DEADLINE)

    def start(self):
        reaper = self.dir / "reaper.py"
        reaper.write_text(REAPER)
        self.out = open(self.dir / "master.out", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(reaper), POSTFIX, "-c", str(self.etc), "start-fg"],
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + DEADLINE
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"postfix exited: {self.log()}")
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5) as s:
                    s.noop()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"postfix did not start: {self.log()}")

    def stop(self):
        if self.proc is None:
            return
        try:
            self.postfix("stop")
            self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            try:  # the master may have left the reaper's process group
                pid = (self.queue / "pid" / "master.pid").read_text().split()[0]
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError, IndexError):
                pass
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"postfix did not stop: {self.log()}")
        finally:
            self.proc = None
            self.out.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        text = ""
        for name in ("maillog", "master.out"):
            try:
                text += (self.dir / name).read_text(errors="replace")
            except OSError:
                pass
        return text[-6000:]

    def send(self, rcpts, message, sender=SENDER):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            refused = s.sendmail(sender, rcpts, message)
        assert refused == {}

    def wait_status(self, rcpt):
        """(status, detail, relay) that Postfix logs for rcpt; status is
        sent, bounced or deferred."""
        # address verification probes log status=deliverable: not final
        pattern = re.compile(rf"to=<{re.escape(rcpt)}>.* relay=([^,]*),"
                             r".*status=(sent|bounced|deferred) (.*)")
        deadline = time.time() + DEADLINE
        while time.time() < deadline:
            try:
                text = self.maillog.read_text(errors="replace")
            except OSError:
                text = ""
            m = pattern.search(text)
            if m:
                return m.group(2), m.group(3), m.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no delivery status for {rcpt}: {self.log()}")


@pytest.fixture
def postfix():
    """Factory: postfix(main={...}, master_extra="") -> started instance."""
    instances = []

    def factory(main=None, master_extra=""):
        pf = Postfix(main, master_extra)
        instances.append(pf)
        return pf.start()

    yield factory
    for pf in instances:
        try:
            pf.stop()
            # `yubin deliver` runs under Postfix: its stderr is in the log
            log = pf.log()
            for marker in SANITIZER_MARKERS:
                assert marker not in log, log
            # e.g. an LMTP protocol error on yubin's side
            assert not re.search(r"\b(warning|error|fatal|panic):", log), log
        finally:
            pf.cleanup()


@pytest.fixture
def unix_user():
    """A throwaway local Unix account, removed afterwards."""
    name = "ybt" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                    "-c", "yubin test", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        assert subprocess.run(["id", name], capture_output=True).returncode != 0


def message(subject):
    return (f"From: Sender <{SENDER}>\r\nTo: someone@example.org\r\n"
            f"Subject: {subject}\r\nDate: Sun, 01 Mar 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n\r\n"
            ".leading dot\r\n..two\r\n8-bit: gr\u00fc\u00dfe\r\nlast line\r\n").encode()


def fetch_all(server, user, password):
    p = server.pop3(user, password)
    try:
        count, _ = p.stat()
        return [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(count)]
    finally:
        p.quit()


def header_block(msg):
    return msg.split(b"\r\n\r\n", 1)[0]


def header_lines(msg, name):
    return [line for line in header_block(msg).split(b"\r\n")
            if line.lower().startswith(name.lower() + b":")]


def trace_problems(msg, sent, return_path, delivered_to):
    """What is wrong with a delivered message, as a list of sentences."""
    problems = []
    head = header_block(msg)
    for line in head.split(b"\r\n"):
        if line and not line[:1].isspace() and not re.match(rb"^[!-9;-~]+:", line):
            problems.append(f"header block has a line that is no header field: {line!r}")
    rp = header_lines(msg, b"Return-Path")
    if rp != [b"Return-Path: <" + return_path.encode() + b">"]:
        problems.append(f"Return-Path must appear once as <{return_path}>: {rp}")
    dt = header_lines(msg, b"Delivered-To")
    if len(dt) != 1 or delivered_to.encode() not in dt[0]:
        problems.append(f"Delivered-To must appear once, for {delivered_to}: {dt}")
    sent_head, sent_body = sent.split(b"\r\n\r\n", 1)
    if msg.split(b"\r\n\r\n", 1)[1] != sent_body:
        problems.append("the body is not the body as sent")
    missing = set(sent_head.split(b"\r\n")) - set(head.split(b"\r\n"))
    if missing:
        problems.append(f"header fields lost: {missing}")
    return problems


def test_mailbox_transport_lmtp_tcp(unix_user, make_server, postfix):
    """docs/MTA.md, LMTP (recommended): mailbox_transport = lmtp:inet:..."""
    pw = "pw-" + unix_user
    server = make_server(users={unix_user: pw})
    pf = postfix({"mailbox_transport": f"lmtp:inet:127.0.0.1:{server.lmtp_port}"})
    rcpt = f"{unix_user}@{MYHOSTNAME}"
    sent = message("lmtp tcp")
    pf.send([rcpt], sent)
    status, detail, relay = pf.wait_status(rcpt)
    assert status == "sent", detail
    assert relay == f"127.0.0.1[127.0.0.1]:{server.lmtp_port}"
    msgs = fetch_all(server, unix_user, pw)
    assert len(msgs) == 1
    assert trace_problems(msgs[0], sent, SENDER, rcpt) == []


def test_mailbox_transport_lmtp_unix_socket(unix_user, make_server, postfix):
    """docs/MTA.md: the socket inside Postfix's queue directory, reached by
    the lmtp client as lmtp:unix:private/yubin-lmtp."""
    pf = postfix({"mailbox_transport": "lmtp:unix:private/yubin-lmtp"})
    sock = pf.queue / "private" / "yubin-lmtp"
    pw = "pw-" + unix_user
    port = free_port()
    server = make_server(users={unix_user: pw}, overrides={
        # conftest waits for the TCP port; Postfix uses the socket
        "listen.lmtp": f"127.0.0.1:{port}, {sock}"}, start=False)
    server.lmtp_port = port
    server.start()
    assert sock.is_socket()
    rcpt = f"{unix_user}@{MYHOSTNAME}"
    sent = message("lmtp unix")
    pf.send([rcpt], sent)
    status, detail, relay = pf.wait_status(rcpt)
    assert status == "sent", detail
    assert relay == f"{MYHOSTNAME}[private/yubin-lmtp]"
    msgs = fetch_all(server, unix_user, pw)
    assert len(msgs) == 1
    assert trace_problems(msgs[0], sent, SENDER, rcpt) == []


def test_mailbox_command(unix_user, make_server, postfix):
    """docs/MTA.md, mailbox_command: local(8) runs `yubin deliver` as the
    recipient, which hands the message to the server over LMTP. local(8)
    writes an mbox "From " line and its own Return-Path, X-Original-To and
    Delivered-To before the message (local(8), EXTERNAL COMMAND DELIVERY);
    what lands in the mailbox must still be one clean header block with one
    Return-Path and one Delivered-To."""
    pw = "pw-" + unix_user
    server = make_server(users={unix_user: pw})
    pf = postfix({"mailbox_command":
                  f'@YUBIN@ deliver -c {server.conf} -f "$SENDER" -u "$USER"'})
    rcpt = f"{unix_user}@{MYHOSTNAME}"
    sent = message("mailbox_command")
    pf.send([rcpt], sent)
    status, detail, _ = pf.wait_status(rcpt)
    assert status == "sent", detail
    msgs = fetch_all(server, unix_user, pw)
    assert len(msgs) == 1
    # either Delivered-To (Postfix's for the address, yubin's for the user)
    problems = trace_problems(msgs[0], sent, SENDER, unix_user)
    assert problems == [], msgs[0].decode(errors="replace")


def test_virtual_domain_lmtp(make_server, postfix):
    """docs/MTA.md, virtual mailbox domains: yubin decides who exists and
    Postfix bounces the unknown recipient on yubin's 550 5.1.1."""
    server = make_server()
    pf = postfix({
        "virtual_mailbox_domains": "example.org, example.net",
        "virtual_transport": f"lmtp:inet:127.0.0.1:{server.lmtp_port}",
        "virtual_mailbox_maps": "static:ok",
    })
    sent = message("virtual")
    rcpts = ["alice@example.org", "carol@example.org", "nobody@example.org"]
    # the null sender: the bounce for nobody@ is not sent anywhere
    pf.send(rcpts, sent, sender="")
    assert pf.wait_status("alice@example.org")[0] == "sent"
    assert pf.wait_status("carol@example.org")[0] == "sent"
    status, detail, _ = pf.wait_status("nobody@example.org")
    assert status == "bounced" and "550 5.1.1" in detail, detail
    for user, rcpt in (("alice", "alice@example.org"), ("carol@example.org", rcpts[1])):
        msgs = fetch_all(server, user, USERS[user])
        assert len(msgs) == 1
        assert trace_problems(msgs[0], sent, "", rcpt) == []


def test_pipe_transport(make_server, postfix):
    """docs/MTA.md, a pipe transport run as the mail user: `yubin deliver`
    writes the store itself; no D or R flags, it adds both headers."""
    server = make_server()
    master_extra = (
        "yubin     unix  -       n       n       -       -       pipe\n"
        f"  flags=hu user=mail:mail argv=@YUBIN@ deliver -c {server.conf}"
        " -f ${sender} -u ${user}@${nexthop}\n")
    pf = postfix({"virtual_mailbox_domains": "example.org",
                  "virtual_transport": "yubin",
                  "virtual_mailbox_maps": "static:ok",
                  # ${user} is per recipient: one recipient per pipe run
                  "yubin_destination_recipient_limit": "1"}, master_extra)
    sent = message("pipe")
    pf.send(["alice@example.org"], sent)
    status, detail, _ = pf.wait_status("alice@example.org")
    assert status == "sent", detail
    msgs = fetch_all(server, "alice", USERS["alice"])
    assert len(msgs) == 1
    assert trace_problems(msgs[0], sent, SENDER, "alice@example.org") == []


def test_virtual_domain_address_verification(make_server, postfix):
    """With `static:ok` Postfix accepts every address and bounces later,
    which sends backscatter to forged senders. Postfix's address
    verification asks yubin at RCPT time instead (a probe: MAIL, RCPT, no
    DATA), so the SMTP client gets yubin's 550 5.1.1 directly."""
    server = make_server()
    pf = postfix({
        "virtual_mailbox_domains": "example.org",
        "virtual_transport": f"lmtp:inet:127.0.0.1:{server.lmtp_port}",
        "virtual_mailbox_maps": "static:ok",
        "smtpd_recipient_restrictions":
            "reject_unverified_recipient, permit_mynetworks, reject_unauth_destination",
        "unverified_recipient_reject_code": "550",
        "address_verify_poll_delay": "1s",
    })
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=DEADLINE) as s:
        s.ehlo()
        assert s.mail(SENDER)[0] == 250
        code, text = s.rcpt("nobody@example.org")
        assert code == 550 and b"5.1.1" in text, text
        assert s.rcpt("alice@example.org")[0] == 250
        assert s.data(message("verified"))[0] == 250
    assert pf.wait_status("alice@example.org")[0] == "sent"
    assert len(fetch_all(server, "alice", USERS["alice"])) == 1
    # the probes are not deliveries
    assert "service=lmtp user=alice" in server.log_text()
    assert server.log_text().count("event=deliver ") == 1
