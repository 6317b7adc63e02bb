#!/usr/bin/python3
"""bench/run.py - run every workload against yubin and Dovecot, alternating,
and write bench/results/<date>.md, a PNG chart and docs/BENCHMARKS.md.

    bench/run.py [--quick] [--build-dir build] [--no-docs] [--keep]
                 [--only pop3,retr,...] [--servers yubin,dovecot]

Called by `make bench` and `make bench-quick` through bench/bench.sh, which
installs the packages and builds the load generators first. Needs root
(both servers run as root and switch to the `mail` user, Dovecot's login
processes to `dovenull`). Everything lives in one temporary directory that
is removed at the end; both servers are stopped by their PIDs at the end,
also after an error or Ctrl-C. Standard library only.
"""
import argparse
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from benchlib import messages, report  # noqa: E402
from benchlib.servers import MAIL_GID, MAIL_UID, Dovecot, Yubin, dovecot_version  # noqa: E402
from benchlib.workloads import Bench  # noqa: E402

PASSWORD = "bench-Passw0rd"
SEED = 20240101
INOTIFY = "/proc/sys/fs/inotify/max_user_instances"

# Sizes of the two runs. `make bench-quick` must finish in under 2 minutes.
PARAMS = {
    "full": dict(repeats=3, pop3_ms=5000, pop3_clients=(1, 4, 16), retr_ms=5000,
                 huge_sessions=5, lmtp_ms=5000, lmtp_clients=(1, 8), big_count=100000,
                 cold_repeats=3, warm_sessions=20, uidl_sessions=5, idle_conns=1000,
                 fsync_iter=(2000, 4000), imap_ms=5000, imap_clients=(1, 4, 16), store_ms=3000,
                 store_clients=(1, 4), append_clients=(1, 4), mixed_clients=50,
                 mixed_ms=10000, imap_big_sessions=3,
                 idle_variants=("pop3", "pop3s", "imap", "imaps")),
    "quick": dict(repeats=1, pop3_ms=1500, pop3_clients=(1, 4, 16), retr_ms=1500,
                  huge_sessions=2, lmtp_ms=1500, lmtp_clients=(1, 8), big_count=10000,
                  cold_repeats=1, warm_sessions=10, uidl_sessions=3, idle_conns=200,
                  fsync_iter=(300, 600), imap_ms=1500, imap_clients=(4,), store_ms=1500,
                  store_clients=(), append_clients=(), mixed_clients=10, mixed_ms=2000,
                  imap_big_sessions=1, idle_variants=("pop3", "pop3s", "imap")),
}
POP3_USERS, POP3_MSGS = 16, 20
PLAIN_USERS = 4
LMTP_USERS = 50
SMALL_COUNT = 100
IMAP_USERS, IMAP_MSGS, IMAP_BODIES = 16, 20, 3
FLAG_USERS, FLAG_MSGS = 4, 1000
APPEND_USERS, APPEND_SIZE = 4, 4096
MIXED_USERS = 50
# the big-mailbox IMAP commands, each timed on its own: (key, command)
BIG_SCRIPT = [("select", "SELECT INBOX"), ("fetch_flags", "FETCH 1:* (UID FLAGS)"),
              ("fetch_env", "FETCH 1:* (ENVELOPE)"),
              ("search_rare", f"SEARCH BODY {messages.RARE_WORD}"),
              ("search_common", "SEARCH BODY juliet"),
              ("search_subject", 'SEARCH SUBJECT "message 4242"'),
              ("search_from", 'SEARCH FROM "sender"')]
LARGE_COUNT, LARGE_SIZE, HUGE_SIZE = 16, 256 * 1024, 50_000_000

START = time.time()


def log(msg):
    print(f"[{time.time() - START:6.1f}s] {msg}", flush=True)


def uname(prefix, count, i):
    """The same names as the load generators' bench_user_name()."""
    return prefix + str(i).zfill(len(str(count - 1)))


