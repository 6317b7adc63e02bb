"""The results: a Markdown table (both servers and the ratio yubin/Dovecot
for every figure), a PNG chart drawn by gnuplot, the method, and
docs/BENCHMARKS.md, which is regenerated from them on a full run.
"""
import datetime
import json
import math
import os
import platform
import shutil
import subprocess

# (key, label, unit, better, goal). better: "high" or "low" is better.
# goal: (op, value) on the ratio yubin/Dovecot (">=", "<=", "<"), on
# yubin's own figure ("abs<=", "abs<", "abs=="), or None.
HIGH, LOW = "high", "low"


def rows(p):
    out = []
    n_big = f"{p['big_count']:,}"
    out.append(("1. POP3 sessions: USER/PASS, STAT, UIDL, RETR of 20 messages of ~4 KiB "
                "(some lines start with '.'), QUIT", None))
    for c in p["pop3_clients"]:
        k = f"pop3.c{c}"
        out += [(f"{k}.rate", f"{c} client(s): sessions/s", "1/s", HIGH, (">=", 2)),
                (f"{k}.p50", f"{c} client(s): latency p50", "ms", LOW, None),
                (f"{k}.p99", f"{c} client(s): latency p99", "ms", LOW, None),
                (f"{k}.cpu_session", f"{c} client(s): server CPU per session", "ms", LOW,
                 ("<=", 1 / 3))]
    out += [("pop3nocache.c4.rate", "4 clients, yubin's auth cache off (both hash at every "
             "login): sessions/s", "1/s", HIGH, None),
            ("pop3nocache.c4.cpu_session", "4 clients, yubin's auth cache off: server CPU per "
             "session", "ms", LOW, None),
            ("pop3plain.c4.rate", "4 clients, {PLAIN} passwords (no hash cost): sessions/s",
             "1/s", HIGH, None),
            ("pop3plain.c4.cpu_session", "4 clients, {PLAIN} passwords: server CPU per session",
             "ms", LOW, None)]
    out.append(("2. POP3 large RETR, 1 client", None))
    out += [("retr256.mbps", "16 messages of 256 KiB: throughput", "MB/s", HIGH, (">=", 2)),
            ("retr256.cpu_mb", "16 messages of 256 KiB: server CPU per MB", "ms", LOW, None),
            ("retr50.mbps", "1 message of 50 MB: throughput", "MB/s", HIGH, (">=", 2)),
            ("retr50.cpu_mb", "1 message of 50 MB: server CPU per MB", "ms", LOW, None)]
    out.append(("3. LMTP delivery: 4 KiB messages to random users (of 50), pipelined, "
                "fsync on both", None))
    for c in p["lmtp_clients"]:
        k = f"lmtp.c{c}"
        out += [(f"{k}.rate", f"{c} client(s): deliveries/s", "1/s", HIGH, (">=", 1.5)),
                (f"{k}.p99", f"{c} client(s): latency p99", "ms", LOW, None),
                (f"{k}.cpu_delivery", f"{c} client(s): server CPU per delivery", "ms", LOW,
                 ("<=", 0.5))]
    out.append((f"4. Big mailbox: {n_big} messages of varied sizes (Maildir files, "
                "no index at first)", None))
    out += [("big.cold.ms", f"cold: login+STAT, {n_big} messages, no index", "ms", LOW,
             ("<=", 1)),
            ("big.cold.cpu", "cold: server CPU for that session", "ms", LOW, None),
            ("big.warm.ms", f"warm: login+STAT, {n_big} messages", "ms", LOW, ("<=", 0.1)),
            ("big.warm.cpu", f"warm: server CPU per login+STAT, {n_big} messages", "ms", LOW,
             None),
            ("small.warm.ms", "warm: login+STAT, 100 messages", "ms", LOW, None),
            ("big.scale", f"warm login+STAT: {n_big} messages / 100 messages", "x", LOW,
             ("abs<=", 2)),
            ("big.uidl.ms", f"warm: login+STAT+UIDL, {n_big} messages", "ms", LOW, None)]
    n_idle = f"{p['idle_conns']:,}"
    out.append((f"5. Idle connections: {n_idle} logged in and idle; PSS of all server "
                "processes per connection", None))
    out += [("idle.pop3.kib", "POP3", "KiB", LOW, ("abs<", 11)),
            ("idle.pop3s.kib", "POP3 over TLS (pop3s)", "KiB", LOW, None),
            ("idle.imap.kib", "IMAP: INBOX selected, in IDLE (Dovecot: hibernated)", "KiB", LOW,
             ("<", 1)),
            ("idle.imaps.kib", "IMAP over TLS (imaps), in IDLE (Dovecot: hibernated)", "KiB",
             LOW, ("<", 1)),
            ("idle.best.kib", "yubin POP3 vs Dovecot's best (plain)", "KiB", LOW, None),
            ("idle.bests.kib", "yubin POP3 vs Dovecot's best (TLS)", "KiB", LOW, None)]
    out.append(("6. CPU time per message (user+sys of all server processes)", None))
    for c in p["pop3_clients"]:
        out.append((f"pop3.c{c}.cpu_msg", f"per retrieved message, POP3 {c} client(s) "
                    "(session cost / 20)", "µs", LOW, None))
    for c in p["lmtp_clients"]:
        out.append((f"lmtp.c{c}.cpu_delivery", f"per delivered message, LMTP {c} client(s)",
                    "ms", LOW, None))
    out.append(("retr50.cpu_mb", "per MB retrieved (50 MB message)", "ms", LOW, None))
    return out + imap_rows(p)


