"""Privilege separation and the walls between users.

- Started as root, every worker (also one started to replace a dead
  worker, and those of a reloaded generation) and `yubin deliver` run as
  the configured `user`: all four uids and gids, the supplementary groups,
  and no capabilities (CapEff/CapPrm/CapAmb = 0).
- All users' Maildirs belong to that one account, so file permissions do
  not separate users: the server itself must not follow a symbolic link
  placed inside a user's Maildir (by the user's own tools, or anyone who
  can write there) to another user's mail, the users file or another
  user's index, nor deliver through one into another user's Maildir.
"""
import os
import poplib
import smtplib
import pwd
import signal
import subprocess
import time

import pytest

from faultlib import IS_ROOT, USERS, YUBIN, index_snapshot

pytestmark = pytest.mark.skipif(not IS_ROOT, reason="privilege separation needs root")

SECRET = b"BOB-SECRET-7f3a"


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.split()
    return out


def assert_unprivileged(pid, what):
    """A freshly forked worker is still the supervisor's image for a
    moment: give it up to two seconds to drop, then check everything."""
    mail = pwd.getpwnam("mail")
    deadline = time.time() + 2
    st = status(pid)
    while st["Uid"][0] == "0" and time.time() < deadline:
        time.sleep(0.02)
        st = status(pid)
    assert st["Uid"] == [str(mail.pw_uid)] * 4, (what, st["Uid"])
    assert st["Gid"] == [str(mail.pw_gid)] * 4, (what, st["Gid"])
    assert set(st["Groups"]) <= {str(mail.pw_gid)}, (what, st["Groups"])
    for cap in ("CapEff", "CapPrm", "CapAmb", "CapInh"):
        assert int(st[cap][0], 16) == 0, (what, cap, st[cap])
    return st


def test_workers_and_deliver_run_unprivileged(fault_server, record):
    srv = fault_server(workers=2)
    pids = srv.wait_workers(2)
    assert len(pids) == 2
    for pid in pids:
        st = assert_unprivileged(pid, f"worker {pid}")
    sup = status(srv.proc.pid)
    # a worker started to replace a dead one
    os.kill(pids[0], signal.SIGKILL)
    deadline = time.time() + 5
    while time.time() < deadline:
        now = srv.worker_pids()
        if len(now) == 2 and pids[0] not in now:
            break
        time.sleep(0.05)
    new = [p for p in srv.worker_pids() if p not in pids]
    assert new, "the dead worker was not replaced"
    assert_unprivileged(new[0], "replacement worker")
    # a new generation after SIGHUP
    before = set(srv.worker_pids())
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and not (set(srv.worker_pids()) - before):
        time.sleep(0.05)
    fresh = set(srv.worker_pids()) - before
    assert fresh, "no new workers after SIGHUP"
    for pid in fresh:
        assert_unprivileged(pid, "reloaded worker")
    # `yubin deliver` as root: unprivileged while it reads the message
    p = subprocess.Popen([YUBIN, "deliver", "-u", "alice", "-c", str(srv.conf)],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"Subject: x\n\n")
        p.stdin.flush()
        time.sleep(0.3)
        assert_unprivileged(p.pid, "yubin deliver")
    finally:
        p.stdin.write(b"body\n")
        p.stdin.close()
        assert p.wait(10) == 0, p.stderr.read()
    record("privsep", supervisor_uid=int(sup["Uid"][0]), worker_uid=int(st["Uid"][0]),
           worker_groups=st["Groups"], worker_cap_eff=st["CapEff"][0],
           worker_cap_bnd=st["CapBnd"][0], no_new_privs=int(st["NoNewPrivs"][0]),
           seccomp=int(st["Seccomp"][0]))


# ---------------------------------------------------------------- symlinks


def chown_mail(path):
    mail = pwd.getpwnam("mail")
    os.lchown(path, mail.pw_uid, mail.pw_gid)


def setup_two_users(fault_server, overrides=None):
    srv = fault_server(overrides=overrides)
    assert srv.deliver("alice", b"Subject: alice's own\r\n\r\nmine\r\n") == {}
    assert srv.deliver("bob", b"Subject: bob's\r\n\r\n" + SECRET + b"\r\n") == {}
    p = srv.pop3("bob", USERS["bob"])  # bob's index exists
    bob_uidls = p.uidl()[1]
    p.quit()
    return srv, bob_uidls


