"""The two servers under test: a private yubin and a private Dovecot.

Both run as root (like a real installation), listen on 127.0.0.1 only, on
ports picked free at run time, keep everything under one temporary
directory, store mail as the `mail` user in Maildir, and read the same
users with the same password hash. Each is started inside its own
ProcGroup so that its CPU time and memory can be measured, and is stopped
by its own PID.
"""
import grp
import os
import pwd
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import time

from .procs import ProcGroup

MAIL_UID = pwd.getpwnam("mail").pw_uid
MAIL_GID = grp.getgrnam("mail").gr_gid
FD_LIMIT = 20000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_dir(path, owner_mail=False, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    if owner_mail:
        os.chown(path, MAIL_UID, MAIL_GID)
    return path


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(FD_LIMIT, hard) if hard != resource.RLIM_INFINITY else FD_LIMIT
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))


class Server:
    """What the workloads need from either server."""
    name = "?"
    imap_port = imaps_port = None

    def __init__(self, root, tls):
        self.dir = make_dir(os.path.join(root, self.name))
        self.cert, self.key = tls
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.lmtp_port = free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.proc = None
        self.group = None
        self.log = None
        self.exit_codes = []  # of every stop, for the report

    # -- life cycle --------------------------------------------------------
    def command(self):
        raise NotImplementedError

    def start(self):
        self.group = ProcGroup(self.name)
        self.log = open(self.log_path, "ab")

        def preexec():
            raise_fd_limit()
            self.group.preexec()

        # A session of its own: Ctrl-C reaches the driver, which then stops
        # the server itself (by PID) after recording what it has.
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=preexec,
                                     start_new_session=True)
        self.group.attach(self.proc.pid)
        self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        ports = [p for p in (self.pop3_port, self.pop3s_port, self.lmtp_port,
                             self.imap_port) if p]
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start-up; see {self.log_path}")
            try:
                for port in ports:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                time.sleep(0.3)  # let pre-forked processes settle
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start; see {self.log_path}")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # children that outlived the master (should not happen)
        for pid in self.group.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.group.close()
        self.log.close()
        rc, self.proc = self.proc.returncode, None
        self.exit_codes.append(rc)
        return rc

    def restart(self):
        self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- data --------------------------------------------------------------
    def maildir(self, user):
        raise NotImplementedError

    def deliver(self, user, message):
        """Deliver one message (bytes, CRLF) over LMTP; raise on failure."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=120) as c:
            refused = c.sendmail("sender@bench.example", [user], message)
            if refused:
                raise RuntimeError(f"{self.name} refused {user}: {refused}")

    def log_tail(self, n=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Yubin(Server):
    name = "yubin"

    def __init__(self, root, tls, binary, users_text, workers=2):
        super().__init__(root, tls)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.binary = binary
        self.data_dir = make_dir(os.path.join(self.dir, "data"), owner_mail=True)
        make_dir(os.path.join(self.data_dir, "mail"), owner_mail=True, mode=0o700)
        users = os.path.join(self.data_dir, "users")
        with open(users, "w") as f:
            f.write(users_text)
        os.chown(users, MAIL_UID, MAIL_GID)
        os.chmod(users, 0o600)
        self.conf = os.path.join(self.dir, "yubin.conf")
        self.settings = {
            "data_dir": self.data_dir,
            "hostname": "bench.example",
            "workers": str(workers),
            "user": "mail",
            "log.level": "info",
            "listen.pop3": f"127.0.0.1:{self.pop3_port}",
            "listen.pop3s": f"127.0.0.1:{self.pop3s_port}",
            "listen.lmtp": f"127.0.0.1:{self.lmtp_port}",
            "listen.imap": f"127.0.0.1:{self.imap_port}",
            "listen.imaps": f"127.0.0.1:{self.imaps_port}",
            "tls.cert": self.cert,
            "tls.key": self.key,
            "auth.default_scheme": "SHA512-CRYPT",
            # every bench client comes from 127.0.0.1
            "limits.max_connections_per_ip": "0",
            "mail.fsync": "yes",
        }
        self.write_config()

    def write_config(self):
        sections = {}
        for key, value in self.settings.items():
            section, _, name = key.rpartition(".")
            sections.setdefault(section, []).append(f"{name} = {value}")
        lines = ["# yubin for bench/run.py"] + sections.pop("", [])
        for section, items in sections.items():
            lines.append(f"[{section}]")
            lines.extend(items)
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.binary, "serve", "-c", self.conf]

    def maildir(self, user):
        return os.path.join(self.data_dir, "mail", user)

    def settings_text(self):
        with open(self.conf) as f:
            return f.read()


DOVECOT_CONF = """\
# A private Dovecot for yubin's benchmark (written by bench/run.py).
# Tuned as Dovecot's documentation advises for performance: long-lived
# login processes (high-performance mode), mail processes reused, an
# authentication cache, hibernation of idle IMAP sessions.
instance_name = ybench-{tag}
base_dir = {run}
state_dir = {state}
listen = 127.0.0.1
protocols = pop3 imap lmtp
log_path = {log}
shutdown_clients = yes

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2

