"""The `yubin` command line: check, configuration errors, overrides, serve,
user management, pw, signals, and scripts/dev-setup.sh.
"""
import base64
import hashlib
import hmac
import os
import poplib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (IS_ROOT, ROOT, SANITIZER_MARKERS, USERS, YUBIN, Server, free_port,
                      make_tempdir)


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


DOC = ROOT / "docs" / "CONFIG.md"


def run(*args, input=None, env=None, timeout=60):
    res = subprocess.run([YUBIN, *args], input=input, capture_output=True, timeout=timeout,
                         env=env)
    for marker in SANITIZER_MARKERS:
        assert marker.encode() not in res.stderr, res.stderr.decode(errors="replace")
    return res


def check_output_keys(stdout):
    """{key: value} from `yubin check` output."""
    out = {}
    for line in stdout.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, sep, value = line.partition(" = ")
        assert sep, f"unexpected line in check output: {line!r}"
        out[key] = value
    return out


def documented_keys():
    keys = set()
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| `([a-z0-9_.]+)` \|", line)
        if m:
            keys.add(m.group(1))
    return keys


def wait_for(pred, timeout=10, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


# ---- yubin check --------------------------------------------------------------------

def test_check_prints_every_key(make_server):
    srv = make_server(start=False)
    res = srv.cli("check")
    assert b"configuration ok" in res.stderr
    assert res.stdout.decode().splitlines()[0] == f"# {srv.conf}"
    keys = check_output_keys(res.stdout)
    assert keys["data_dir"] == str(srv.data_dir)
    assert keys["listen.pop3"] == f"127.0.0.1:{srv.pop3_port}"
    assert keys["hostname"] == "test.example"
    assert keys["auth.fail_delay"] in ("0", "0s")
    assert keys["pop3.delete"] == "yes"
    assert keys["pop3.expire_days"] == "never"
    assert keys["limits.max_message_size"] in ("67108864", "64M")
    # every documented key is printed, and nothing undocumented
    doc = documented_keys()
    assert len(doc) > 20
    assert set(keys) - doc == set(), "printed by `yubin check` but not in docs/CONFIG.md"
    assert doc - set(keys) == set(), "in docs/CONFIG.md but not printed by `yubin check`"


def test_check_defaults_match_docs():
    """The default column of docs/CONFIG.md says what `yubin check` without
    a file prints (sizes and durations in either notation)."""
    res = run("check")
    assert res.returncode == 0, res.stderr
    keys = check_output_keys(res.stdout)
    mult = {"k": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "s": 1, "m": 60, "h": 3600,
            "d": 86400}

    def norm(v):
        v = v.strip()
        m = re.fullmatch(r"(\d+)([kMGsmhd]?)", v)
        if m:
            return int(m.group(1)) * mult.get(m.group(2), 1)
        return v

    for line in DOC.read_text().splitlines():
        m = re.match(r"^\| `([a-z0-9_.]+)` \| (`([^`]*)`|\*\(empty\)\*|([^|]*)) \|", line)
        if not m:
            continue
        key = m.group(1)
        if m.group(3) is not None:
            want = m.group(3)
        elif "empty" in m.group(2):
            want = ""
        else:
            continue  # prose ("the system host name")
        assert norm(keys[key]) == norm(want), (key, keys[key], want)


def write_conf(tmp, text):
    conf = tmp / "bad.conf"
    conf.write_text(text)
    return conf


@pytest.fixture
def tmpdir_conf():
    d = make_tempdir("yubin-cli-")
    yield d
    subprocess.run(["rm", "-rf", str(d)])


@pytest.mark.parametrize("text,line,what", [
    ("data_dir = /tmp/x\n# fine\n\nbogus_key = 1\n", 4, "unknown key"),
    ("[pop3]\ndelete = yes\nexpire_days = soon\n", 3, "pop3.expire_days"),
    ("[pop3]\nlogin_delay = 5 minutes\n", 2, "pop3.login_delay"),
    ("workers = -1\n", 1, "workers"),
    ("[limits]\nmax_message_size = 12Q\n", 2, "limits.max_message_size"),
    ("[listen]\npop3 = localhost\n", 2, "listen.pop3"),
    ("data_dir = relative/path\n", 1, "data_dir"),
    ("[pop3\ndelete = yes\n", 1, "section"),
    ("data_dir = /tmp/x\n[]\n", 2, "section"),
    ("[pop3] trailing\n", 1, "section"),
    ("just some words\n", 1, "key = value"),
    ("[nosuchsection]\nkey = 1\n", 2, "unknown key"),
    ("[pop3]\ndelete = maybe\n", 2, "pop3.delete"),
    ("[mail]\nfsync = perhaps\n", 2, "mail.fsync"),
])
def test_check_config_errors(tmpdir_conf, text, line, what):
    conf = write_conf(tmpdir_conf, text)
    res = run("check", "-c", str(conf))
    assert res.returncode != 0
    err = res.stderr.decode()
    assert f"{conf}:{line}: " in err, err
    assert what in err, err
    assert b"configuration ok" not in res.stderr


def test_check_missing_file(tmpdir_conf):
    res = run("check", "-c", str(tmpdir_conf / "nope.conf"))
    assert res.returncode != 0
    assert str(tmpdir_conf / "nope.conf") in res.stderr.decode()


def test_quoted_and_commented_values(tmpdir_conf):
    conf = write_conf(tmpdir_conf, '; comment\n# comment\n  [lmtp]  \n'
                      '  recipient_delimiter = ""  \n[pop3]\nfolders = "INBOX, Junk"\n')
    res = run("check", "-c", str(conf))
    assert res.returncode == 0, res.stderr
    keys = check_output_keys(res.stdout)
    assert keys.get("lmtp.recipient_delimiter", None) == ""
    assert keys["pop3.folders"] == "INBOX, Junk"


def test_override_wins_over_file(make_server):
    srv = make_server(start=False, overrides={"pop3.login_delay": "7"})
    keys = check_output_keys(srv.cli("check").stdout)
    assert keys["pop3.login_delay"] in ("7", "7s")
    res = srv.cli("check", "-o", "pop3.login_delay=30", "-o", "pop3.delete=hide")
    keys = check_output_keys(res.stdout)
    assert keys["pop3.login_delay"] in ("30", "30s")
    assert keys["pop3.delete"] == "hide"
    # the last of several overrides of one key wins; -o may come first
    res = run("-o", "workers=3", "check", "-c", str(srv.conf), "-o", "workers=5")
    assert res.returncode == 0, res.stderr
    assert check_output_keys(res.stdout)["workers"] == "5"


@pytest.mark.parametrize("override,what", [
    ("badkey=1", "badkey"),
    ("pop3.delete=sometimes", "pop3.delete"),
    ("workers", "workers"),
    ("=1", ""),
])
def test_bad_override(make_server, override, what):
    srv = make_server(start=False)
    res = srv.cli("check", "-o", override, check=False)
    assert res.returncode != 0
    assert what in res.stderr.decode()
    assert b"configuration ok" not in res.stderr


def test_check_bad_tls_files(make_server, tmpdir_conf):
    bogus = tmpdir_conf / "bogus.pem"
    bogus.write_text("not a certificate\n")
    srv = make_server(start=False)
    res = srv.cli("check", "-o", f"tls.cert={bogus}", check=False)
    assert res.returncode != 0
    assert b"configuration ok" not in res.stderr


def test_check_unknown_mail_user(make_server):
    if not IS_ROOT:
        pytest.skip("the mail user matters only as root")
    srv = make_server(start=False)
    res = srv.cli("check", "-o", "user=no-such-account-here", check=False)
    assert res.returncode != 0
    assert b"no-such-account-here" in res.stderr


# ---- yubin serve with a bad configuration ------------------------------------------------

@pytest.mark.parametrize("override,what", [
    ("nosuch.key=1", "nosuch.key"),
    ("pop3.expire_days=-3", "pop3.expire_days"),
    ("listen.pop3s=127.0.0.1:1", "listen.pop3s"),
])
def test_serve_invalid_config(make_server, override, what):
    srv = make_server(start=False)
    if override.startswith("listen.pop3s"):
        srv.settings.pop("tls.cert")
        srv.settings.pop("tls.key")
        srv.write_config()
        override = f"listen.pop3s=127.0.0.1:{free_port()}"
    res = srv.cli("serve", "-o", override, check=False)
    assert res.returncode != 0
    assert what in res.stderr.decode(), res.stderr


def test_serve_invalid_config_file_line(make_server):
    srv = make_server(start=False)
    text = srv.conf.read_text()
    srv.conf.write_text(text + "[pop3]\nexpire_days = someday\n")
    nlines = len((text + "[pop3]\n").splitlines()) + 1
    res = srv.cli("serve", check=False)
    assert res.returncode != 0
    assert f"{srv.conf}:{nlines}: " in res.stderr.decode(), res.stderr


def test_serve_port_in_use(make_server):
    srv = make_server(start=False)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", srv.pop3_port))
        s.listen(1)
        res = srv.cli("serve", check=False)
    assert res.returncode != 0
    assert str(srv.pop3_port) in res.stderr.decode(), res.stderr


def test_usage_errors():
    res = run()
    assert res.returncode == 64 and b"usage" in res.stderr
    res = run("frobnicate")
    assert res.returncode == 64 and b"frobnicate" in res.stderr
    res = run("check", "-c")
    assert res.returncode == 64
    res = run("check", "extra")
    assert res.returncode == 64
    res = run("--help")
    assert res.returncode == 0 and b"usage" in res.stdout
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith(b"yubin ")


# ---- users ---------------------------------------------------------------------------------

def user_list(srv):
    return srv.cli("user", "list").stdout.decode().split()


def test_user_round_trip(make_server):
    srv = make_server(start=False, users={})
    assert user_list(srv) == []
    srv.add_user("dave", "first-pw")
    srv.add_user("Erin@Example.ORG", "erin-pw", scheme="SHA512-CRYPT")
    assert sorted(user_list(srv)) == ["dave", "erin@example.org"]
    users_file = (srv.data_dir / "users").read_text()
    assert re.search(r"^dave:\{SCRAM-SHA-256\}", users_file, re.M), users_file
    assert re.search(r"^erin@example.org:\{SHA512-CRYPT\}\$6\$", users_file, re.M)
    assert "first-pw" not in users_file and "erin-pw" not in users_file
    res = srv.cli("user", "passwd", "dave", "--password-stdin", input=b"second-pw\n")
    assert b"dave" in res.stdout
    res = srv.cli("user", "del", "erin@example.org")
    assert user_list(srv) == ["dave"]
    # errors
    res = srv.cli("user", "add", "dave", "--password-stdin", input=b"x\n", check=False)
    assert res.returncode == 65 and b"already exists" in res.stderr
    res = srv.cli("user", "passwd", "nobody", "--password-stdin", input=b"x\n", check=False)
    assert res.returncode == 67
    res = srv.cli("user", "del", "nobody", check=False)
    assert res.returncode == 67
    res = srv.cli("user", "del", "erin@example.org", check=False)
    assert res.returncode == 67
    assert user_list(srv) == ["dave"]


N_ADDS = 16


def _parallel_adds(srv):
    procs = [subprocess.Popen([YUBIN, "user", "add", f"user{i}", "-s", "PLAIN",
                               "--password-stdin", "-c", str(srv.conf)],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
             for i in range(N_ADDS)]
    for p in procs:  # all start their work at (nearly) the same moment
        p.stdin.write(b"pw\n")
        p.stdin.close()
    rcs = [p.wait(timeout=60) for p in procs]
    errs = [p.stderr.read().decode(errors="replace") for p in procs]
    for p in procs:
        p.stderr.close()
    return rcs, [e for e in errs if e]


def test_concurrent_user_adds_lose_nothing(make_server):
    """Parallel `user add` (a provisioning script): the users file is
    updated under a lock, nothing is lost."""
    srv = make_server(start=False, users={"first": "pw"})
    rcs, errs = _parallel_adds(srv)
    assert rcs == [0] * N_ADDS, errs
    want = [f"user{i}" for i in range(N_ADDS)] + ["first"]
    assert sorted(user_list(srv)) == sorted(want)


def test_concurrent_commands_on_fresh_data_dir(make_server):
    """On a fresh install data_dir does not exist yet; the commands that
    find it being created (mkdir, then chown to the mail user) by another
    one must not fail (exit 75)."""
    srv = make_server(start=False, users={})
    for _ in range(8):
        shutil.rmtree(srv.data_dir, ignore_errors=True)
        rcs, errs = _parallel_adds(srv)
        assert rcs == [0] * N_ADDS, errs
        assert len(user_list(srv)) == N_ADDS


def test_passwd_keeps_other_lines_and_fields(make_server):
    """The users file is Dovecot's passwd-file format: comments and extra
    fields an administrator wrote survive `user passwd`."""
    srv = make_server(start=False, users={"alice": "a", "bob": "b"})
    users = srv.data_dir / "users"
    lines = users.read_text().splitlines()
    alice = [line for line in lines if line.startswith("alice:")][0]
    fields = alice.split(":")
    fields = fields[:2] + ["1000", "1000", "", "/home/alice", "", "userdb_quota_rule=*:storage=1G"]
    other = [line for line in lines if not line.startswith("alice:")]
    users.write_text("# managed by hand\n" + ":".join(fields) + "\n" + "\n".join(other) + "\n")
    srv.cli("user", "passwd", "alice", "--password-stdin", input=b"new pw\n")
    text = users.read_text()
    assert text.startswith("# managed by hand\n")
    new_alice = [line for line in text.splitlines() if line.startswith("alice:")][0]
    assert new_alice.split(":")[1] != fields[1]
    assert new_alice.endswith(":1000:1000::/home/alice::userdb_quota_rule=*:storage=1G")
    assert other[0] in text


def test_duplicate_add_differs_only_in_case(make_server):
    srv = make_server(start=False, users={"dave": "pw"})
    res = srv.cli("user", "add", "DAVE", "--password-stdin", input=b"x\n", check=False)
    assert res.returncode == 65
    assert user_list(srv) == ["dave"]


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", ".hidden", "a..b", "x/../y",
                                  "with space", "tab\there", "a:b", "", "-", "a@b@c",
                                  "a@../b", "a@b/c", "ü"])
