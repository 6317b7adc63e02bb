"""More IDLE sessions than the kernel's default inotify instances per user
(fs.inotify.max_user_instances, 128): every one of them still hears of a
delivery (the ones without an inotify instance look every few seconds)."""
import socket
import time

from conftest import USERS

SESSIONS = 150


def test_many_idle_sessions_all_hear_of_a_delivery(make_server):
    server = make_server(overrides={"limits.max_connections_per_ip": "0"})
    server.deliver("alice", b"Subject: one\r\n\r\nx\r\n")
    conns = []
    try:
        for i in range(SESSIONS):
            s = socket.create_connection(("127.0.0.1", server.imap_port), 10)
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN alice " + USERS["alice"].encode() + b"\r\nb SELECT INBOX\r\n"
                      b"c IDLE\r\n")
            while not f.readline().startswith(b"+ "):
                pass
            conns.append((s, f))
        server.deliver("alice", b"Subject: two\r\n\r\ny\r\n")
        deadline = time.time() + 12
        for s, f in conns:
            s.settimeout(max(0.1, deadline - time.time()))
            line = f.readline()
            while line and not line.startswith(b"* 2 EXISTS"):
                line = f.readline()
            assert line.startswith(b"* 2 EXISTS"), "an IDLE session missed the delivery"
    finally:
        for s, f in conns:
            s.close()