def imap_rows(p):
    out = [("7. IMAP sessions: LOGIN, SELECT INBOX, FETCH 1:* (FLAGS UID RFC822.SIZE), "
            "FETCH n BODY[] of 3 random messages (of 20, ~4 KiB), LOGOUT", None)]
    for c in p.get("imap_clients", ()):
        k = f"imap.c{c}"
        out += [(f"{k}.rate", f"{c} client(s): sessions/s", "1/s", HIGH, None),
                (f"{k}.p50", f"{c} client(s): latency p50", "ms", LOW, None),
                (f"{k}.p99", f"{c} client(s): latency p99", "ms", LOW, None),
                (f"{k}.cpu_session", f"{c} client(s): server CPU per session", "ms", LOW, None)]
    out.append(("8. IMAP flag updates and APPEND (one session per client)", None))
    for c in p.get("store_clients", ()):
        k = f"imapstore.c{c}"
        out += [(f"{k}.rate", f"UID STORE ±FLAGS (\\Seen, \\Flagged, $Bench) on random "
                 f"messages of 1,000, {c} client(s): ops/s", "1/s", HIGH, None),
                (f"{k}.p99", f"UID STORE, {c} client(s): latency p99", "ms", LOW, None),
                (f"{k}.cpu_us", f"UID STORE, {c} client(s): server CPU per STORE", "µs", LOW,
                 None)]
    for c in p.get("append_clients", ()):
        k = f"imapappend.c{c}"
        out += [(f"{k}.rate", f"APPEND of 4 KiB, {c} client(s): appends/s", "1/s", HIGH, None),
                (f"{k}.p99", f"APPEND, {c} client(s): latency p99", "ms", LOW, None),
                (f"{k}.cpu_ms", f"APPEND, {c} client(s): server CPU per APPEND", "ms", LOW,
                 None)]
    n = p.get("mixed_clients", 0)
    out.append((f"9. IMAP mixed stress: {n} clients, each looping LOGIN, SELECT, FETCH 1:* "
                "(UID FLAGS), UID FETCH BODY.PEEK[], UID STORE, STORE \\Deleted + EXPUNGE, "
                f"APPEND, LOGOUT for {p.get('mixed_ms', 0) / 1000:g} s", None))
    out += [("imapmixed.rate", "commands/s", "1/s", HIGH, (">=", 1.5)),
            ("imapmixed.sessions", "sessions/s", "1/s", HIGH, None),
            ("imapmixed.errors", "protocol errors (NO, BAD, unparsable or missing data)", "",
             LOW, ("abs==", 0)),
            ("imapmixed.cpu_us", "server CPU per command", "µs", LOW, None)]
    n_big = f"{p['big_count']:,}"
    out.append((f"10. IMAP on the big mailbox ({n_big} messages), warm, 1 client; Dovecot "
                "without an FTS plugin", None))
    out += [("imapbig.select", "SELECT INBOX", "ms", LOW, ("<=", 0.2)),
            ("imapbig.fetch_flags", "FETCH 1:* (UID FLAGS)", "ms", LOW, ("<", 1)),
            ("imapbig.fetch_env", "FETCH 1:* (ENVELOPE)", "ms", LOW, ("<", 1)),
            ("imapbig.search_rare", "SEARCH BODY <a word in 1 message of 9,973>", "ms", LOW,
             ("<=", 0.1)),
            ("imapbig.search_common", "SEARCH BODY <a word in most messages>", "ms", LOW, None),
            ("imapbig.search_subject", 'SEARCH SUBJECT "message 4242"', "ms", LOW, None),
            ("imapbig.search_from", 'SEARCH FROM "sender" (matches all)', "ms", LOW, None)]
    return out