def test_user_invalid_names(make_server, name):
    srv = make_server(start=False, users={})
    res = srv.cli("user", "add", "--", name, "--password-stdin", input=b"pw\n", check=False)
    assert res.returncode == 64, (name, res.returncode, res.stderr)
    assert user_list(srv) == []
    assert not (srv.data_dir.parent / "x").exists()


@pytest.mark.parametrize("bad", [b"\n", b""])
def test_user_add_empty_password(make_server, bad):
    srv = make_server(start=False, users={})
    res = srv.cli("user", "add", "dave", "--password-stdin", input=bad, check=False)
    assert res.returncode == 65
    assert user_list(srv) == []


def test_user_unknown_scheme(make_server):
    srv = make_server(start=False, users={})
    res = srv.cli("user", "add", "dave", "-s", "MD5-NOPE", "--password-stdin", input=b"pw\n",
                  check=False)
    assert res.returncode == 64
    assert user_list(srv) == []


def test_users_file_owned_by_mail_user(make_server):
    if not IS_ROOT:
        pytest.skip("only as root")
    srv = make_server(start=False)
    st = os.stat(srv.data_dir / "users")
    assert st.st_uid != 0 and st.st_uid == os.stat(srv.data_dir).st_uid
    assert st.st_mode & 0o077 == 0


