"""The POP3 retrieval tools people run against a mail server: fetchmail,
mpop and getmail6, each in its own temporary HOME with its own 0600
configuration file, over plain POP3, STLS (RFC 2595) and POP3S (RFC 8314),
in leave-on-server and delete modes.

Leave-on-server mode relies on UIDL (RFC 1939 7) to fetch only what the
tool has not seen: after a first run, one new message must be fetched and
nothing else, also after another client deleted an older message (so the
message numbers shift and only the unique ids still match), and the server
keeps everything. Delete mode must leave the mailbox empty (DELE then QUIT,
RFC 1939 6).

Every message must arrive byte for byte: what the tool writes is the
server's stored file with CRLF turned into LF (the tools write local line
ends), plus the CRLF that RETR adds to a message without a final newline
(RFC 1939 3). The corpus has dot-stuffed lines, 8-bit text, a message
without a final newline (from `yubin deliver`) and a 5 MB message.
"""
import os
import pwd
import re
import shutil
import subprocess
import sys

import pytest

from conftest import IS_ROOT, USERS, make_tempdir

USER = "alice"
PASSWORD = USERS[USER]
RUN_TIMEOUT = 120
MSGID_RE = re.compile(rb"^Message-ID: <([^>]+)>", re.MULTILINE | re.IGNORECASE)


# ---------------------------------------------------------------- messages


def header(tag, subject, crlf=True):
    eol = "\r\n" if crlf else "\n"
    lines = ["From: Sender <sender@example.net>", "To: alice@example.org",
             f"Subject: {subject}", f"Message-ID: <{tag}@yubin.test>",
             "Date: Sun, 01 Mar 2026 10:00:00 +0000"]
    return (eol.join(lines) + eol + eol).encode()


def big_body(size=5 * 1024 * 1024):
    """~5 MB of 80-octet lines; every 7th starts with a dot, so RETR has
    thousands of lines to dot-stuff (RFC 1939 3)."""
    lines = []
    total = n = 0
    while total < size:
        lead = "." if n % 7 == 0 else ""
        line = f"{lead}{n:07d} " + "abcdefghijklmnopqrstuvwxyz" * 2 + "0123456789" * 2
        line = line[:78] + "\r\n"
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines).encode()


class Corpus:
    """Messages delivered to alice; what each looks like on the wire."""

    def __init__(self, server, prefix):
        self.server = server
        self.prefix = prefix
        self.sent = {}  # message id -> bytes as handed to the server
        self.count = 0

    def _tag(self):
        self.count += 1
        return f"{self.prefix}-{self.count}"

    def lmtp(self, subject, body):
        tag = self._tag()
        msg = header(tag, subject) + body
        assert self.server.deliver(USER, msg) == {}
        self.sent[tag] = msg
        return tag

    def lda(self, subject, body):
        """Through `yubin deliver`, LF line ends as an MTA pipes them."""
        tag = self._tag()
        msg = header(tag, subject, crlf=False) + body
        res = self.server.deliver_cmd(USER, msg, sender="sender@example.net")
        assert res.returncode == 0, res.stderr
        self.sent[tag] = msg
        return tag

    def deliver_standard(self, big=True):
        self.lmtp("plain", b"Hello from LMTP.\r\n")
        self.lmtp("dots", b".leading dot\r\n..two dots\r\n.\r\n. dot space\r\n"
                          b"middle . dot\r\n..\r\n.\r\n")
        self.lda("eight bit", "Gr\u00fc\u00dfe, \u65e5\u672c\u8a9e, "
                 "caf\u00e9\n".encode() + b"latin-1: \xe9\xe8\xff\x80\x9f\n.\n")
        self.lda("no final newline", b"first line\n.dotted last line without newline")
        if big:
            self.lmtp("big", big_body())

    def stored(self):
        """message id -> the server's file for it."""
        out = {}
        md = self.server.maildir(USER)
        for sub in ("new", "cur"):
            for p in (md / sub).iterdir():
                data = p.read_bytes()
                m = MSGID_RE.search(data)
                if m:
                    out[m.group(1).decode().split("@")[0]] = data
        return out

    def expected(self, tags=None):
        """message id -> the bytes a tool writes: the stored file with local
        line ends, terminated by the CRLF that RETR adds (RFC 1939 3)."""
        stored = self.stored()
        out = {}
        for tag in (tags if tags is not None else self.sent):
            data = stored[tag]
            # the stored file is the sent message behind the trace headers
            assert lf(data).endswith(lf(self.sent[tag])), tag
            data = lf(data)
            out[tag] = data if data.endswith(b"\n") else data + b"\n"
        return out


def lf(data):
    return data.replace(b"\r\n", b"\n")