def derive(res):
    """Figures computed from others: scale of warm STAT, idle vs best."""
    for srv in ("yubin", "dovecot"):
        big, small = res.median("big.warm.ms", srv), res.median("small.warm.ms", srv)
        if big is not None and small:
            res.data.setdefault("big.scale", {})[srv] = [big / small]
    y = {k: res.median(f"idle.{k}.kib", "yubin") for k in ("pop3", "pop3s")}
    d = {k: res.median(f"idle.{k}.kib", "dovecot") for k in ("pop3", "pop3s", "imap", "imaps")}
    for key, mine, theirs in (("idle.best.kib", y["pop3"], (d["pop3"], d["imap"])),
                              ("idle.bests.kib", y["pop3s"], (d["pop3s"], d["imaps"]))):
        theirs = [t for t in theirs if t is not None]
        if mine is not None and theirs:
            res.data[key] = {"yubin": [mine], "dovecot": [min(theirs)]}


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def goal_text(goal):
    if goal is None:
        return ""
    op, v = goal
    shown = "1/3" if abs(v - 1 / 3) < 1e-9 else f"{v:g}"
    if op == "abs<=":
        return f"yubin ≤ {shown}"
    if op == "abs<":
        return f"yubin < {shown}"
    if op == "abs==":
        return f"yubin = {shown}"
    return f"ratio {op.replace('>=', '≥').replace('<=', '≤')} {shown}"


def goal_met(goal, y, d):
    if goal is None or y is None:
        return ""
    op, v = goal
    if op == "abs<=":
        ok = y <= v
    elif op == "abs<":
        ok = y < v
    elif op == "abs==":
        ok = y == v
    elif not d:
        return ""
    else:
        r = y / d
        ok = r >= v if op == ">=" else r < v if op == "<" else r <= v
    return "✓" if ok else "✗"


def table(res, p):
    lines = ["| figure | unit | yubin | Dovecot | yubin/Dovecot | goal | met |",
             "|---|---|---:|---:|---:|---|:-:|"]
    section = None
    for row in rows(p):
        if row[1] is None:
            section = f"| **{row[0]}** | | | | | | |"
            continue
        key, label, unit, better, goal = row
        y, d = res.median(key, "yubin"), res.median(key, "dovecot")
        if y is None and d is None:
            continue
        if section:
            lines.append(section)
            section = None
        ratio = f"{y / d:.3g}" if y is not None and d else "-"
        lines.append(f"| {label} | {unit} | {fmt(y)} | {fmt(d)} | {ratio} | {goal_text(goal)} "
                     f"| {goal_met(goal, y, d)} |")
    return "\n".join(lines)