def bob_file(srv):
    return next((srv.maildir("bob") / "new").iterdir())


def link_file_to_bob(srv):
    os.symlink(bob_file(srv), srv.maildir("alice") / "new" / "1700000000.M1P1.evil,S=40")
    chown_mail(srv.maildir("alice") / "new" / "1700000000.M1P1.evil,S=40")


def link_file_to_users(srv):
    os.symlink(srv.data_dir / "users", srv.maildir("alice") / "cur" / "1700000001.M1P1.evil:2,S")
    chown_mail(srv.maildir("alice") / "cur" / "1700000001.M1P1.evil:2,S")


def link_cur_to_bob(srv):
    cur = srv.maildir("alice") / "cur"
    os.rmdir(cur)
    os.symlink(srv.maildir("bob") / "new", cur)
    chown_mail(cur)


def link_folder_to_bob(srv):
    os.symlink(srv.maildir("bob"), srv.maildir("alice") / ".Junk")
    chown_mail(srv.maildir("alice") / ".Junk")


def link_index_to_bob(srv):
    idx = srv.maildir("alice") / "yubin.sqlite"
    for suffix in ("", "-wal", "-shm"):
        p = srv.maildir("alice") / ("yubin.sqlite" + suffix)
        if p.exists():
            p.unlink()
    os.symlink(srv.maildir("bob") / "yubin.sqlite", idx)
    chown_mail(idx)


LINKS = [link_file_to_bob, link_file_to_users, link_cur_to_bob, link_folder_to_bob,
         link_index_to_bob]


@pytest.mark.parametrize("link", LINKS, ids=[f.__name__ for f in LINKS])
def test_symlink_in_maildir_exposes_nothing(fault_server, link):
    srv, bob_uidls = setup_two_users(fault_server, {"pop3.folders": "INBOX, Junk"})
    p = srv.pop3("alice", USERS["alice"])  # alice's index exists
    p.quit()
    bob_index = index_snapshot(srv, "bob")
    users_file = (srv.data_dir / "users").read_bytes()
    link(srv)
    # Either the link is ignored (alice sees her one message) or her
    # mailbox is refused as damaged ([SYS/...]): never bob's mail.
    try:
        p = srv.pop3("alice", USERS["alice"])
    except poplib.error_proto as e:
        assert b"[SYS/" in e.args[0], e
        p = None
    seen, count = b"", 1
    if p is not None:
        try:
            count = p.stat()[0]
            seen = b"".join(b"\r\n".join(p.retr(i)[1]) for i in range(1, count + 1))
        finally:
            p.quit()
    assert SECRET not in seen, f"alice read bob's mail through {link.__name__}"
    for line in users_file.splitlines():
        assert line.split(b":")[1] not in seen, "alice read the users file"
    assert count == 1, f"alice sees {count} messages"
    # bob's mailbox and index are as they were
    p = srv.pop3("bob", USERS["bob"])
    assert p.uidl()[1] == bob_uidls
    p.quit()
    after = index_snapshot(srv, "bob")
    assert sorted(r[1:4] for r in after[1]) == sorted(r[1:4] for r in bob_index[1]), \
        "alice's session changed bob's index"


def test_delivery_does_not_follow_a_symlinked_new(fault_server):
    srv, bob_uidls = setup_two_users(fault_server)
    new = srv.maildir("alice") / "new"
    for f in new.iterdir():
        os.rename(f, srv.maildir("alice") / "cur" / (f.name + ":2,"))
    os.rmdir(new)
    os.symlink(srv.maildir("bob") / "new", new)
    chown_mail(new)
    # refused for now (the sender tries again), never written into bob's
    with pytest.raises(smtplib.SMTPDataError) as e:
        srv.deliver("alice", b"Subject: for alice only\r\n\r\nALICE-PRIVATE\r\n")
    assert e.value.smtp_code == 451
    res = subprocess.run([YUBIN, "deliver", "-u", "alice", "-c", str(srv.conf)],
                         input=b"Subject: for alice only\n\nALICE-PRIVATE\n", capture_output=True)
    assert res.returncode == 75, res
    for f in (srv.maildir("bob") / "new").iterdir():
        assert b"ALICE-PRIVATE" not in f.read_bytes(), \
            "mail for alice was delivered into bob's Maildir through a symlink"
    p = srv.pop3("bob", USERS["bob"])
    assert p.uidl()[1] == bob_uidls
    p.quit()