def by_msgid(files):
    """{message id: content} of the messages a tool wrote; no duplicates."""
    out = {}
    for path in files:
        data = path.read_bytes()
        m = MSGID_RE.search(data)
        assert m, f"{path}: no Message-ID in {data[:300]!r}"
        tag = m.group(1).decode().split("@")[0]
        assert tag not in out, f"message {tag} written twice"
        out[tag] = data
    return out


def assert_same(got, want):
    assert sorted(got) == sorted(want)
    for tag in want:
        if got[tag] != want[tag]:
            # show where they part, not 5 MB of text
            g, w = got[tag], want[tag]
            i = next((k for k in range(min(len(g), len(w))) if g[k] != w[k]),
                     min(len(g), len(w)))
            raise AssertionError(
                f"message {tag} differs at octet {i} (got {len(g)}, want {len(w)} "
                f"octets): got {g[max(0, i - 80):i + 80]!r} want {w[max(0, i - 80):i + 80]!r}")


def server_state(server):
    """(STAT count, STAT size, file names in new/ and cur/)."""
    p = server.pop3(USER, PASSWORD)
    try:
        count, size = p.stat()
    finally:
        p.quit()
    md = server.maildir(USER)
    names = sorted(p.name for sub in ("new", "cur") for p in (md / sub).iterdir())
    return count, size, names


def logins(server, start=0):
    """tls=yes/no of each POP3 login logged after offset start."""
    return re.findall(r"event=login service=pop3 user=alice \S+ mech=\S+ tls=(\S+)",
                      server.log_text()[start:])


# ---------------------------------------------------------------- the tools


def write_private(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)


def tool_env(home):
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "TZ", "LD_LIBRARY_PATH")}
    env.update(HOME=str(home), LANG="C", LC_ALL="C")
    return env


class Tool:
    """One client installation: a HOME, a config file, a destination."""
    name = ""
    no_mail_rc = 0  # exit status when there is nothing to fetch

    def __init__(self, server, tmp, tls, keep):
        self.server = server
        self.tls = tls
        self.keep = keep
        self.dir = tmp / self.name
        self.home = self.dir / "home"
        self.home.mkdir(parents=True)
        self.setup()

    @property
    def port(self):
        return self.server.pop3s_port if self.tls == "pop3s" else self.server.pop3_port

    @property
    def cafile(self):
        return str(self.server.cert)

    def run(self, expect_rc=0):
        """Run once; it must log in (over TLS when asked) and exit with
        expect_rc."""
        log_start = len(self.server.log_text())
        res = subprocess.run(self.command(), env=tool_env(self.home), cwd=self.dir,
                             capture_output=True, timeout=RUN_TIMEOUT)
        out = (res.stdout + res.stderr).decode(errors="replace")
        assert res.returncode == expect_rc, f"{self.name} exit {res.returncode}:\n{out[-4000:]}"
        seen = logins(self.server, log_start)
        assert seen == ["no" if self.tls == "plain" else "yes"], (seen, out[-4000:])
        return out


def maildir_at(path, owner=None):
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True)
    if owner is not None:
        for p in (path, path / "new", path / "cur", path / "tmp"):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    return path


def maildir_files(path):
    return [p for sub in ("new", "cur") for p in sorted((path / sub).iterdir())]


MDA_SCRIPT = """\
import os, sys
data = sys.stdin.buffer.read()
n = 0
while True:
    try:
        fd = os.open(os.path.join(sys.argv[1], "%06d.msg" % n),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        break
    except FileExistsError:
        n += 1
view = memoryview(data)
while view:
    view = view[os.write(fd, view):]
os.fsync(fd)
os.close(fd)
"""


class Fetchmail(Tool):
    """fetchmail hands each message to an MDA: a tiny script that stores
    stdin as one file, so what fetchmail passes on is compared exactly.
    `set invisible` drops fetchmail's own Received line; `no rewrite`
    keeps it from editing addresses."""
    name = "fetchmail"
    no_mail_rc = 1  # PS_NOMAIL

    def setup(self):
        self.out = self.dir / "out"
        self.out.mkdir()
        mda = self.dir / "mda.py"
        mda.write_text(MDA_SCRIPT)
        self.rc = self.dir / "fetchmailrc"
        # fetchmail checks the certificate name against the poll name, not
        # against IP addresses, so TLS polls "localhost" (the cert's name).
        host = "127.0.0.1"
        if self.tls == "plain":
            # otherwise fetchmail upgrades with STLS on its own
            ssl = "sslproto ''"
        else:
            host = "localhost"
            ssl = f"sslproto 'tls1.2+' sslcertck sslcertfile '{self.cafile}'"
            if self.tls == "pop3s":
                ssl = "ssl " + ssl
        local = pwd.getpwuid(os.getuid()).pw_name
        write_private(self.rc, f"""\
set no bouncemail
set invisible
poll {host} service {self.port} protocol pop3 uidl timeout 60
  user "{USER}" there with password "{PASSWORD}" is {local} here
  {'keep' if self.keep else 'nokeep'} no rewrite {ssl}
  mda "{sys.executable} {mda} {self.out}"
""")

    def command(self):
        return ["fetchmail", "-f", str(self.rc), "--nodetach", "--nosyslog",
                "--idfile", str(self.dir / "fetchids"),
                "--pidfile", str(self.dir / "fetchmail.pid"), "-v"]

    def run(self, expect_rc=0):
        out = super().run(expect_rc)
        assert "not the expected length" not in out, out
        return out

    def files(self):
        return sorted(self.out.iterdir())