# -- chart --------------------------------------------------------------------
CHART_ROWS = [
    ("pop3.c1.rate", "POP3 1c sessions/s"), ("pop3.c4.rate", "POP3 4c sessions/s"),
    ("pop3.c16.rate", "POP3 16c sessions/s"), ("pop3.c4.cpu_session", "POP3 CPU/session"),
    ("retr256.mbps", "RETR 256K MB/s"), ("retr50.mbps", "RETR 50M MB/s"),
    ("lmtp.c1.rate", "LMTP 1c deliv/s"), ("lmtp.c8.rate", "LMTP 8c deliv/s"),
    ("lmtp.c8.cpu_delivery", "LMTP CPU/delivery"), ("big.cold.ms", "cold STAT"),
    ("big.warm.ms", "warm STAT"), ("idle.best.kib", "idle KiB/conn"),
    ("idle.bests.kib", "idle TLS KiB/conn"), ("imap.c4.rate", "IMAP 4c sessions/s"),
    ("imapmixed.rate", "IMAP mixed cmds/s"), ("imapbig.select", "IMAP big SELECT"),
    ("imapbig.fetch_env", "FETCH 1:* ENVELOPE"), ("imapbig.search_rare", "SEARCH BODY"),
    ("idle.imap.kib", "idle IMAP KiB/conn"),
]


