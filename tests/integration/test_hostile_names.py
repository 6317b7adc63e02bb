"""User names that could name a path, written straight into the users
file (as an administrator's script or a careless edit could): such lines
must be skipped, so that no login (POP3 USER/PASS, AUTH PLAIN), no LMTP
recipient and no `yubin deliver -u` can turn them into a directory outside
the user's own Maildir. The valid lines around them keep working.

(test_pop3_hostile.py checks such names at login when they are NOT in the
users file; test_deliver.py checks `deliver -u` with them.)
"""
import base64
import os
import subprocess

from conftest import USERS, YUBIN

PASSWORD = "hostile-pw"
NAMES = ["../evil", "..", "a/b", ".hidden", "x/../../../../tmp/yubin-escape", "evil/..",
         "%2e%2e", "a\\b", "evil@../../etc", "evil@example..org", "evil@/tmp", "tab\tname",
         "evil@example.org/..", " space"]


def all_paths(server):
    return {str(p.relative_to(server.dir)) for p in server.dir.rglob("*")}


def pop3_login(server, name):
    c = server.raw()
    assert c.readline().startswith(b"+OK")
    c.send(b"USER " + name.encode() + b"\r\n")
    c.readline()
    c.send(b"PASS " + PASSWORD.encode() + b"\r\n")
    user_pass = c.readline()
    ir = base64.b64encode(b"\0" + name.encode() + b"\0" + PASSWORD.encode())
    c.send(b"AUTH PLAIN " + ir + b"\r\n")
    plain = c.readline()
    c.close()
    return user_pass, plain


def lmtp_rcpt(server, name):
    c = server.raw(server.lmtp_port)
    c.readline()
    c.send(b"LHLO x\r\nMAIL FROM:<s@example.net>\r\n")
    while not c.readline().startswith(b"250 "):
        pass
    c.readline()
    c.send(b"RCPT TO:<" + name.encode() + b">\r\n")
    reply = c.readline()
    c.close()
    return reply


def test_hostile_names_in_users_file(make_server):
    server = make_server()
    with open(server.data_dir / "users", "a") as f:
        for name in NAMES:
            f.write(f"{name}:{{PLAIN}}{PASSWORD}\n")
    os.utime(server.data_dir / "users", (0, 0))  # surely seen as changed
    before = all_paths(server)
    escape = "/tmp/yubin-escape"
    for name in NAMES:
        user_pass, plain = pop3_login(server, name)
        assert user_pass.startswith(b"-ERR"), (name, user_pass)
        assert plain.startswith(b"-ERR"), (name, plain)
        if "\t" not in name and " " not in name:
            assert lmtp_rcpt(server, name)[:1] in (b"5",), name
        res = subprocess.run([YUBIN, "deliver", "-u", name, "-c", str(server.conf)],
                             input=b"Subject: x\n\nx\n", capture_output=True, timeout=30)
        assert res.returncode in (64, 67), (name, res.returncode, res.stderr)
    assert not os.path.exists(escape)
    new = sorted(all_paths(server) - before)
    assert all(p.startswith("data/tmp") for p in new), new
    # the administrator is told which lines were skipped
    log = server.log_text()
    assert log.count("event=userdb_line_skipped") >= len(NAMES) - 2, log[-3000:]
    # the valid users around the bad lines still work
    p = server.pop3("alice", USERS["alice"])
    assert p.stat()[0] == 0
    p.quit()
    assert server.deliver("bob", b"Subject: ok\r\n\r\nok\r\n") == {}