class Mpop(Tool):
    name = "mpop"

    def setup(self):
        self.maildir = maildir_at(self.dir / "Maildir")
        self.rc = self.dir / "mpoprc"
        tls = "tls off"
        if self.tls != "plain":
            starttls = "on" if self.tls == "stls" else "off"
            tls = f"tls on\ntls_starttls {starttls}\ntls_trust_file {self.cafile}"
        write_private(self.rc, f"""\
defaults
timeout 60
account test
host 127.0.0.1
port {self.port}
{tls}
auth user
user {USER}
password {PASSWORD}
keep {'on' if self.keep else 'off'}
only_new on
uidls_file {self.dir / 'uidls'}
received_header off
delivery maildir {self.maildir}
""")

    def command(self):
        return ["mpop", "-C", str(self.rc), "test"]

    def files(self):
        return maildir_files(self.maildir)


class Getmail(Tool):
    """getmail refuses to write a Maildir as root; as root it writes as
    `nobody`, which is what its documentation tells root to do."""
    name = "getmail"

    def setup(self):
        owner = pwd.getpwnam("nobody") if IS_ROOT else None
        self.maildir = maildir_at(self.dir / "Maildir", owner)
        self.gdir = self.dir / "getmail"
        self.gdir.mkdir()
        if self.tls == "pop3s":
            retriever = (f"type = SimplePOP3SSLRetriever\nca_certs = {self.cafile}\n"
                         "ssl_cert_hostname = localhost")
        else:
            assert self.tls == "plain", "getmail has no STLS for POP3"
            retriever = "type = SimplePOP3Retriever"
        user = "user = nobody\n" if owner else ""
        write_private(self.gdir / "getmailrc", f"""\
[retriever]
{retriever}
server = 127.0.0.1
port = {self.port}
username = {USER}
password = {PASSWORD}
timeout = 60

[destination]
type = Maildir
path = {self.maildir}/
{user}
[options]
verbose = 1
delete = {'false' if self.keep else 'true'}
read_all = false
received = false
delivered_to = false
""")

    def command(self):
        return ["getmail", "-g", str(self.gdir), "-r", "getmailrc"]

    def files(self):
        return maildir_files(self.maildir)


TOOLS = {"fetchmail": Fetchmail, "mpop": Mpop, "getmail": Getmail}
VARIANTS = [(tool, tls) for tool in TOOLS for tls in ("plain", "stls", "pop3s")
            if not (tool == "getmail" and tls == "stls")]


def variant_id(v):
    return f"{v[0]}-{v[1]}"


# ---------------------------------------------------------------- tests