def chart(res, p, path):
    """Bars: how many times better yubin is (higher is better for yubin,
    whatever the unit), log scale, with the goal as a marker."""
    goals = {}
    for r in rows(p):
        if r[1] is not None:
            goals.setdefault(r[0], r)  # the first row of a key carries its goal
    data, values = [], []
    for key, label in CHART_ROWS:
        y, d = res.median(key, "yubin"), res.median(key, "dovecot")
        if not y or not d:
            continue
        better, goal = goals[key][3], goals[key][4]
        adv = y / d if better == HIGH else d / y
        g = "NaN"
        values.append(adv)
        if goal and goal[0] in (">=", "<=", "<"):
            g = goal[1] if better == HIGH else 1 / goal[1]
            values.append(g)
        shown = f"{adv:.0f}" if adv >= 10 else f"{adv:.2g}"
        data.append(f'"{label}: {shown}x" {adv:.4f} {g}')
    if not data or not shutil.which("gnuplot"):
        return None
    lo = 2.0 ** math.floor(math.log2(min(values + [1]) / 1.3))
    hi = 2.0 ** math.ceil(math.log2(max(values + [1]) * 1.3))
    dat = path + ".dat"
    with open(dat, "w") as f:
        f.write("\n".join(data) + "\n")
    script = f"""
set terminal pngcairo size 900,520 font "DejaVu Sans,9"
set output "{path}"
set title "How many times better yubin is than Dovecot 2.3 (bars; above 1 = yubin better) and the goals (diamonds)"
set logscale y 2
set yrange [{lo}:{hi}]
set format y "%g"
set grid ytics lc rgb "#dddddd"
set style fill solid 0.85 noborder
set xtics rotate by 35 right nomirror
set xrange [-0.6:{len(data) - 0.4}]
set lmargin 16
set bmargin 10
set rmargin 4
set key off
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "#444444" dt 2
plot "{dat}" using 0:2:($0-0.32):($0+0.32):(1):2:($2>=1?0x2f6db5:0xc8553d):xtic(1) \\
         with boxxyerror lc rgb variable, \\
     "" using 0:3 with points pt 13 ps 1.6 lc rgb "#333333"
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(dat)
    return path


# -- method -------------------------------------------------------------------
def _first(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def environment(servers, dovecot_ver, yubin_bin, p, mode):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.dirname(root)
    commit = _first(["git", "-C", root, "describe", "--always", "--dirty"])
    debian = open("/etc/debian_version").read().strip() if os.path.exists(
        "/etc/debian_version") else "?"
    fs = " ".join(_first(["findmnt", "-no", "FSTYPE,SOURCE", "-T", "/tmp"]).split())
    return {
        "machine": f"{model}, {os.cpu_count()} cores, {mem_kb // 1024 // 1024} GiB RAM; "
                   f"Linux {platform.release()}, Debian {debian}; /tmp on {fs}",
        "yubin": f"{_first([yubin_bin, '--version'])} (git {commit}), built with meson "
                 "buildtype debugoptimized (-O2 -g)",
        "dovecot": f"Dovecot {dovecot_ver} (Debian package)",
        "openssl": _first(["openssl", "version"]),
        "configs": {s.name: s.settings_text() for s in servers},
        "cpu_method": servers[0].group.method if servers and servers[0].group else "?",
        "mode": mode,
    }


def cpu_check_text(res):
    rows_ = [(s, c, t) for s, c, t in res.meta.get("cpu_check", []) if c > 100_000_000]
    if not rows_:
        return ""
    diffs = sorted(abs(t - c) / c for _, c, t in rows_)
    median = diffs[len(diffs) // 2]
    return (f"Cross-check: for the {len(rows_)} runs that used more than 100 ms of server CPU, "
            f"the process-tree sum (utime+stime+cutime+cstime from /proc, in 10 ms ticks per "
            f"process) differs from the cgroup figure by {median * 100:.1f}% (median) and "
            f"{diffs[-1] * 100:.0f}% at most.")


def method_text(res, env, p):
    m = res.meta
    big_mb = m.get("big_bytes", 0) / 1e6
    lines = [
        f"- **Machine**: {env['machine']}. The load generators (C, bench/*.c, one thread "
        "per client) run on the same 2 cores as the server, so throughput is shared with "
        "the client; the server CPU time per operation is the steadier comparison.",
        f"- **Software**: {env['yubin']}; {env['dovecot']}; {env['openssl']}.",
        f"- **Run**: `make bench{'-quick' if env['mode'] == 'quick' else ''}`, "
        f"{p['repeats']} repeat(s) of every figure, servers alternating (yubin, Dovecot, "
        "yubin, ...); the table shows medians. Both servers run all the time, each in its "
        "own cpuacct cgroup; only one is under load at a time.",
        f"- **Server CPU**: {env['cpu_method']}: user+system time of every process of the "
        "server, including processes that exited during the run (Dovecot's login, pop3 "
        "and lmtp processes). " + cpu_check_text(res),
        "- **Memory**: PSS from /proc/PID/smaps_rollup summed over the server's processes "
        "(shared pages split between them), measured after a fresh start before the first "
        "connection and again with all connections logged in and idle; the table shows "
        "the difference per connection.",
        "- **Passwords**: every user has the same SHA512-CRYPT hash (5000 rounds, made by "
        "`yubin pw -s SHA512-CRYPT`) in both servers' passwd-files; both verify it with "
        "libxcrypt (about 1.5-2 ms of CPU here). Logins are USER/PASS (Dovecot's login "
        "process turns them into SASL PLAIN).",
        "- **Authentication caches**: on in both, with their own semantics. Dovecot's "
        "(`auth_cache_size`) keeps the passdb entry and verifies the password against the "
        "cached hash at every login, so every login pays SHA512-CRYPT; yubin's "
        "(`auth.cache_ttl`, default 1h) remembers a verified password (an HMAC of it) per "
        "worker, so a repeated login of the same user skips the hash. The bench's POP3 "
        "clients log in as the same 16 users again and again (like mail clients that "
        "poll), so this favours yubin; the row with yubin's cache off (a hash at every "
        "login on both sides) and the {PLAIN} row (no hash on either side) show the "
        "difference without it.",
        "- **Messages**: generated once from a fixed seed (bench/benchlib/messages.py) and "
        "delivered over LMTP to both servers before the POP3 workloads (each stores them its "
        "own way: Dovecot with LF line ends, yubin as received, CRLF). The big mailbox is "
        f"written as files ({p['big_count']:,} messages, {big_mb:.0f} MB, log-normal "
        "sizes, median 3 KB) and hard-linked into each server's Maildir with no index; the "
        "page cache is warm (no cache drop on a shared machine), so *cold* means "
        "*no index*. Warm figures are medians of "
        f"{p['warm_sessions']} sessions after the index exists.",
        "- **LMTP**: fsync on both (yubin always: message file, rename into new/, "
        "directory; Dovecot `mail_fsync = always` for LMTP, its default `optimized` "
        "elsewhere). Dovecot's LMTP also updates the mailbox index and dovecot-uidlist at "
        "delivery; yubin's index catches up at the next login. "
        f"The disk's own limit for create+write 4 KiB+fsync+rename+fsync(dir) is "
        f"{m.get('fsync_t1', 0):.0f} ops/s with 1 thread and {m.get('fsync_t8', 0):.0f} "
        "ops/s with 8 threads (bench/fsyncloop.c, measured just before the LMTP runs; a "
        "shared virtual disk varies from minute to minute).",
    ]
    imap = [
        "- **IMAP**: `bench/imapload.c` tags every command and reads every response up "
        "to its tagged reply, following literals; a NO, a BAD, an unparsable response or "
        "wrong data (a FETCH 1:* that misses a message, a BODY[] literal that differs from "
        "RFC822.SIZE, an EXPUNGE that removes nothing) counts as an error and is reported "
        "with its command. The mailboxes are hard-linked copies of Maildirs written as "
        f"files (20 messages of ~4 KiB for the sessions and the mixed stress, "
        f"{p.get('flag_msgs', 1000):,} of varied sizes for STORE; APPEND starts empty) and "
        "each is indexed by one session on both servers before anything is measured; the "
        "session workload's messages are \\Seen already, so its BODY[] fetches find the "
        "same state every time. APPEND sends 4 KiB messages with a LITERAL+ literal "
        "(RFC 7888; both servers offer it). yubin syncs an appended message to disk "
        "before its OK (file, rename, directory); Dovecot keeps its default "
        "`mail_fsync = optimized` for IMAP, which fsyncs every saved message file and its "
        "index updates but not the directory. The mixed stress gives each client its own "
        "user, so that nothing but the server can make a command fail; its mailboxes stay "
        "at about 20 messages (one APPEND and one EXPUNGE per session).",
        "- **Big mailbox over IMAP**: the same mailbox as workload 4, after two warm-up "
        "sessions on each server (the first builds what each keeps for these commands, "
        "the second lets Dovecot's cache take ENVELOPE, which it caches from the second "
        "request on); then each command is timed by the client from sending it to its "
        "tagged reply, in a new session each time (median of "
        f"{p.get('imap_big_sessions', 0)}). The rare word is in one message of 9,973 and "
        "nowhere else; Dovecot has no FTS plugin, so it reads every message. yubin asks its "
        "full-text index which messages may contain the string (substrings too, as the RFC "
        "asks: pieces of words are looked up in the index's vocabulary) and reads only "
        "those. Both servers must find the same number of messages for every SEARCH. "
        "yubin's SELECT maps the folder's saved view (`yubin-view`, written by the "
        "warm-up) and reads only what changed since.",
    ]
    if any(k.startswith("imap") for k in res.data):
        lines += imap
    lines += [
        "- **Idle**: Dovecot has no POP3 hibernation, so its best idle figure is an IMAP "
        "session in IDLE moved to the imap-hibernate process "
        "(`imap_hibernate_timeout = 2s`; the then idle imap processes are stopped after "
        "`idle_kill = 5 secs` and the measurement waits for that). yubin's IMAP "
        "connections are measured the same way: LOGIN, SELECT INBOX, IDLE, and all of "
        "them must answer DONE at the end. `fs.inotify.max_user_instances` is raised for "
        "the run (Dovecot needs one per IDLE session) and restored after.",
    ]
    load = [m.get("load_before"), m.get("load_after")]
    if all(load):
        lines.append(f"- **Machine load**: 1-minute load average {load[0][0]:.2f} before the "
                     f"workloads and {load[1][0]:.2f} after (other jobs may share the "
                     "machine: compare CPU per operation rather than rates when it is high).")
    times = ", ".join(f"{k[5:]} {v:.0f}s" for k, v in m.items() if k.startswith("time_"))
    lines.append(f"- **Duration**: {m.get('elapsed', 0):.0f}s in all ({times}).")
    return "\n".join(lines)


def configs_text(env):
    out = []
    for name, text in env["configs"].items():
        title = "yubin configuration" if name == "yubin" else \
            "Dovecot configuration (`doveconf -n` of the generated file)"
        out.append(f"<details><summary>{title}</summary>\n\n```\n{text.strip()}\n```\n"
                   "</details>")
    return "\n\n".join(out)


def problems_text(problems):
    if not problems:
        return "None: every session, delivery and idle connection succeeded, no server " \
               "crashed, and the servers' logs have no error lines."
    return "\n".join(f"- {p.strip()}".replace("\n", "\n  ") for p in problems)


def write(res, problems, env, mode, root, update_docs, date=None):
    p = res.meta["params"]
    derive(res)
    date = date or datetime.date.today().isoformat()
    name = date if mode == "full" else f"{date}-quick"
    outdir = os.path.join(root, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    png = chart(res, p, os.path.join(outdir, f"{name}.png"))
    body = (f"# yubin vs Dovecot, {date} ({mode} run)\n\n"
            f"{table(res, p)}\n\n"
            + (f"![yubin vs Dovecot]({name}.png)\n\n" if png else "")
            + f"## Problems seen\n\n{problems_text(problems)}\n\n"
            f"## Method\n\n{method_text(res, env, p)}\n\n{configs_text(env)}\n")
    md = os.path.join(outdir, f"{name}.md")
    with open(md, "w") as f:
        f.write(body)
    raw = os.path.join(outdir, f"{name}.json")
    with open(raw, "w") as f:  # every repeat's figures, for a closer look
        json.dump({"meta": res.meta, "figures": res.data, "problems": problems, "env": env},
                  f, indent=1, default=str)
    paths = [md, raw] + ([png] if png else [])
    if update_docs:
        docs = os.path.join(root, "docs", "BENCHMARKS.md")
        with open(docs, "w") as f:
            f.write(docs_text(res, p, env, name, png is not None, problems))
        paths.append(docs)
    return paths


DOCS_HEAD = """\
# Benchmarks: yubin and Dovecot side by side