class Results:
    """Every figure of every repeat: key -> server -> [values]."""

    def __init__(self):
        self.data = {}

    def add(self, prefix, server, figures):
        for key, value in figures.items():
            if value is None:  # nothing measured (the run failed)
                continue
            self.data.setdefault(f"{prefix}.{key}", {}).setdefault(server, []).append(value)

    def median(self, key, server):
        values = self.data.get(key, {}).get(server)
        return statistics.median(values) if values else None


# -- set-up -------------------------------------------------------------------
def make_tls(tmp):
    d = os.path.join(tmp, "tls")
    os.makedirs(d)
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def make_users(yubin_bin, p):
    """passwd-file lines for both servers: one SHA512-CRYPT hash (made by
    `yubin pw`, verified by both through libxcrypt) for every user, and
    {PLAIN} for the few users of the no-hash-cost variant."""
    res = subprocess.run([yubin_bin, "pw", "-s", "SHA512-CRYPT", "--password-stdin"],
                         input=PASSWORD + "\n", capture_output=True, text=True, check=True)
    stored = res.stdout.strip()
    names = [uname("pop", POP3_USERS, i) for i in range(POP3_USERS)]
    names += [uname("lmtp", LMTP_USERS, i) for i in range(LMTP_USERS)]
    names += [uname("idle", p["idle_conns"], i) for i in range(p["idle_conns"])]
    names += [uname("imap", IMAP_USERS, i) for i in range(IMAP_USERS)]
    names += [uname("flag", FLAG_USERS, i) for i in range(FLAG_USERS)]
    names += [uname("app", APPEND_USERS, i) for i in range(APPEND_USERS)]
    names += [uname("mix", MIXED_USERS, i) for i in range(MIXED_USERS)]
    names += ["large", "huge", "big", "small"]
    names += [f"cold{i}" for i in range(p["cold_repeats"])]
    lines = [f"{n}:{stored}" for n in names]
    lines += [f"{uname('plain', PLAIN_USERS, i)}:{{PLAIN}}{PASSWORD}" for i in range(PLAIN_USERS)]
    return "\n".join(lines) + "\n"


def deliver_all(servers):
    """The same messages to both servers over LMTP."""
    users = [uname("pop", POP3_USERS, i) for i in range(POP3_USERS)]
    users += [uname("plain", PLAIN_USERS, i) for i in range(PLAIN_USERS)]
    for user in users:
        for i in range(POP3_MSGS):
            msg = messages.small(SEED, user, i)
            for srv in servers:
                srv.deliver(user, msg)
    for i in range(LARGE_COUNT):
        msg = messages.large(SEED, "large", i, LARGE_SIZE)
        for srv in servers:
            srv.deliver("large", msg)
    msg = messages.large(SEED, "huge", 0, HUGE_SIZE)
    for srv in servers:
        srv.deliver("huge", msg)


def set_inotify(value):
    try:
        with open(INOTIFY) as f:
            old = int(f.read())
        with open(INOTIFY, "w") as f:
            f.write(str(value))
        return old
    except OSError as e:
        log(f"cannot set {INOTIFY}: {e}")
        return None


# -- the workloads, alternating servers ----------------------------------------
def alternate(servers, repeats):
    """yubin, dovecot, yubin, dovecot, ... (repeats rounds)."""
    for rep in range(repeats):
        for srv in servers:
            yield rep, srv


def run_pop3(b, servers, res, p):
    for c in p["pop3_clients"]:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.pop3_sessions(srv, c, p["pop3_ms"], "pop", POP3_USERS, POP3_MSGS)
            res.add(f"pop3.c{c}", srv.name, f)
            log(f"pop3 c={c:<2} {srv.name:8} {f['rate']:8.1f} sessions/s  "
                f"cpu {f['cpu_session']:.3f} ms/session  p99 {f['p99'] or 0:.1f} ms")
    for rep, srv in alternate(servers, p["repeats"]):
        f = b.pop3_sessions(srv, 4, p["pop3_ms"], "plain", PLAIN_USERS, POP3_MSGS)
        res.add("pop3plain.c4", srv.name, f)
        log(f"pop3 c=4 {{PLAIN}} {srv.name:8} {f['rate']:8.1f} sessions/s  "
            f"cpu {f['cpu_session']:.3f} ms/session")
    # yubin's verified-password cache skips the hash on repeated logins,
    # Dovecot's does not: the same run with it off hashes at every login.
    yubin = next((s for s in servers if s.name == "yubin"), None)
    if yubin is None:
        return
    yubin.settings["auth.cache_ttl"] = "0"
    yubin.write_config()
    yubin.restart()
    try:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.pop3_sessions(srv, 4, p["pop3_ms"], "pop", POP3_USERS, POP3_MSGS)
            res.add("pop3nocache.c4", srv.name, f)
            log(f"pop3 c=4 no yubin auth cache {srv.name:8} {f['rate']:8.1f} sessions/s  "
                f"cpu {f['cpu_session']:.3f} ms/session")
    finally:
        del yubin.settings["auth.cache_ttl"]
        yubin.write_config()
        yubin.restart()


