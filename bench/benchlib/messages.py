"""Deterministic test messages, generated once and given to both servers.

- small(): ~4 KiB text messages (3.5 to 4.7 KiB) in which some lines start
  with '.', so that RETR has to byte-stuff them (RFC 1939 section 3).
- large(): MIME messages with a base64 attachment (the usual reason for a
  large message), 256 KiB or 50 MB; base64 lines never start with '.'.
- write_maildir(): a Maildir with many messages of varied sizes (log-normal,
  median 3 KB, long tail to 2 MB: equal sizes would hide the cost of
  sizes and offsets), written directly as files with LF line ends, named
  the way Dovecot's and yubin's own deliveries name them (S= file size,
  W= size with CRLF line ends) and placed in cur/ (mail a client has seen).
  One message in RARE_EVERY carries RARE_WORD, which no other message
  has: what IMAP SEARCH BODY looks for when it has to read everything.
- write_small_maildir(): the same, for a few small() messages (the IMAP
  workloads' mailboxes).

Everything comes from random.Random(seed): the same run makes the same
bytes.
"""
import base64
import math
import os
import random

DATE = "Mon, 01 Jan 2024 12:00:00 +0000"
WORDS = ("mail server benchmark message alpha bravo charlie delta echo foxtrot golf "
         "hotel india juliet kilo lima mike november oscar papa quebec romeo sierra "
         "tango uniform victor whiskey xray yankee zulu the quick brown fox jumps over "
         "lazy dog").split()


RARE_WORD = "xylophone"
RARE_EVERY = 9973


def _text_lines(rng, nbytes, dot_every):
    """Text lines (no line ends) adding up to about nbytes; roughly one in
    dot_every starts with '.' (0: none)."""
    lines, size = [], 0
    while size < nbytes:
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 13))]
        line = " ".join(words)
        if dot_every and rng.randrange(dot_every) == 0:
            line = "." + line if rng.random() < 0.8 else "."
        lines.append(line)
        size += len(line) + 2
    return lines


def _headers(user, subject, msgid):
    return ["From: Bench Sender <sender@bench.example>", f"To: <{user}@bench.example>",
            f"Subject: {subject}", f"Date: {DATE}", f"Message-ID: <{msgid}@bench.example>",
            "MIME-Version: 1.0"]


def small(seed, user, index):
    """One ~4 KiB text message as CRLF bytes."""
    rng = random.Random(f"small-{seed}-{user}-{index}")
    head = _headers(user, f"Message {index} for {user}", f"s{seed}.{user}.{index}")
    head.append("Content-Type: text/plain; charset=us-ascii")
    body = _text_lines(rng, rng.randint(3500, 4700) - 300, dot_every=6)
    return ("\r\n".join(head + [""] + body) + "\r\n").encode()


def large(seed, user, index, size):
    """A multipart message of about size bytes with a base64 attachment."""
    rng = random.Random(f"large-{seed}-{user}-{index}")
    head = _headers(user, f"Attachment {index} for {user}", f"l{seed}.{user}.{index}")
    head.append('Content-Type: multipart/mixed; boundary="b-bench"')
    text = _text_lines(rng, 1500, dot_every=0)
    raw_len = max(0, (size - 2500) * 57 // 78)
    raw = rng.randbytes(raw_len)
    enc = base64.b64encode(raw).decode()
    att = [enc[i:i + 76] for i in range(0, len(enc), 76)]
    parts = (head + ["", "--b-bench", "Content-Type: text/plain; charset=us-ascii", ""] + text +
             ["--b-bench", "Content-Type: application/octet-stream",
              'Content-Disposition: attachment; filename="data.bin"',
              "Content-Transfer-Encoding: base64", ""] + att + ["--b-bench--"])
    return ("\r\n".join(parts) + "\r\n").encode()


def maildir_sizes(seed, count):
    rng = random.Random(f"sizes-{seed}")
    mu = math.log(3000)
    return [min(2 << 20, max(400, int(rng.lognormvariate(mu, 1.0)))) for _ in range(count)]


def write_maildir(path, seed, count, user, uid, gid):
    """Write a Maildir of count messages (LF line ends) into path; return
    the total size in bytes. Directories get mtimes long in the past,
    as in a mailbox that did not change just now."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    rng = random.Random(f"pool-{seed}")
    pool = "\n".join(_text_lines(rng, 4 << 20, dot_every=40)) + "\n"
    sizes = maildir_sizes(seed, count)
    t0 = 1700000000
    total = 0
    cur = os.path.join(path, "cur")
    for i, want in enumerate(sizes):
        head = "\n".join(_headers(user, f"Stored message {i}", f"m{seed}.{user}.{i}")) + "\n\n"
        start = (i * 7919) % (len(pool) - want - 1)
        body = pool[start:start + max(0, want - len(head))]
        body = body[:body.rfind("\n") + 1] if "\n" in body else body + "\n"
        if i % RARE_EVERY == RARE_EVERY // 2:
            body += f"a {RARE_WORD} in the band\n"
        total += _write_file(cur, t0 + i, i, (head + body).encode(), uid, gid)
    _age_dirs(path, uid, gid, t0)
    return total


def _write_file(cur, stamp, i, data, uid, gid):
    """One message file named like the servers' own (S= size, W= size
    with CRLF line ends), no flags; returns its size."""
    vsize = len(data) + data.count(b"\n")
    name = f"{stamp}.M{i % 1000000}P{4242}Q{i}.bench.example,S={len(data)},W={vsize}:2,"
    fd = os.open(os.path.join(cur, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.fchown(fd, uid, gid)
    os.close(fd)
    return len(data)


def write_small_maildir(path, seed, count, user, uid, gid):
    """A Maildir of count small() messages (LF line ends, as both servers
    keep messages written by others); returns the total size."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    t0 = 1700000000
    total = 0
    for i in range(count):
        data = small(seed, user, i).replace(b"\r\n", b"\n")
        total += _write_file(os.path.join(path, "cur"), t0 + i, i, data, uid, gid)
    _age_dirs(path, uid, gid, t0)
    return total


def _age_dirs(path, uid, gid, age):
    """Owner mail, mode 0700, and mtimes long in the past: neither server
    may think the directory is changing."""
    for sub in ("cur", "new", "tmp", ""):
        p = os.path.join(path, sub)
        os.chown(p, uid, gid)
        os.chmod(p, 0o700)
        os.utime(p, (age, age))