*This file is rewritten by `make bench` (bench/benchlib/report.py); edit
that file, not this one.*

`make bench` compares yubin with Dovecot 2.3 (Debian's package) on the same
machine, with the same users, password hashes and messages, and writes
`bench/results/<date>.md` with a chart. `make bench-quick` is a smaller
version (one repeat, smaller counts) that runs in under two minutes. Both
need root and install what is missing (`dovecot-core`, `-pop3d`, `-imapd`,
`-lmtpd`, `gnuplot-nox`).

## How it works

- **Load generators** in C (`bench/pop3load.c`, `lmtpload.c`, `imapload.c`,
  `idleconn.c`, `fsyncloop.c`, built by meson with the server) so that the
  client costs less than the server it measures; each prints one
  `key=value` line.
- **The driver** (`bench/run.py`, Python standard library) creates a
  temporary directory with a TLS certificate, one passwd-file for both
  servers, a private yubin (`workers = 2`) and a private Dovecot (`dovecot
  -F -c`, its own `base_dir`, `state_dir` and log), both on 127.0.0.1 and
  free ports, mail stored as the `mail` user in Maildir. It delivers the
  same messages to both, runs every workload against both in turn
  (yubin, Dovecot, yubin, ...), takes medians, and stops both servers by
  their PIDs at the end, also on errors.
- **Dovecot at its best**, as its documentation advises for performance:
  login processes in high-performance mode (`service_count = 0`,
  `process_min_avail` = cores), mail processes reused (`service_count =
  1000`, safe with a single mail UID), the authentication cache on,
  `pop3_no_flag_updates = yes`, and hibernation of idle IMAP sessions. The exact settings are in each
  results file.
- **Server CPU per operation** is reported beside every throughput figure:
  on a 2-core machine the load generator competes with the server, and
  the CPU time (user+system of the whole process tree, from a cgroup) is
  the more robust comparison.

## Workloads

1. POP3 sessions with 1, 4 and 16 concurrent clients: USER/PASS, STAT,
   UIDL, RETR of all 20 messages (~4 KiB, some lines starting with '.'),
   QUIT. The client checks that the retrieved octets add up to STAT.
2. POP3 large RETR: 16 messages of 256 KiB, and one of 50 MB (MIME with a
   base64 attachment).
3. LMTP delivery with 1 and 8 clients: 4 KiB messages to random users,
   pipelined, fsync on both servers; the disk's own fsync limit is measured
   beside it.
4. Big mailbox: one user with 100,000 messages of varied sizes; the first
   login+STAT with no index (cold) and later logins (warm), against a
   mailbox of 100 messages.
5. Idle connections: 1,000 logged-in idle connections; memory (PSS) of all
   server processes per connection, plain and TLS: POP3, and IMAP with
   INBOX selected in IDLE (Dovecot's IMAP hibernation is its best case).
6. CPU time per delivered or retrieved message.
7. IMAP sessions with 1, 4 and 16 clients: LOGIN, SELECT INBOX, FETCH 1:*
   (FLAGS UID RFC822.SIZE), FETCH of 3 random BODY[] (checked against
   RFC822.SIZE), LOGOUT.
8. IMAP flag updates (UID STORE +FLAGS/-FLAGS of \\Seen, \\Flagged and a
   keyword on random messages) and APPEND of 4 KiB messages (LITERAL+),
   1 and 4 clients.
9. IMAP mixed stress: 50 clients, each looping LOGIN, SELECT, FETCH, STORE,
   EXPUNGE, APPEND, LOGOUT for 10 s; commands/s and protocol errors.
10. IMAP on the big mailbox: warm SELECT, FETCH 1:* (UID FLAGS), FETCH 1:*
   (ENVELOPE), SEARCH BODY of a rare and a common word, SEARCH SUBJECT and
   FROM.

`make bench-quick` runs a small IMAP slice: 7 with 4 clients, 9 with 10
clients for 2 s, 10 on 10,000 messages, and IMAP idle without TLS.

"""


def docs_text(res, p, env, name, has_png, problems):
    date = res.meta["started"][:10]
    out = [DOCS_HEAD, f"## Latest results ({date}, {env['mode']} run)\n\n"]
    if has_png:
        out.append(f"![yubin vs Dovecot](../bench/results/{name}.png)\n\n")
    out.append(table(res, p) + "\n\n")
    out.append(f"Full report with the configurations: "
               f"[bench/results/{name}.md](../bench/results/{name}.md).\n\n")
    out.append(f"### Problems seen\n\n{problems_text(problems)}\n\n")
    out.append(f"### Method\n\n{method_text(res, env, p)}\n")
    return "".join(out)