@pytest.fixture
def workdir():
    """pytest's workdir is 0700 under root's, which `nobody` (getmail's
    delivery user as root) cannot traverse."""
    d = make_tempdir("yubin-clients-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_leave_on_server_fetches_only_new(server, workdir, variant):
    tool_name, tls = variant
    corpus = Corpus(server, "k")
    corpus.deliver_standard()
    before = server_state(server)
    assert before[0] == 5

    tool = TOOLS[tool_name](server, workdir, tls, keep=True)
    tool.run()
    first = by_msgid(tool.files())
    assert_same(first, corpus.expected())
    assert server_state(server) == before, "leave-on-server deleted mail"

    # one more message: only it is fetched (UIDL, RFC 1939 7)
    new = corpus.lmtp("second run", b"only this one is new\r\n.\r\n")
    tool.run()
    files = tool.files()
    assert len(files) == 6
    assert_same(by_msgid(files), corpus.expected())
    state = server_state(server)
    assert state[0] == 6 and set(before[2]) < set(state[2])

    # another client deletes the first message: numbers shift, UIDLs stay
    p = server.pop3(USER, PASSWORD)
    p.dele(1)
    p.quit()
    newest = corpus.lda("third run", b"renumbered\n")
    tool.run()
    got = by_msgid(tool.files())
    assert len(got) == 7 and new in got and newest in got
    assert_same({newest: got[newest]}, corpus.expected([newest]))
    assert server_state(server)[0] == 6

    # nothing new: nothing fetched
    tool.run(expect_rc=tool.no_mail_rc)
    assert len(tool.files()) == 7


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_delete_mode_empties_mailbox(server, workdir, variant):
    tool_name, tls = variant
    corpus = Corpus(server, "d")
    corpus.deliver_standard()
    want = corpus.expected()

    tool = TOOLS[tool_name](server, workdir, tls, keep=False)
    tool.run()
    assert_same(by_msgid(tool.files()), want)
    assert server_state(server) == (0, 0, [])

    # the next delivery is fetched once and deleted too
    tag = corpus.lmtp("after delete", b"next\r\n")
    want_new = corpus.expected([tag])
    tool.run()
    got = by_msgid(tool.files())
    assert len(got) == 6
    assert_same({tag: got[tag]}, want_new)
    assert server_state(server) == (0, 0, [])
    tool.run(expect_rc=tool.no_mail_rc)
    assert len(tool.files()) == 6


@pytest.mark.parametrize("tool_name", sorted(TOOLS))
def test_wrong_password_fetches_nothing(make_server, workdir, tool_name):
    """A failed login is an error the tool reports, and costs no mail."""
    srv = make_server(users={USER: "another password"})
    corpus = Corpus(srv, "w")
    corpus.lmtp("kept", b"stays\r\n")
    tool = TOOLS[tool_name](srv, workdir, "plain", keep=False)
    res = subprocess.run(tool.command(), env=tool_env(tool.home), cwd=tool.dir,
                         capture_output=True, timeout=RUN_TIMEOUT)
    assert res.returncode != 0
    assert tool.files() == []
    assert server_state_as(srv, "another password")[0] == 1


def server_state_as(server, password):
    p = server.pop3(USER, password)
    try:
        return p.stat()
    finally:
        p.quit()


@pytest.mark.parametrize("tool_name", ["fetchmail", "mpop"])
def test_stls_refused_certificate(server, workdir, tool_name):
    """With a trust file that does not hold the server's certificate, the
    tool must refuse to log in: no password over an unverified channel."""
    other = workdir / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", str(workdir / "k.pem"),
                    "-out", str(other)], check=True, capture_output=True)
    Corpus(server, "c").lmtp("kept", b"stays\r\n")
    cls = TOOLS[tool_name]
    cls_other = type(cls.__name__, (cls,), {"cafile": str(other)})
    tool = cls_other(server, workdir, "stls", keep=False)
    res = subprocess.run(tool.command(), env=tool_env(tool.home), cwd=tool.dir,
                         capture_output=True, timeout=RUN_TIMEOUT)
    assert res.returncode != 0
    assert logins(server) == []
    assert tool.files() == []
    assert server_state(server)[0] == 1


@pytest.mark.parametrize("auth", ["plain", "login", "scram-sha-256"])
def test_mpop_sasl_mechanisms(server, workdir, auth):
    """mpop's SASL (RFC 5034) through GNU SASL's client side, over STLS."""
    corpus = Corpus(server, "s")
    corpus.lmtp("sasl", b"authenticated\r\n")
    want = corpus.expected()
    tool = Mpop(server, workdir, "stls", keep=False)
    write_private(tool.rc, tool.rc.read_text().replace("auth user", f"auth {auth}"))
    log_start = len(server.log_text())
    tool.run()
    assert re.findall(r"event=login service=pop3 user=alice \S+ mech=(\S+) tls=yes",
                      server.log_text()[log_start:]) == [auth.upper()]
    assert_same(by_msgid(tool.files()), want)


@pytest.mark.parametrize("tool_name", sorted(TOOLS))
def test_mailbox_in_use(server, workdir, tool_name):
    """While another session holds the maildrop (RFC 1939 8: exclusive
    access), the tool gets -ERR [IN-USE] (RFC 2449 8.1.1), fetches nothing
    and deletes nothing; once the other session quits it gets everything."""
    corpus = Corpus(server, "u")
    corpus.deliver_standard(big=False)
    want = corpus.expected()
    tool = TOOLS[tool_name](server, workdir, "plain", keep=False)
    holder = server.pop3(USER, PASSWORD)
    try:
        res = subprocess.run(tool.command(), env=tool_env(tool.home), cwd=tool.dir,
                             capture_output=True, timeout=RUN_TIMEOUT)
        assert res.returncode != 0, res
        assert tool.files() == []
        assert holder.stat()[0] == 4
    finally:
        holder.quit()
    assert server_state(server)[0] == 4
    tool.run()
    assert_same(by_msgid(tool.files()), want)
    assert server_state(server) == (0, 0, [])