def test_pw_sha512_crypt():
    res = run("pw", "-s", "SHA512-CRYPT", "--password-stdin", input=b"s3cret pw\n")
    assert res.returncode == 0, res.stderr
    line = res.stdout.decode().strip()
    m = re.fullmatch(r"\{SHA512-CRYPT\}(\$6\$([./0-9A-Za-z]{1,16})\$[./0-9A-Za-z]{86})", line)
    assert m, line
    # the same hash from another implementation
    ref = subprocess.run(["openssl", "passwd", "-6", "-salt", m.group(2), "-stdin"],
                         input=b"s3cret pw\n", capture_output=True, check=True)
    assert ref.stdout.decode().strip() == m.group(1)
    # a fresh salt each time
    res2 = run("pw", "-s", "SHA512-CRYPT", "--password-stdin", input=b"s3cret pw\n")
    assert res2.stdout != res.stdout


def test_pw_default_scheme_is_scram():
    res = run("pw", "--password-stdin", input=b"pencil\n")
    assert res.returncode == 0, res.stderr
    line = res.stdout.decode().strip()
    m = re.fullmatch(r"\{SCRAM-SHA-256\}(\d+),([A-Za-z0-9+/=]+),([A-Za-z0-9+/=]+),"
                     r"([A-Za-z0-9+/=]+)", line)
    assert m, line
    iters, salt = int(m.group(1)), base64.b64decode(m.group(2))
    assert iters >= 4096
    # RFC 5802 3: StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, iters)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert base64.b64decode(m.group(3)) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(m.group(4)) == hmac.new(salted, b"Server Key", "sha256").digest()


