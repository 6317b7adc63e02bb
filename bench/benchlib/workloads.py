"""The workloads: each runs one load generator against one server and
returns its figures, with the server's CPU time measured around the run.

Every workload is bounded (a count or a duration) and checks what it got
(the load generators count wrong replies as failures). Failures, server
crashes and error lines in the servers' logs are collected in
Bench.problems for the report.
"""
import os
import select
import shutil
import subprocess
import time

from .procs import CpuMeter
from .servers import MAIL_GID, MAIL_UID


def parse_kv(line):
    out = {}
    for tok in line.split():
        key, sep, value = tok.partition("=")
        if sep:
            try:
                out[key] = float(value)
            except ValueError:
                out[key] = value
    return out


class Bench:
    def __init__(self, tools_dir, password, log):
        self.tools = tools_dir
        self.password = password
        self.log = log
        self.problems = []
        self.cpu_check = []  # (server, cgroup ns, process-tree ns) per run

    def problem(self, server, what):
        text = f"{server.name}: {what}"
        if text not in self.problems:
            self.problems.append(text)
        self.log(f"PROBLEM {text}")

    def tool(self, name, *args):
        return [os.path.join(self.tools, name)] + [str(a) for a in args]

    def run(self, server, cmd, timeout=600):
        """Run a load generator; (figures, cpu_ns of the server)."""
        with CpuMeter(server.group) as m:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        self.cpu_check.append((server.name, m.cpu_ns, m.tree_ns))
        lines = res.stdout.strip().splitlines()
        figures = parse_kv(lines[-1]) if lines else {}
        if res.returncode != 0 or not figures:
            self.problem(server, f"{os.path.basename(cmd[0])} {' '.join(cmd[1:])}: "
                                 f"exit {res.returncode}: {res.stderr.strip()[:600]}")
        if not server.alive():
            self.problem(server, f"server died during {os.path.basename(cmd[0])}; log tail:\n"
                                 f"{server.log_tail()}")
            server.restart()
        return figures, m.cpu_ns

    # -- 1. POP3 sessions ---------------------------------------------------
    def pop3_sessions(self, srv, clients, duration_ms, users, nusers, msgs, password=None):
        f, cpu = self.run(srv, self.tool(
            "pop3load", "-p", srv.pop3_port, "-u", users, "-U", nusers,
            "-w", password or self.password,
            "-c", clients, "-d", duration_ms, "-s", "stat,uidl,retr", "-e", msgs))
        n = f.get("sessions", 0) or 1
        return {"rate": f.get("sessions_per_s", 0), "p50": f.get("p50_ms", 0),
                "p99": f.get("p99_ms", 0), "cpu_session": cpu / n / 1e6,
                "cpu_msg": cpu / max(1, f.get("msgs", 0)) / 1e3}

    # -- 2. large RETR ------------------------------------------------------
    def pop3_retr(self, srv, user, msgs, duration_ms=0, sessions=0):
        bound = ["-d", duration_ms] if duration_ms else ["-n", sessions]
        f, cpu = self.run(srv, self.tool(
            "pop3load", "-p", srv.pop3_port, "-u", user, "-w", self.password, "-c", 1,
            *bound, "-s", "stat,retr", "-e", msgs))
        mb = f.get("bytes", 0) / 1e6 or 1
        return {"mbps": f.get("mb_per_s", 0), "cpu_mb": cpu / mb / 1e6}

    # -- 3. LMTP ------------------------------------------------------------
    def lmtp(self, srv, clients, duration_ms, users, nusers, seed):
        f, cpu = self.run(srv, self.tool(
            "lmtpload", "-p", srv.lmtp_port, "-u", users, "-U", nusers, "-c", clients,
            "-d", duration_ms, "-s", 4096, "-S", seed))
        n = f.get("deliveries", 0) or 1
        return {"rate": f.get("deliveries_per_s", 0), "p99": f.get("p99_ms", 0),
                "cpu_delivery": cpu / n / 1e6}

    # -- 4. big mailbox -----------------------------------------------------
    def login_stat(self, srv, user, sessions, steps="stat"):
        f, cpu = self.run(srv, self.tool(
            "pop3load", "-p", srv.pop3_port, "-u", user, "-w", self.password, "-c", 1,
            "-n", sessions, "-s", steps, "-t", 600), timeout=1200)
        return {"ms": f.get("work_p50_ms", 0), "cpu": cpu / max(1, f.get("sessions", 0)) / 1e6}

    def place_maildir(self, srv, master, user):
        """A hard-linked copy of the master Maildir as user's, no index."""
        dest = srv.maildir(user)
        if hasattr(srv, "prepare_home"):
            srv.prepare_home(user)
        shutil.rmtree(dest, ignore_errors=True)
        subprocess.run(["cp", "-al", master, dest], check=True)
        os.chown(dest, MAIL_UID, MAIL_GID)
        return dest

    # -- IMAP -----------------------------------------------------------------
    def imapload(self, srv, mode, users, nusers, clients, duration_ms=0, count=0, extra=(),
                 timeout=600):
        """Run imapload against srv's IMAP port; (figures, server CPU ns)."""
        bound = ["-d", duration_ms] if duration_ms else ["-n", count]
        return self.run(srv, self.tool(
            "imapload", "-m", mode, "-p", srv.imap_port, "-u", users, "-U", nusers,
            "-w", self.password, "-c", clients, *bound, *extra), timeout=timeout)

    # Figures that need at least one successful session or operation are
    # None without one (a failed run shows as "-", not as 0 ms).
    def imap_sessions(self, srv, clients, duration_ms, users, nusers, msgs, bodies):
        f, cpu = self.imapload(srv, "session", users, nusers, clients, duration_ms,
                               extra=("-e", msgs, "-b", bodies))
        n = f.get("ops", 0)
        return {"rate": f.get("ops_per_s", 0), "p50": f.get("p50_ms") if n else None,
                "p99": f.get("p99_ms") if n else None,
                "cpu_session": cpu / n / 1e6 if n else None}

    def imap_ops(self, srv, mode, clients, duration_ms, users, nusers, extra=()):
        """store or append: one operation per sample; CPU per operation in
        µs and ms."""
        f, cpu = self.imapload(srv, mode, users, nusers, clients, duration_ms, extra=extra)
        n = f.get("ops", 0)
        return {"rate": f.get("ops_per_s", 0), "p50": f.get("p50_ms") if n else None,
                "p99": f.get("p99_ms") if n else None,
                "cpu_us": cpu / n / 1e3 if n else None, "cpu_ms": cpu / n / 1e6 if n else None,
                "literal_plus": f.get("literal_plus", 0)}

    def imap_mixed(self, srv, clients, duration_ms, users, nusers, keep):
        """Commands/s counts commands answered OK; errors every NO, BAD,
        unparsable reply or wrong data."""
        f, cpu = self.imapload(srv, "mixed", users, nusers, clients, duration_ms,
                               extra=("-e", keep))
        n = f.get("commands", 0)
        return {"rate": f.get("commands_per_s", 0), "sessions": f.get("ops_per_s", 0),
                "errors": f.get("errors", 0), "p99": f.get("p99_ms") if n else None,
                "cpu_us": cpu / n / 1e3 if n else None}

    def imap_script(self, srv, user, commands, sessions, timeout=1800):
        """Each command's median time (ms) over sessions sessions, and how
        many FETCH responses or SEARCH results it had."""
        extra = []
        for c in commands:
            extra += ["-x", c]
        f, cpu = self.imapload(srv, "script", user, 0, 1, count=sessions,
                               extra=extra + ["-t", timeout], timeout=timeout * sessions)
        n = f.get("ops", 0)
        out = {"cpu_session": cpu / n / 1e6 if n else None}
        for i in range(len(commands)):
            ok = f.get(f"c{i}_n", 0) > 0  # answered OK at least once
            out[f"c{i}"] = f.get(f"c{i}_p50_ms") if ok else None
            out[f"c{i}_count"] = f.get(f"c{i}_fetches", 0) + f.get(f"c{i}_hits", 0)
        return out

    # -- 5. idle connections ------------------------------------------------
    def idle(self, srv, proto, tls, conns, users, settle_s, hibernate_wait_s=0):
        """PSS per idle connection in KiB, after a fresh start."""
        srv.restart()
        time.sleep(1.0)
        base = srv.group.pss_kib()
        port = {("pop3", False): srv.pop3_port, ("pop3", True): srv.pop3s_port,
                ("imap", False): srv.imap_port, ("imap", True): srv.imaps_port}[(proto, tls)]
        cmd = self.tool("idleconn", "-p", port, "-P", proto, "-u", users, "-U", conns,
                        "-w", self.password, "-t", 8, "-d", 600000) + (["-T"] if tls else [])
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            ready = self._read_line(p, 300)
            figures = parse_kv(ready)
            if figures.get("failed", 1) != 0:
                self.problem(srv, f"idle {proto} tls={tls}: {ready.strip()}")
            waited = self._settle(srv, proto, settle_s, hibernate_wait_s)
            pss = srv.group.pss_kib()
            nprocs = len(srv.group.pids())
            p.stdin.write("\n")
            p.stdin.flush()
            done = self._read_line(p, 300)
            alive = parse_kv(done).get("alive", 0)
        finally:
            try:
                out, err = p.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
        if alive != conns:
            self.problem(srv, f"idle {proto} tls={tls}: only {alive} of {conns} connections "
                              f"still answered: {err.strip()[:300]}")
        return {"kib": (pss - base) / conns, "base_kib": base, "pss_kib": pss,
                "procs": nprocs, "wait_s": waited}

    def _read_line(self, p, timeout):
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            raise RuntimeError("idleconn did not report in time")
        return p.stdout.readline()

    def _settle(self, srv, proto, settle_s, hibernate_wait_s):
        """Let the server reach its steady idle state. For Dovecot's IMAP,
        wait until the sessions are hibernated and the then idle imap
        processes have been stopped (idle_kill), at most hibernate_wait_s."""
        t0 = time.time()
        time.sleep(settle_s)
        if proto == "imap" and hibernate_wait_s:
            while time.time() - t0 < hibernate_wait_s and srv.group.count("imap") > 0:
                time.sleep(0.5)
            time.sleep(0.5)
        return time.time() - t0

    # -- logs ----------------------------------------------------------------
    def scan_log(self, srv, limit=8):
        """Report error and warning lines of a server's log (a few of each
        kind, with how many there were)."""
        markers = {"yubin": (" error ", " warn ", "Sanitizer", "runtime error:"),
                   "dovecot": ("Error:", "Panic:", "Fatal:", "Warning:")}[srv.name]
        seen = {}
        try:
            with open(srv.log_path, errors="replace") as f:
                for line in f:
                    for m in markers:
                        # (Dovecot logs the SIGTERM that stops it as a warning)
                        if m in line and "Killed with signal 15" not in line:
                            seen.setdefault(m.strip(), []).append(line.rstrip())
                            break
        except OSError:
            return
        for m, lines in seen.items():
            sample = "\n".join(lines[:limit])
            self.problem(srv, f"{len(lines)} log line(s) with '{m}', e.g.:\n{sample}")

    # -- disk ---------------------------------------------------------------
    def fsync_loop(self, directory, iterations, threads):
        res = subprocess.run(self.tool("fsyncloop", "-n", iterations, "-t", threads, directory),
                             capture_output=True, text=True, timeout=600)
        return parse_kv(res.stdout.strip().splitlines()[-1]) if res.stdout else {}
