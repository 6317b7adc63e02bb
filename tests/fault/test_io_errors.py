"""I/O errors where durability is decided: a failing fsync of the message
file, of new/, or a failing rename into new/ must turn into a temporary
failure (LMTP 4xx per recipient, `yubin deliver` exit 75), with nothing
half-written visible in new/, cur/ or left in tmp/; once the disk is well
again, delivery works.

The faults come from an LD_PRELOAD library (fault_shim.c) that fails the
chosen calls on matching paths; its log proves each fault really fired.
"""
import os
import poplib
import subprocess

import pytest

from faultlib import USERS, YUBIN, err_bytes, fault_shim, lmtp_cmd, lmtp_transaction, maildir_files, shim_env

MSG = b"Message-ID: <io@fault.test>\r\nSubject: io\r\n\r\nbody\r\n"

# rule (fault_shim.c syntax) -> the step the store log must name
FAULTS = {
    "fsync@*/mail/*/tmp/*": "step=fsync ",
    "fsync@*/mail/*/tmp/*=ENOSPC": "step=fsync ",
    "rename@*/mail/*/new/*": "step=rename ",
    "fsync@*/mail/*/new": "step=fsync_dir ",
    # no RENAME_NOREPLACE on this file system, and link() fails too
    "rename@*/mail/*/new/*=EINVAL;link@*/mail/*/new/*": "step=rename ",
}


@pytest.fixture(scope="module")
def shim():
    return fault_shim()


def fault_dir(srv):
    """Control file and log live where the workers (the mail user after
    the privilege drop) can read and write them."""
    d = srv.dir / "fault"
    d.mkdir(exist_ok=True)
    d.chmod(0o777)
    return d / "rules", d / "faults"


def files(srv, user):
    new_cur = sorted(p.name for p in maildir_files(srv, user))
    tmp = srv.maildir(user) / "tmp"
    return new_cur, sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []


def run_deliver(srv, env, msg=MSG, user="alice"):
    return subprocess.run([YUBIN, "deliver", "-u", user, "-c", str(srv.conf)], input=msg,
                          capture_output=True, timeout=30, env=env)


@pytest.mark.parametrize("rule", list(FAULTS))
def test_deliver_io_error(fault_server, shim, rule):
    srv = fault_server(start=False)
    assert srv.deliver_cmd("alice", MSG).returncode == 0
    before = files(srv, "alice")
    log = fault_dir(srv)[1]
    res = run_deliver(srv, {**os.environ,
                            **shim_env(shim, YUBIN_FAULT=rule, YUBIN_FAULT_LOG=log)})
    assert res.returncode == 75, (res.returncode, res.stderr)
    assert log.exists() and log.read_text(), "the fault never fired"
    assert FAULTS[rule].encode() in res.stderr, res.stderr
    assert files(srv, "alice") == before


def test_rename_without_noreplace_falls_back_to_link(fault_server, shim):
    """renameat2(RENAME_NOREPLACE) unsupported (EINVAL): link()+unlink()
    delivers just the same, never replacing a file."""
    srv = fault_server(start=False)
    log = fault_dir(srv)[1]
    env = {**os.environ,
           **shim_env(shim, YUBIN_FAULT="rename@*/mail/*/new/*=EINVAL", YUBIN_FAULT_LOG=log)}
    for _ in range(2):
        res = run_deliver(srv, env)
        assert res.returncode == 0, res.stderr
    assert log.read_text().count(" rename ") == 2
    new_cur, tmp = files(srv, "alice")
    assert len(new_cur) == 2 and tmp == []
    for p in maildir_files(srv, "alice"):
        assert p.read_bytes().endswith(MSG)


def test_server_io_errors(fault_server, shim):
    """The same faults inside a running server, switched on and off through
    the shim's control file: 451 for each recipient, the session goes on,
    nothing shows; then the faults go and deliveries work."""
    srv = fault_server(start=False)
    control, log = fault_dir(srv)
    srv.env = shim_env(shim, YUBIN_FAULT_FILE=control, YUBIN_FAULT_LOG=log)
    srv.start()
    assert srv.deliver("alice", MSG) == {}
    before = {u: files(srv, u) for u in ("alice", "bob")}
    for rule, step in FAULTS.items():
        control.write_text(rule)
        data_reply, replies, c = lmtp_transaction(srv, ["alice", "bob"], MSG)
        assert [r[0] for r in replies] == [451, 451], (rule, data_reply, replies)
        assert all(r[1].startswith(b"451 4.") for r in replies), replies
        assert lmtp_cmd(c, b"NOOP") == 250
        c.close()
        assert {u: files(srv, u) for u in ("alice", "bob")} == before, rule
        assert step in srv.log_text(), (rule, srv.log_text()[-1500:])
    control.write_text("")
    fired = log.read_text().splitlines()
    assert len(fired) >= 2 * len(FAULTS), fired
    data_reply, replies, c = lmtp_transaction(srv, ["alice", "bob"], MSG)
    assert [r[0] for r in replies] == [250, 250], replies
    c.close()
    for user, n in (("alice", 2), ("bob", 1)):
        p = srv.pop3(user, USERS[user])
        assert p.stat()[0] == n
        p.quit()


def test_pop3_commit_with_failing_directory_fsync(fault_server, shim):
    """QUIT's deletions while fsync of the Maildir fails: the answer must
    match what happened (+OK: gone; -ERR: all still there)."""
    srv = fault_server(start=False)
    control, log = fault_dir(srv)
    srv.env = shim_env(shim, YUBIN_FAULT_FILE=control, YUBIN_FAULT_LOG=log)
    srv.start()
    for i in range(3):
        assert srv.deliver("alice", b"Message-ID: <c%d@fault.test>\r\n\r\nx\r\n" % i) == {}
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 3
    control.write_text("fsync@*/mail/alice/new;fsync@*/mail/alice/cur")
    p.dele(1)
    p.dele(3)
    try:
        reply = p.quit()
    except poplib.error_proto as e:
        reply = err_bytes(e)
    control.write_text("")
    assert log.exists() and log.read_text(), "the fault never fired"
    left = len(maildir_files(srv, "alice"))
    assert left == (1 if reply.startswith(b"+OK") else 3), reply
    p = srv.pop3("alice", USERS["alice"])
    assert p.stat()[0] == left
    p.quit()