def run_retr(b, servers, res, p):
    for rep, srv in alternate(servers, p["repeats"]):
        f = b.pop3_retr(srv, "large", LARGE_COUNT, duration_ms=p["retr_ms"])
        res.add("retr256", srv.name, f)
        log(f"RETR 256 KiB {srv.name:8} {f['mbps']:8.1f} MB/s  cpu {f['cpu_mb']:.3f} ms/MB")
    for rep, srv in alternate(servers, p["repeats"]):
        f = b.pop3_retr(srv, "huge", 1, sessions=p["huge_sessions"])
        res.add("retr50", srv.name, f)
        log(f"RETR 50 MB   {srv.name:8} {f['mbps']:8.1f} MB/s  cpu {f['cpu_mb']:.3f} ms/MB")


def run_lmtp(b, servers, res, p):
    for c in p["lmtp_clients"]:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.lmtp(srv, c, p["lmtp_ms"], "lmtp", LMTP_USERS, SEED + rep)
            res.add(f"lmtp.c{c}", srv.name, f)
            log(f"lmtp c={c} {srv.name:8} {f['rate']:8.1f} deliveries/s  "
                f"cpu {f['cpu_delivery']:.3f} ms/delivery  p99 {f['p99'] or 0:.1f} ms")


def run_big(b, servers, res, p, tmp):
    t0 = time.time()
    big = os.path.join(tmp, "gen", "big")
    small = os.path.join(tmp, "gen", "small")
    size = messages.write_maildir(big, SEED, p["big_count"], "big", MAIL_UID, MAIL_GID)
    messages.write_maildir(small, SEED + 1, SMALL_COUNT, "small", MAIL_UID, MAIL_GID)
    log(f"wrote {p['big_count']} messages ({size / 1e6:.0f} MB) in {time.time() - t0:.1f}s")
    res.meta["big_bytes"] = size
    for rep, srv in alternate(servers, p["cold_repeats"]):
        user = f"cold{rep}"
        b.place_maildir(srv, big, user)
        f = b.login_stat(srv, user, 1)
        res.add("big.cold", srv.name, f)
        log(f"cold login+STAT {p['big_count']} {srv.name:8} {f['ms']:9.1f} ms  "
            f"cpu {f['cpu']:.1f} ms")
        shutil.rmtree(srv.maildir(user), ignore_errors=True)
    for srv in servers:
        b.place_maildir(srv, big, "big")
        b.place_maildir(srv, small, "small")
        b.login_stat(srv, "big", 1)  # builds the index (cold)
        b.login_stat(srv, "small", 1)
    for rep, srv in alternate(servers, p["repeats"]):
        for user, key in (("big", "big.warm"), ("small", "small.warm")):
            f = b.login_stat(srv, user, p["warm_sessions"])
            res.add(key, srv.name, f)
            log(f"warm login+STAT {user:5} {srv.name:8} {f['ms']:8.2f} ms  "
                f"cpu {f['cpu']:.2f} ms")
        f = b.login_stat(srv, "big", p["uidl_sessions"], steps="stat,uidl")
        res.add("big.uidl", srv.name, f)
        log(f"warm login+STAT+UIDL big {srv.name:8} {f['ms']:8.2f} ms")