def test_pw_scheme_from_config_and_errors(make_server):
    srv = make_server(start=False, users={})
    res = srv.cli("pw", "-o", "auth.default_scheme=SHA512-CRYPT", "--password-stdin",
                  input=b"x\n")
    assert res.stdout.startswith(b"{SHA512-CRYPT}$6$")
    res = run("pw", "-s", "NOPE", "--password-stdin", input=b"x\n")
    assert res.returncode == 64
    res = run("pw", "--password-stdin", input=b"")
    assert res.returncode == 65
    res = run("pw", "--bogus")
    assert res.returncode == 64


@pytest.mark.parametrize("scheme", ["SCRAM-SHA-256", "SHA512-CRYPT", "CRYPT", "BLF-CRYPT",
                                    "PLAIN"])
def test_pw_output_usable_in_users_file(make_server, scheme):
    """A line from `yubin pw` pasted into the users file logs in."""
    srv = make_server(users={"alice": USERS["alice"]})
    res = run("pw", "-s", scheme, "--password-stdin", input=b"pasted pw\n")
    assert res.returncode == 0, res.stderr
    with open(srv.data_dir / "users", "a") as f:
        f.write("frank:" + res.stdout.decode())
    p = wait_for(lambda: _try_login(srv, "frank", "pasted pw"), timeout=5)
    assert p, "login with a pasted hash failed"


