"""Shared fixtures for the integration tests.

Every test talks to a real `yubin serve` process started on free loopback
ports, with real clients from Python's standard library (poplib,
smtplib.LMTP) and curl. The binary under test is $YUBIN_BIN (default
build/yubin), so the same tests run against the sanitizer build.

When the tests run as root (CI), the server drops to the `mail` user, as it
would in production; test directories are made traversable for it.
"""
import os
import pathlib
import poplib
import random
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
YUBIN = os.environ.get("YUBIN_BIN", str(ROOT / "build" / "yubin"))
IS_ROOT = os.geteuid() == 0

# Reports that mean the server has a memory or undefined-behaviour bug.
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")


def _ephemeral_range():
    try:
        lo, hi = open("/proc/sys/net/ipv4/ip_local_port_range").read().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL = _ephemeral_range()
_HANDED_OUT = set()


def free_port():
    """A port for a server to listen on: free now, never handed out before
    in this run (a server asks for five at once, before it binds any), and
    outside the range the kernel hands to outgoing connections, so that the
    thousands of client sockets the tests open cannot take it first."""
    for _ in range(500):
        port = random.randint(10000, 65000)
        if _EPHEMERAL[0] <= port <= _EPHEMERAL[1] or port in _HANDED_OUT:
            continue
        _HANDED_OUT.add(port)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tempdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)  # the mail user must be able to traverse it
    return pathlib.Path(d)


@pytest.fixture(scope="session")
def tls_files():
    d = make_tempdir("yubin-tls-")
    key, cert = d / "key.pem", d / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    yield cert, key
    shutil.rmtree(d, ignore_errors=True)


class Server:
    """A yubin instance in its own directory, with its own ports."""

    def __init__(self, tls_files, overrides=None, workers=2):
        self.dir = make_tempdir("yubin-test-")
        self.data_dir = self.dir / "data"
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.cert, self.key = tls_files
        self.conf = self.dir / "yubin.conf"
        self.log_path = self.dir / "server.log"
        settings = {
            "data_dir": str(self.data_dir),
            "hostname": "test.example",
            "workers": str(workers),
            "listen.pop3": f"127.0.0.1:{self.pop3_port}",
            "listen.pop3s": f"127.0.0.1:{self.pop3s_port}",
            "listen.lmtp": f"127.0.0.1:{self.lmtp_port}",
            "listen.imap": f"127.0.0.1:{self.imap_port}",
            "listen.imaps": f"127.0.0.1:{self.imaps_port}",
            "tls.cert": str(self.cert),
            "tls.key": str(self.key),
            # tests must not wait for real-world delays
            "auth.fail_delay": "0",
            "auth.fail_delay_max": "0",
            "log.level": "debug",
        }
        settings.update(overrides or {})
        self.settings = settings
        self.write_config()
        self.proc = None
        self.log = None

    def write_config(self):
        sections = {}
        for key, value in self.settings.items():
            section, _, name = key.rpartition(".")
            sections.setdefault(section, []).append(f"{name} = {value}")
        lines = sections.pop("", [])
        for section, items in sections.items():
            lines.append(f"[{section}]")
            lines.extend(items)
        self.conf.write_text("\n".join(lines) + "\n")

    # ---- the command line ----
    def cli(self, *args, input=None, check=True):
        cmd = [YUBIN, *args, "-c", str(self.conf)]
        res = subprocess.run(cmd, input=input, capture_output=True, timeout=60)
        if check and res.returncode != 0:
            raise AssertionError(f"{cmd} failed ({res.returncode}): "
                                 f"{res.stderr.decode(errors='replace')}")
        return res

    def add_user(self, name, password, scheme=None):
        args = ["user", "add", name, "--password-stdin"]
        if scheme:
            args += ["-s", scheme]
        self.cli(*args, input=password.encode() + b"\n")

    def deliver_cmd(self, user, message, sender=None, check=False):
        args = ["deliver", "-u", user]
        if sender:
            args += ["-f", sender]
        return self.cli(*args, input=message, check=check)

    def maildir(self, user):
        return self.data_dir / "mail" / user

    # ---- the server process ----
    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([YUBIN, "serve", "-c", str(self.conf)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        # every loopback TCP address of the services tests talk to
        ports = [int(addr.strip().rsplit(":", 1)[1])
                 for k in ("listen.pop3", "listen.lmtp", "listen.imap")
                 for addr in self.settings.get(k, "").split(",")
                 if addr.strip().startswith("127.0.0.1:")]
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_text()}")
            try:
                for port in ports:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"server did not start: {self.log_text()}")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop on SIGTERM")
        finally:
            self.proc = None
            self.log.close()
        assert rc == 0, f"server exit status {rc}: {self.log_text()[-3000:]}"

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def check_log(self):
        text = self.log_text()
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in server log:\n{text[-6000:]}"

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- clients ----
    def pop3(self, user=None, password=None, timeout=10):
        p = poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)
        if user is not None:
            p.user(user)
            p.pass_(password)
        return p

    def client_tls_context(self):
        ctx = ssl.create_default_context(cafile=str(self.cert))
        ctx.check_hostname = False
        return ctx

    def pop3s(self, user=None, password=None, timeout=10):
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s_port, timeout=timeout,
                            context=self.client_tls_context())
        if user is not None:
            p.user(user)
            p.pass_(password)
        return p

    def lmtp(self):
        c = smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=10)
        c.ehlo_or_helo_if_needed()
        return c

    def deliver(self, rcpt, message, sender="sender@example.org"):
        """Deliver over LMTP; returns the per-recipient result dict."""
        with self.lmtp() as c:
            rcpts = [rcpt] if isinstance(rcpt, str) else rcpt
            return c.sendmail(sender, rcpts, message)

    def raw(self, port=None, timeout=10):
        """A raw socket for byte-level protocol tests."""
        s = socket.create_connection(("127.0.0.1", port or self.pop3_port), timeout)
        return RawClient(s)


class RawClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                line, self.buf = self.buf, b""
                return line
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_multiline(self):
        lines = []
        while True:
            line = self.readline()
            if line in (b".\r\n", b""):
                return lines
            lines.append(line)

    def closed(self, timeout=5):
        """True if the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


USERS = {"alice": "alice-secret", "bob": "bob secret with spaces",
         "carol@example.org": "carol-pw"}


@pytest.fixture
def make_server(tls_files):
    """Factory: make_server(overrides, users) -> started Server."""
    servers = []

    def factory(overrides=None, users=None, start=True, workers=2):
        srv = Server(tls_files, overrides, workers=workers)
        servers.append(srv)  # cleaned up even if what follows fails
        for name, pw in (USERS if users is None else users).items():
            srv.add_user(name, pw)
        return srv.start() if start else srv

    yield factory
    for srv in servers:
        try:
            srv.stop()
            srv.check_log()
        finally:
            srv.cleanup()


@pytest.fixture
def server(make_server):
    return make_server()