def setup_imap(b, servers, tmp):
    """Mailboxes for the IMAP workloads, hard-linked Maildir copies with
    no index (like the big mailbox), then one session per user so that
    both servers have indexed them before anything is measured."""
    small = os.path.join(tmp, "gen", "imap-small")
    flags = os.path.join(tmp, "gen", "imap-flags")
    messages.write_small_maildir(small, SEED, IMAP_MSGS, "imap", MAIL_UID, MAIL_GID)
    messages.write_maildir(flags, SEED + 2, FLAG_MSGS, "flag", MAIL_UID, MAIL_GID)
    sets = [("imap", IMAP_USERS, small), ("mix", MIXED_USERS, small),
            ("flag", FLAG_USERS, flags), ("app", APPEND_USERS, None)]
    for srv in servers:
        for prefix, count, master in sets:
            for i in range(count):
                if master:
                    b.place_maildir(srv, master, uname(prefix, count, i))
            # the session workload's messages are all \Seen already, so
            # that its BODY[] fetches find the same state every time
            script = ["SELECT INBOX"] + (["STORE 1:* +FLAGS.SILENT (\\Seen)"]
                                         if prefix == "imap" else [])
            script += ["FETCH 1:* (UID FLAGS RFC822.SIZE)"] if master else []
            args = ["-r"]
            for c in script:
                args += ["-x", c]
            b.imapload(srv, "script", prefix, count, 1, count=count, extra=args)
    log("IMAP mailboxes placed and indexed on both servers")


def run_imap(b, servers, res, p):
    for c in p["imap_clients"]:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.imap_sessions(srv, c, p["imap_ms"], "imap", IMAP_USERS, IMAP_MSGS,
                                IMAP_BODIES)
            res.add(f"imap.c{c}", srv.name, f)
            log(f"imap c={c:<2} {srv.name:8} {f['rate']:8.1f} sessions/s  "
                f"cpu {f['cpu_session'] or 0:.3f} ms/session  p99 {f['p99'] or 0:.1f} ms")
    for c in p["store_clients"]:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.imap_ops(srv, "store", c, p["store_ms"], "flag", FLAG_USERS)
            res.add(f"imapstore.c{c}", srv.name, f)
            log(f"imap STORE c={c} {srv.name:8} {f['rate']:8.1f} ops/s  "
                f"cpu {f['cpu_us'] or 0:.1f} µs/op  p99 {f['p99'] or 0:.2f} ms")
    for c in p["append_clients"]:
        for rep, srv in alternate(servers, p["repeats"]):
            f = b.imap_ops(srv, "append", c, p["store_ms"], "app", APPEND_USERS,
                           extra=("-s", APPEND_SIZE))
            res.add(f"imapappend.c{c}", srv.name, f)
            log(f"imap APPEND c={c} {srv.name:8} {f['rate']:8.1f} appends/s  "
                f"cpu {f['cpu_ms'] or 0:.3f} ms/op  p99 {f['p99'] or 0:.2f} ms  "
                f"LITERAL+ {'yes' if f['literal_plus'] else 'no'}")
    for rep, srv in alternate(servers, p["repeats"]):
        f = b.imap_mixed(srv, p["mixed_clients"], p["mixed_ms"], "mix", MIXED_USERS, IMAP_MSGS)
        res.add("imapmixed", srv.name, f)
        log(f"imap mixed c={p['mixed_clients']} {srv.name:8} {f['rate']:8.1f} commands/s  "
            f"{f['sessions']:.1f} sessions/s  errors {f['errors']:.0f}  "
            f"cpu {f['cpu_us'] or 0:.1f} µs/command")