# Users: the same passwd-file lines as yubin's users file; mail as `mail`.
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {users}
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={home}/%u
}}
mail_uid = mail
mail_gid = mail
first_valid_uid = {mail_uid}
mail_location = maildir:~/Maildir

# Authentication cache. Verifying cached hashes in auth worker processes
# (to use both cores) measured no faster here, so the default is kept.
auth_cache_size = 16M
auth_cache_ttl = 1 hour
auth_cache_negative_ttl = 1 hour
auth_cache_verify_password_with_worker = {auth_worker}

default_internal_user = dovecot
default_login_user = dovenull
default_process_limit = 2500
default_client_limit = 6000
default_vsz_limit = 1G

# POP3: no \\Seen updates on RETR (Dovecot's POP3 tuning advice).
pop3_no_flag_updates = yes
imap_hibernate_timeout = {hibernate}
lmtp_save_to_detail_mailbox = no

protocol pop3 {{
  mail_max_userip_connections = 10000
}}
protocol imap {{
  mail_max_userip_connections = 10000
}}
protocol lmtp {{
  # yubin always syncs a delivery to disk before acknowledging it
  mail_fsync = always
}}

service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = {cores}
  client_limit = 6000
}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = {cores}
  client_limit = 6000
}}
service pop3 {{
  service_count = {mail_reuse}
  process_min_avail = {cores}
  process_limit = 2500
}}
service imap {{
  service_count = {mail_reuse}
  process_limit = 2500
  # After their sessions hibernate, idle imap processes are stopped after
  # idle_kill (default 1 min); a shorter interval reaches that steady state
  # sooner, so the idle test need not wait a minute.
  idle_kill = 5 secs
  unix_listener imap-master {{
    user = $default_internal_user
  }}
}}
service imap-hibernate {{
  unix_listener imap-hibernate {{
    mode = 0660
    group = $default_internal_group
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
  service_count = {mail_reuse}
  process_min_avail = {cores}
}}
service auth {{
  client_limit = 20000
}}
service anvil {{
  client_limit = 20000
}}
"""


class Dovecot(Server):
    name = "dovecot"

    def __init__(self, root, tls, users_text, cores=2, auth_worker=False, mail_reuse=1000,
                 hibernate="2s"):
        super().__init__(root, tls)
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.run_dir = make_dir(os.path.join(self.dir, "run"))
        self.state_dir = make_dir(os.path.join(self.dir, "state"))
        self.home = make_dir(os.path.join(self.dir, "home"), owner_mail=True)
        users = os.path.join(self.dir, "users")
        with open(users, "w") as f:
            f.write(users_text)
        # read by the auth process, which runs as default_internal_user
        os.chown(users, 0, grp.getgrnam("dovecot").gr_gid)
        os.chmod(users, 0o640)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(
                tag=os.getpid(), run=self.run_dir, state=self.state_dir, log=self.log_path,
                cert=self.cert, key=self.key, users=users, home=self.home,
                mail_uid=MAIL_UID, pop3=self.pop3_port, pop3s=self.pop3s_port,
                imap=self.imap_port, imaps=self.imaps_port, lmtp=self.lmtp_port,
                cores=cores, auth_worker="yes" if auth_worker else "no",
                mail_reuse=mail_reuse, hibernate=hibernate))

    def command(self):
        return [shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c", self.conf]

    def maildir(self, user):
        return os.path.join(self.home, user, "Maildir")

    def prepare_home(self, user):
        make_dir(os.path.join(self.home, user), owner_mail=True, mode=0o700)

    def settings_text(self):
        """The non-default settings as Dovecot itself reads them."""
        res = subprocess.run(["doveconf", "-n", "-c", self.conf], capture_output=True,
                             text=True)
        return res.stdout if res.returncode == 0 else res.stderr


def dovecot_version():
    res = subprocess.run(["dovecot", "--version"], capture_output=True, text=True)
    return res.stdout.strip()
