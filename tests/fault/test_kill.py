"""kill -9 at random moments: nothing acknowledged is lost, nothing is
duplicated or half-visible, UIDLs and UIDs are stable, and the index agrees
with the files after every restart.

Each round runs every client kind of faultlib.CLIENT_KINDS at once (LMTP
deliveries, POP3 sessions that read, DELE and QUIT or drop, `yubin
deliver` processes) against a real `yubin serve`, then kills it in one of
three ways:
  group       SIGKILL to the supervisor and all workers (and to every
              running `yubin deliver`) at the same instant
  worker      SIGKILL to one worker first; the supervisor must replace it
              and clients go on; then the group as above
  supervisor  SIGKILL to the supervisor only; its workers must go away by
              themselves (they get SIGTERM from the kernel)
then restarts the server on the same data and checks (faultlib.Checker):
  - every message that got 250 / exit 0 exists exactly once, unless a
    client deleted it and saw QUIT's +OK; one deleted with +OK is gone;
    one refused with a 4xx / exit 75 does not exist
  - no file in new/ or cur/ is partial, foreign or a duplicate
  - POP3 STAT/LIST/UIDL agree with the files (CRLF sizes), a UIDL never
    changes for a message nor names another one
  - the SQLite index lists exactly the files, its POP3 totals match its
    rows, UIDs are below UIDNEXT, UIDNEXT never goes back, a UID never
    names another message and UIDVALIDITY never changes
Rounds: YUBIN_FAULT_ROUNDS (default 24, 300 with YUBIN_TEST_LONG=1);
the random seed is YUBIN_FAULT_SEED (printed, so a failure can be replayed);
YUBIN_FAULT_MODES=group,worker limits the kinds of kill.
"""
import json
import os
import random
import threading
import time

import pytest

import faultlib
from faultlib import (CLIENT_KINDS, IMAP_CHANGES, LONG, USERS, Checker, DeliverClient, Ledger,
                      env_int)

USER_NAMES = ["alice", "bob"]
MODES = ["group"] * 8 + ["worker"] + ["supervisor"]