def _try_login(srv, user, pw):
    p = srv.pop3()
    try:
        p.user(user)
        p.pass_(pw)
        p.quit()
        return True
    except poplib.error_proto:
        p.close()
        return False


def test_passwd_and_del_apply_without_restart(server):
    assert _try_login(server, "alice", USERS["alice"])
    server.cli("user", "passwd", "alice", "--password-stdin", input=b"new alice pw\n")
    assert wait_for(lambda: _try_login(server, "alice", "new alice pw"), timeout=5)
    assert not _try_login(server, "alice", USERS["alice"])
    # a user added while running can log in and receive mail
    server.add_user("gina", "gina-pw")
    assert wait_for(lambda: _try_login(server, "gina", "gina-pw"), timeout=5)
    assert server.deliver("gina", b"Subject: hi\r\n\r\nhi\r\n") == {}
    server.cli("user", "del", "gina")
    assert wait_for(lambda: not _try_login(server, "gina", "gina-pw"), timeout=5)
    # and LMTP refuses the deleted user
    with server.lmtp() as c:
        c.mail("s@example.net")
        code, _ = c.rcpt("gina")
        assert code == 550


def test_passwd_twice_within_a_second(server):
    """The users file can change twice within one mtime tick."""
    for i in range(3):
        server.cli("user", "passwd", "bob", "--password-stdin", input=b"pw-%d\n" % i)
    assert wait_for(lambda: _try_login(server, "bob", "pw-2"), timeout=5)
    assert not _try_login(server, "bob", "pw-1")
    assert not _try_login(server, "bob", USERS["bob"])


