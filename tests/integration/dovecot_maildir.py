"""Write a Maildir the way Dovecot 2.3 leaves it, for migration tests.

Verified against Dovecot 2.3.19.1 (dovecot-lda delivery, then POP3 UIDL
over a private instance):

* files are named ``<sec>.M<usec>P<pid>.<host>,S=<size>,W=<vsize>``; the LDA
  stores LF line endings (mail_save_crlf = no), so S is the LF size and W
  the size with every LF counted as CRLF;
* a message stays in ``new/`` until a POP3/IMAP session opens the folder;
  then it is in ``cur/`` with ``:2,`` plus flags (``:2,S`` once retrieved);
* ``dovecot-uidlist`` (version 3): header ``3 V<uidvalidity> N<nextuid>
  G<guid hex>``, then ``<uid> [P<uidl>] :<base name>`` per message;
  ``P`` appears only with ``pop3_save_uidl = yes``, and an empty ``P`` means
  "the base file name" (what ``pop3_uidl_format = %f`` saves);
* the UIDL Dovecot shows without ``P`` is its default ``%08Xu%08Xv``, which
  it prints in lower-case hex: ``"%08x%08x" % (uid, uidvalidity)``;
* the root also gets ``dovecot-uidvalidity`` (the value in hex, no newline)
  and an empty read-only ``dovecot-uidvalidity.<hex>`` marker. Dovecot's
  binary index files (``dovecot.index*``) are caches it rebuilds; they are
  not written.

Only the standard library is used.
"""

import os

__all__ = ["make_dovecot_maildir", "dovecot_body"]

DEFAULT_HOST = "mx.example.org"
BASE_TIME = 1700000000


def dovecot_body(body):
    """The bytes dovecot-lda stores for an incoming body: CRLF -> LF."""
    if isinstance(body, str):
        body = body.encode()
    return body.replace(b"\r\n", b"\n")


def _vsize(data):
    """Size with every LF not preceded by CR counted as CRLF."""
    bare = data.count(b"\n") - data.count(b"\r\n")
    return len(data) + bare


def _message(spec):
    if isinstance(spec, (bytes, str)):
        return {"body": spec}
    return dict(spec)


def _uidl(uid, uidvalidity, base, p_value):
    if p_value is None:
        return "%08x%08x" % (uid, uidvalidity)
    if p_value == "":
        return base
    return p_value


def make_dovecot_maildir(path, messages, uidvalidity=BASE_TIME, with_pop3_uidl=None,
                         host=DEFAULT_HOST, nextuid=None, root=True):
    """Create Maildir `path` holding `messages` as Dovecot would have.

    messages: a list; each item is the message (bytes or str, stored with LF
      line endings as dovecot-lda does) or a dict with
        body   - the message,
        new    - True: still in new/ (never seen by a POP3/IMAP session),
        flags  - Maildir flag letters for cur/ ("S" after a POP3 RETR),
        mtime  - file mtime (default: the time in its name),
        pop3_uidl - this message's P value (overrides with_pop3_uidl).
      Message i gets UID i + 1 and a name with time BASE_TIME + i.
    uidvalidity: the folder's UIDVALIDITY.
    with_pop3_uidl: None - no P fields (Dovecot's default setup);
      True - an empty P on every line (pop3_uidl_format = %f with
      pop3_save_uidl = yes: the UIDL is the base file name);
      a list - explicit P values per message (None: no P for that one).
    nextuid: the header's N (default: last UID + 1). Dovecot appends lines
      without rewriting the header, so a stale smaller N is realistic.
    root: also write the dovecot-uidvalidity files of a Maildir root.

    Returns the UIDLs Dovecot reports over POP3, in message order.
    """
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    lines = []
    uidls = []
    for i, spec in enumerate(messages):
        msg = _message(spec)
        uid = i + 1
        data = dovecot_body(msg["body"])
        sec = BASE_TIME + i
        base = "%d.M%dP%d.%s,S=%d,W=%d" % (sec, 100000 + 37 * i, 4000 + i, host,
                                            len(data), _vsize(data))
        if msg.get("new"):
            rel = os.path.join("new", base)
        else:
            rel = os.path.join("cur", base + ":2," + msg.get("flags", ""))
        full = os.path.join(path, rel)
        with open(full, "wb") as f:
            f.write(data)
        mtime = msg.get("mtime", sec)
        os.utime(full, (mtime, mtime))

        p_value = None
        if "pop3_uidl" in msg:
            p_value = msg["pop3_uidl"]
        elif with_pop3_uidl is True:
            p_value = ""
        elif isinstance(with_pop3_uidl, (list, tuple)):
            p_value = with_pop3_uidl[i]
        ext = "" if p_value is None else "P%s " % p_value
        lines.append("%d %s:%s\n" % (uid, ext, base))
        uidls.append(_uidl(uid, uidvalidity, base, p_value))

    if nextuid is None:
        nextuid = len(messages) + 1
    guid = "%08x%024x" % (uidvalidity, 0x5eed)
    header = "3 V%d N%d G%s\n" % (uidvalidity, nextuid, guid)
    with open(os.path.join(path, "dovecot-uidlist"), "w") as f:
        f.write(header + "".join(lines))
    if root:
        hexv = "%08x" % uidvalidity
        with open(os.path.join(path, "dovecot-uidvalidity"), "w") as f:
            f.write(hexv)
        marker = os.path.join(path, "dovecot-uidvalidity." + hexv)
        open(marker, "w").close()
        os.chmod(marker, 0o444)
    return uidls