def run_round(srv, ledger, rnd, stats, problems):
    stop = threading.Event()
    clients = []
    for kind in CLIENT_KINDS:
        for _ in range(kind.threads):
            clients.append(kind(srv, ledger, stats, random.Random(rnd.random()), USER_NAMES))
    threads = [threading.Thread(target=c.thread_main, args=(stop,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    delivers = [c for c in clients if isinstance(c, DeliverClient)]

    time.sleep(rnd.uniform(0.05, 0.6))
    if rnd.random() < 0.3:
        rnd.choice(delivers).kill_one()  # a deliver dies on its own
        stats["deliver_kill_one"] = 1
        time.sleep(rnd.uniform(0.0, 0.2))

    modes = [m for m in MODES if m in os.environ.get("YUBIN_FAULT_MODES", ",".join(MODES))]
    mode = rnd.choice(modes)
    stats["mode"] = mode
    if mode == "worker":
        before = set(srv.wait_workers(2))
        victim = srv.kill_worker()
        deadline = time.time() + 5
        while time.time() < deadline:
            now = set(srv.worker_pids())
            if len(now) == len(before) and victim not in now:
                break
            time.sleep(0.02)
        else:
            ledger.violation(f"worker {victim} was not replaced: {before} -> {now}")
        time.sleep(rnd.uniform(0.05, 0.3))  # clients go on with the new worker
        mode = "group"
    if mode == "group":
        srv.kill_group()
        for c in delivers:
            c.kill_all()
    else:
        # kill_supervisor waits for the workers while the clients go on
        took = srv.kill_supervisor(timeout=5)
        for c in delivers:
            c.kill_all()
        if took is None:
            problems.append("workers still serving 5 s after the supervisor was killed")
        else:
            stats["workers_gone_s"] = round(took, 3)
    stop.set()
    for t in threads:
        t.join(30)
        if t.is_alive():
            ledger.violation("a client hung for 30 s after the kill")


def test_kill9_rounds(fault_server, record):
    rounds = env_int("YUBIN_FAULT_ROUNDS", 300 if LONG else 24)
    seed = env_int("YUBIN_FAULT_SEED", random.randrange(1 << 30))
    print(f"seed {seed} (YUBIN_FAULT_SEED={seed} to replay)")
    rnd = random.Random(seed)
    srv = fault_server(users={u: USERS[u] for u in USER_NAMES})
    ledger = Ledger()
    checker = Checker(srv, ledger, USER_NAMES)
    totals = {}
    problems = []  # liveness failures: reported at the end, the rounds go on
    peaks = {"max_restart_ms": 0, "max_mailbox": 0}
    started = time.time()
    for r in range(rounds):
        stats = {}
        run_round(srv, ledger, rnd, stats, problems)
        t0 = time.time()
        srv.start()
        stats["restart_ms"] = round((time.time() - t0) * 1000)
        try:
            sizes = checker.check()
        except AssertionError as e:
            log = [line for line in srv.log_text().splitlines()
                   if " warn " in line or " error " in line]
            raise AssertionError(f"round {r} (seed {seed}, stats {stats}): {e}\n"
                                 f"server warnings and errors:\n" + "\n".join(log[-20:])) from None
        stats["mailbox"] = sum(sizes.values())
        # one line per round: shown with -s, and on failure with the rest
        print(json.dumps({"round": r, **stats}, sort_keys=True))
        peaks["max_restart_ms"] = max(peaks["max_restart_ms"], stats["restart_ms"])
        peaks["max_mailbox"] = max(peaks["max_mailbox"], stats["mailbox"])
        for k, v in stats.items():
            if isinstance(v, (int, float)) and k != "mailbox":
                totals[k] = totals.get(k, 0) + v
        totals[f"mode_{stats['mode']}"] = totals.get(f"mode_{stats['mode']}", 0) + 1
    srv.stop()
    srv.check_log()
    tmp_left = sum(len(list((srv.maildir(u) / "tmp").iterdir())) for u in USER_NAMES
                   if (srv.maildir(u) / "tmp").is_dir())
    acked = sum(1 for m in ledger.msgs.values() if m["state"] == "acked")
    record("kill9", rounds=rounds, seed=seed, seconds=round(time.time() - started, 1),
           acked=acked, messages=len(ledger.msgs), tmp_files_left=tmp_left,
           avg_restart_ms=round(totals.pop("restart_ms", 0) / max(rounds, 1)),
           lingering_workers=len(problems), came_back_after_expunge=ledger.renumbered,
           **peaks, **totals)
    assert not problems, f"{len(problems)} of {totals.get('mode_supervisor')} rounds: {problems[0]}"
    # the test must have exercised what it claims to
    assert acked > rounds, totals
    assert totals.get("pop3_quit_ok", 0) > 0 and totals.get("deliver_acked", 0) > 0, totals
    assert totals.get("imap_appended", 0) > 0, totals
    if IMAP_CHANGES:
        assert totals.get("imap_expunged", 0) > 0 and totals.get("imap_moved", 0) > 0, totals


def _lose(srv, files):
    files[0].unlink()


def _duplicate(srv, files):
    data = files[0].read_bytes()
    (files[0].parent / ("1.M1P1.copy,S=%d" % len(data))).write_bytes(data)


def _partial(srv, files):
    data = files[0].read_bytes()
    files[0].unlink()
    (files[0].parent / "2.M2P2.partial").write_bytes(data[: len(data) // 2])


def _rename(srv, files):
    # same content under another base name: its UIDL changed
    files[0].rename(files[0].parent / "3.M3P3.renamed")


def _resurrect(ledger, msgids):
    ledger.deleted[msgids[0]] = "acked"


def _unrefuse(ledger, msgids):
    ledger.msgs[msgids[0]]["state"] = "refused"


@pytest.mark.parametrize("damage", [_lose, _duplicate, _partial, _rename, _resurrect, _unrefuse])
def test_checker_detects_damage(fault_server, damage):
    """The checker of test_kill9_rounds fails on each kind of damage it
    claims to find (so a passing run means something)."""
    srv = fault_server(users={u: USERS[u] for u in USER_NAMES})
    ledger = Ledger()
    checker = Checker(srv, ledger, USER_NAMES)
    rnd = random.Random(1)
    msgids = []
    for i in range(3):
        msgid = ledger.new_id("check")
        raw = faultlib.make_message(msgid, rnd)
        ledger.sent(msgid, "alice", raw)
        assert srv.deliver("alice", raw) == {}
        ledger.answer(msgid, "acked")
        msgids.append(msgid)
    checker.check()  # undamaged: passes, and remembers UIDLs and UIDs
    files = sorted((srv.maildir("alice") / "new").iterdir())
    if damage in (_resurrect, _unrefuse):
        damage(ledger, msgids)
    else:
        damage(srv, files)
    with pytest.raises(faultlib.Violation):
        checker.check()