# ---- signals ----------------------------------------------------------------------------------

def capa(srv):
    try:
        p = srv.pop3(timeout=5)
        try:
            return p.capa()
        finally:
            p.quit()
    except OSError:
        return {}


def test_sighup_reloads(make_server):
    srv = make_server(overrides={"pop3.login_delay": "0"})
    assert "LOGIN-DELAY" not in capa(srv)
    srv.settings["pop3.login_delay"] = "5"
    srv.write_config()
    srv.proc.send_signal(signal.SIGHUP)
    got = wait_for(lambda: capa(srv).get("LOGIN-DELAY"), timeout=15)
    assert got == ["5"], capa(srv)
    # the server keeps serving mail
    assert srv.deliver("alice", b"Subject: x\r\n\r\nx\r\n") == {}
    assert srv.proc.poll() is None


def test_sighup_with_bad_config_keeps_running(make_server):
    srv = make_server(overrides={"pop3.login_delay": "3"})
    srv.conf.write_text(srv.conf.read_text() + "nonsense line\n")
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert srv.proc.poll() is None
    assert capa(srv).get("LOGIN-DELAY") == ["3"]
    assert srv.deliver("alice", b"Subject: x\r\n\r\nx\r\n") == {}
    assert "reload" in srv.log_text()


def test_sighup_lets_a_transfer_in_progress_finish(make_server):
    srv = make_server()
    c = srv.raw(srv.lmtp_port)
    c.readline()
    c.send(b"LHLO x\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<alice>\r\nDATA\r\n"
           b"Subject: across a reload\r\n\r\nfirst half ")
    line = b""
    while not line.startswith(b"354"):
        line = c.readline()
        assert line, "connection closed"
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    c.send(b"second half\r\n.\r\n")
    assert c.readline().startswith(b"250 "), "the MTA must get its reply"
    c.close()
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 1
    p.quit()


def test_sighup_does_not_interrupt_pop3_sessions(make_server):
    """A reload replaces the workers, but the old ones retire: a logged-in
    client keeps its session, and its DELE is applied at QUIT."""
    srv = make_server()
    srv.deliver("alice", b"Subject: one\r\n\r\none\r\n")
    srv.deliver("alice", b"Subject: two\r\n\r\ntwo\r\n")
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 2
    srv.settings["pop3.login_delay"] = "1"
    srv.write_config()
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: capa(srv).get("LOGIN-DELAY"), timeout=15) == ["1"]
    # the old session still works
    assert p.retr(1)[1][-1] == b"one"
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    time.sleep(1.1)  # the new login delay
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 1
    p.quit()
    # the retired worker has exited: only the supervisor and new workers
    children = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True,
                              text=True).stdout.split()
    assert len(children) == 2, children