def big_expected(count):
    """What the big-mailbox searches must find (None: compare servers)."""
    rare = sum(1 for i in range(count) if i % messages.RARE_EVERY == messages.RARE_EVERY // 2)
    subject = sum(1 for i in range(count) if str(i).startswith("4242"))
    return {"search_rare": rare, "search_subject": subject, "search_from": count,
            "fetch_flags": count, "fetch_env": count}


def run_imapbig(b, servers, res, p, tmp):
    big = os.path.join(tmp, "gen", "big")
    if not os.path.isdir(big):
        res.meta["big_bytes"] = messages.write_maildir(big, SEED, p["big_count"], "big",
                                                       MAIL_UID, MAIL_GID)
    commands = [c for _, c in BIG_SCRIPT]
    for srv in servers:
        if not os.path.isdir(srv.maildir("big")):
            b.place_maildir(srv, big, "big")
        # Warm: the index, and whatever each server keeps for these
        # commands (Dovecot caches ENVELOPE from its second request on).
        t0 = time.time()
        b.imap_script(srv, "big", commands, 1)
        b.imap_script(srv, "big", commands[:3], 1)
        log(f"imap big mailbox warmed on {srv.name} in {time.time() - t0:.1f}s")
    want = big_expected(p["big_count"])
    for rep, srv in alternate(servers, p["imap_big_sessions"]):
        f = b.imap_script(srv, "big", commands, 1)
        figures = {"cpu_session": f["cpu_session"]}
        for i, (key, cmd) in enumerate(BIG_SCRIPT):
            figures[key] = f[f"c{i}"]
            figures[f"{key}_n"] = f[f"c{i}_count"] if f[f"c{i}"] is not None else None
            if figures[key] is not None and key in want and figures[f"{key}_n"] != want[key]:
                b.problem(srv, f"{cmd} on {p['big_count']:,} messages: "
                               f"{figures[f'{key}_n']:.0f} results, expected {want[key]}")
        res.add("imapbig", srv.name, figures)
        log(f"imap big {srv.name:8} " + "  ".join(
            f"{k} {figures[k]:.1f}" if figures[k] is not None else f"{k} -"
            for k, _ in BIG_SCRIPT) + " ms")
    for key, _ in BIG_SCRIPT:  # both must find the same (common word too)
        got = {s.name: res.median(f"imapbig.{key}_n", s.name) for s in servers}
        if len({v for v in got.values() if v is not None}) > 1:
            b.problems.append(f"{dict(BIG_SCRIPT)[key]}: the servers found different counts "
                              f"{got}")


def run_idle(b, servers, res, p):
    n = p["idle_conns"]
    for variant in p["idle_variants"]:
        proto, tls = variant.rstrip("s"), variant.endswith("s")
        for srv in servers:
            if proto == "imap" and srv.imap_port is None:
                continue
            f = b.idle(srv, proto, tls, n, "idle", settle_s=2.0, hibernate_wait_s=60)
            key = f"idle.{proto}{'s' if tls else ''}"
            res.add(key, srv.name, f)
            log(f"idle {proto}{'s' if tls else ' '} x{n} {srv.name:8} {f['kib']:8.1f} KiB/conn "
                f"(PSS {f['base_kib']} -> {f['pss_kib']} KiB, {f['procs']} processes, "
                f"settled {f['wait_s']:.1f}s)")


def run_disk(b, res, p, tmp):
    d = os.path.join(tmp, "fsync")
    os.makedirs(d)
    for threads, iters in zip((1, 8), p["fsync_iter"]):
        f = b.fsync_loop(d, iters, threads)
        res.meta[f"fsync_t{threads}"] = f.get("ops_per_s", 0)
        log(f"disk: create+write 4 KiB+fsync+rename+fsync(dir), {threads} thread(s): "
            f"{f.get('ops_per_s', 0):.0f} ops/s")


# -- main ---------------------------------------------------------------------
def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite docs/BENCHMARKS.md")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", default="",
                    help="comma list: pop3,retr,disk,lmtp,big,imap,imapbig,idle")
    ap.add_argument("--servers", default="yubin,dovecot",
                    help="comma list: yubin,dovecot (the report shows '-' for the other)")
    ap.add_argument("--render", metavar="JSON",
                    help="only rewrite the report (and docs) from a results .json file")
    return ap.parse_args()


def render(path, update_docs):
    """Rewrite a report from its saved figures (after the report's text
    changed), without running anything."""
    with open(path) as f:
        saved = json.load(f)
    res = Results()
    res.data, res.meta = saved["figures"], saved["meta"]
    paths = report.write(res, saved["problems"], saved["env"], res.meta["mode"], ROOT,
                         update_docs=update_docs and res.meta["mode"] == "full",
                         date=res.meta["started"][:10])
    log("wrote " + ", ".join(os.path.relpath(x, ROOT) for x in paths))