def test_shutdown_tells_idle_lmtp_clients(make_server):
    """RFC 5321 3.8: a server that is shut down SHOULD send 421 to its
    clients before closing (an MTA then retries at once elsewhere or later
    instead of seeing a broken connection)."""
    srv = make_server()
    c = srv.raw(srv.lmtp_port)
    assert c.readline().startswith(b"220")
    c.send(b"LHLO x\r\n")
    while not c.readline().startswith(b"250 "):
        pass
    srv.stop()
    line = c.readline()
    assert line.startswith(b"421 "), line


def test_sigterm_exits_zero(make_server):
    srv = make_server()
    srv.deliver("alice", b"Subject: x\r\n\r\nx\r\n")
    proc = srv.proc
    srv.stop()  # asserts exit status 0
    assert proc.returncode == 0
    for port in (srv.pop3_port, srv.lmtp_port):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), 1).close()


def test_sigterm_with_idle_clients_is_prompt(make_server):
    srv = make_server()
    p = srv.pop3("alice", USERS["alice"])  # logged in, idle
    c = srv.raw(srv.lmtp_port)
    c.readline()
    t0 = time.time()
    srv.stop()
    assert time.time() - t0 < 8
    p.close()
    c.close()


# ---- scripts/dev-setup.sh -----------------------------------------------------------------------

def test_dev_setup(tmpdir_conf):
    d = tmpdir_conf / "dev"
    pop3, pop3s, lmtp = free_port(), free_port(), free_port()
    env = dict(os.environ, YUBIN=YUBIN, YUBIN_POP3_PORT=str(pop3),
               YUBIN_POP3S_PORT=str(pop3s), YUBIN_LMTP_PORT=str(lmtp),
               YUBIN_IMAP_PORT=str(free_port()), YUBIN_IMAPS_PORT=str(free_port()))
    setup = subprocess.run(["sh", str(ROOT / "scripts" / "dev-setup.sh"), str(d)], env=env,
                           capture_output=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    assert not any(m.encode() in setup.stderr for m in SANITIZER_MARKERS), setup.stderr
    conf = d / "yubin.conf"
    assert conf.is_file() and (d / "tls" / "cert.pem").is_file()
    assert run("check", "-c", str(conf)).returncode == 0
    log = open(d / "serve.log", "wb")
    proc = subprocess.Popen([YUBIN, "serve", "-c", str(conf)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: _port_open(pop3) and _port_open(lmtp), timeout=10), \
            (d / "serve.log").read_text()
        listing = subprocess.run(["curl", "-sS", "--max-time", "10",
                                  f"pop3://demo:demo@127.0.0.1:{pop3}/"],
                                 capture_output=True, timeout=30)
        assert listing.returncode == 0, listing.stderr
        assert re.fullmatch(rb"1 \d+\r\n", listing.stdout), listing.stdout
        msg = subprocess.run(["curl", "-sS", "--max-time", "10",
                              f"pop3://demo:demo@127.0.0.1:{pop3}/1"],
                             capture_output=True, timeout=30)
        assert msg.returncode == 0, msg.stderr
        assert b"Subject: Welcome to yubin" in msg.stdout
        assert b"Delivered-To: demo" in msg.stdout
        tls = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert",
                              str(d / "tls" / "cert.pem"),
                              f"pop3s://demo:demo@localhost:{pop3s}/1"],
                             capture_output=True, timeout=30)
        assert tls.returncode == 0, tls.stderr
        assert tls.stdout == msg.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        log.close()
    assert rc == 0, (d / "serve.log").read_text()
    # running it again keeps what exists: no second user, no second welcome
    again = subprocess.run(["sh", str(ROOT / "scripts" / "dev-setup.sh"), str(d)], env=env,
                           capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr
    mails = list((d / "data" / "mail" / "demo" / "new").iterdir()) + \
        list((d / "data" / "mail" / "demo" / "cur").iterdir())
    assert len(mails) == 1
    text = (d / "serve.log").read_text()
    for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        assert marker not in text, text


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False