def main():
    args = parse_args()
    if args.render:
        render(args.render, not args.no_docs)
        return
    if os.geteuid() != 0:
        sys.exit("bench/run.py must run as root (the servers switch users)")
    mode = "quick" if args.quick else "full"
    p = PARAMS[mode]
    build = os.path.abspath(args.build_dir)
    yubin_bin = os.path.join(build, "src", "yubin")
    tools = os.path.join(build, "bench")
    only = set(filter(None, args.only.split(",")))
    tmp = tempfile.mkdtemp(prefix="ybench-", dir="/tmp")
    os.chmod(tmp, 0o755)
    servers = []
    old_inotify = None
    res = Results()
    res.meta = {"mode": mode, "params": p, "started": datetime.datetime.now().isoformat()}

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(tools, PASSWORD, log)
    try:
        tls = make_tls(tmp)
        users = make_users(yubin_bin, p)
        # Dovecot's IDLE watches each mailbox with inotify: 128 instances
        # per user (the default) stop hibernation at 128 connections.
        old_inotify = set_inotify(max(8192, 4 * p["idle_conns"]))
        servers = [Yubin(tmp, tls, yubin_bin, users), Dovecot(tmp, tls, users)]
        servers = [s for s in servers if s.name in args.servers.split(",")]
        for srv in servers:
            srv.start()
            log(f"{srv.name} started: pop3 {srv.pop3_port}, lmtp {srv.lmtp_port}, "
                f"CPU measured by {srv.group.method}")
        if not only or only & {"pop3", "retr"}:
            deliver_all(servers)
            log("messages delivered to both servers")
        # the disk's limit is measured right before the LMTP workload
        steps = [("pop3", lambda: run_pop3(b, servers, res, p)),
                 ("retr", lambda: run_retr(b, servers, res, p)),
                 ("disk", lambda: run_disk(b, res, p, tmp)),
                 ("lmtp", lambda: run_lmtp(b, servers, res, p)),
                 ("big", lambda: run_big(b, servers, res, p, tmp)),
                 ("imap", lambda: (setup_imap(b, servers, tmp), run_imap(b, servers, res, p))),
                 ("imapbig", lambda: run_imapbig(b, servers, res, p, tmp)),
                 ("idle", lambda: run_idle(b, servers, res, p))]
        res.meta["load_before"] = os.getloadavg()
        for name, step in steps:
            if not only or name in only:
                t0 = time.time()
                try:
                    step()
                except (OSError, RuntimeError, subprocess.SubprocessError) as e:
                    # keep going: the other workloads still mean something
                    b.problems.append(f"workload {name} stopped early: {e!r}")
                    log(f"PROBLEM workload {name} stopped early: {e!r}")
                    for srv in servers:
                        if not srv.alive():
                            srv.restart()
                res.meta[f"time_{name}"] = time.time() - t0
        res.meta["load_after"] = os.getloadavg()
        for srv in servers:
            srv.stop()
            b.scan_log(srv)
            bad = [rc for rc in srv.exit_codes if rc != 0]
            if bad:
                b.problem(srv, f"exit status {bad} when stopped with SIGTERM")
        res.meta["cpu_check"] = b.cpu_check
        res.meta["elapsed"] = time.time() - START
        env = report.environment(servers, dovecot_version(), yubin_bin, p, mode)
        paths = report.write(res, b.problems, env, mode, ROOT, update_docs=not args.no_docs)
        log("wrote " + ", ".join(os.path.relpath(x, ROOT) for x in paths))
    finally:
        for srv in servers:
            try:
                srv.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {srv.name}: {e}")
        if old_inotify is not None:
            set_inotify(old_inotify)
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if b.problems:
        log(f"{len(b.problems)} problem(s) seen: see the report")
    log(f"done in {time.time() - START:.0f}s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as e:
        log(f"interrupted ({e or 'Ctrl-C'}); both servers were stopped")
        sys.exit(130)
