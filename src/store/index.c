/*
 * index.c - open, create, check and rebuild the per-user SQLite index;
 * prepared statements and transactions. See index.h for the schema.
 *
 * Durability: the index is rebuildable from the Maildir, so WAL with
 * synchronous=NORMAL is enough (a crash may lose the last transactions,
 * never consistency). Writers use BEGIN IMMEDIATE so that two processes
 * syncing one user queue on the busy timeout instead of failing with
 * SQLITE_BUSY halfway through a transaction.
 */
#include "store/index.h"

#include "lib/log.h"
#include "lib/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct index {
	sqlite3 *db;
	sqlite3_stmt *stmts[INDEX_STMT_COUNT];
	bool broken; /* corruption seen: delete and rebuild at next open */
	bool in_txn;
};

static const char *const index_sql[INDEX_STMT_COUNT] = {
    [INDEX_FOLDER_GET] = "SELECT id, uidvalidity, uidnext, highestmodseq, new_mtime, "
                         "cur_mtime FROM folders WHERE dir = ?1",
    [INDEX_FOLDER_INSERT] = "INSERT INTO folders (dir, name, uidvalidity, uidnext, "
                            "highestmodseq, new_mtime, cur_mtime) VALUES (?1, ?2, ?3, ?4, 0, 0, 0)",
    /* max(): expunges inside the transaction already moved highestmodseq
     * on (the messages_expunge trigger) */
    [INDEX_FOLDER_UPDATE] = "UPDATE folders SET uidnext = ?1, "
                            "highestmodseq = max(highestmodseq, ?2), "
                            "new_mtime = ?3, cur_mtime = ?4 WHERE id = ?5",
    [INDEX_MSG_LIST_NAMES] = "SELECT id, base, in_cur, suffix FROM messages WHERE folder = ?1",
    [INDEX_MSG_LIST_NEW] = "SELECT id, base, in_cur, suffix FROM messages "
                           "WHERE folder = ?1 AND in_cur = 0",
    /* OR ROLLBACK: a conflict (which cannot happen: the sync checked)
     * would end the whole sync transaction, and in exchange SQLite keeps
     * no statement journal for each row of an index build */
    [INDEX_MSG_INSERT] = "INSERT OR ROLLBACK INTO messages (folder, uid, base, in_cur, suffix, flags, "
                         "size, crlf_size, crlf_clean, internal_date, uidl, modseq, "
                         "eol_pad, pop3_hidden) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [INDEX_MSG_RENAME] = "UPDATE messages SET in_cur = ?1, suffix = ?2, flags = ?3, "
                         "modseq = ?4 WHERE id = ?5",
    [INDEX_MSG_DELETE] = "DELETE FROM messages WHERE id = ?1",
    [INDEX_MSG_UIDL_USED] = "SELECT 1 FROM messages WHERE uidl = ?1 LIMIT 1",
    [INDEX_MSG_FILE] = "SELECT folder, base, in_cur, suffix, crlf_clean, eol_pad "
                       "FROM messages WHERE id = ?1",
    [INDEX_MSG_SET_CLEAN] = "UPDATE messages SET crlf_clean = ?1, eol_pad = ?2 WHERE id = ?3",
    [INDEX_MSG_HIDE] = "UPDATE messages SET pop3_hidden = 1 WHERE id = ?1",
    [INDEX_MSG_RETRIEVED] = "UPDATE messages SET pop3_retrieved_at = ?1 WHERE id = ?2 "
                            "AND pop3_retrieved_at IS NULL",
    [INDEX_VIEW_LIST] =
        "SELECT id, crlf_size + ifnull(eol_pad, 0), uidl, base, in_cur, suffix, crlf_clean, "
        "eol_pad FROM messages WHERE folder = ?1 AND pop3_hidden = 0 AND uid < ?2 "
        "ORDER BY uid",
    [INDEX_FOLDER_POP3] = "SELECT pop3_count, pop3_size, uidnext FROM folders WHERE id = ?1",
    [INDEX_EXPIRE_LIST] = "SELECT id FROM messages WHERE folder = ?1 AND pop3_hidden = 0 "
                          "AND pop3_retrieved_at IS NOT NULL AND pop3_retrieved_at < ?2",
    [INDEX_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [INDEX_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
    [INDEX_META_INIT_RANDOM] = "INSERT OR IGNORE INTO meta (key, value) "
                               "VALUES (?1, random() & 9223372036854775807)",
    [INDEX_IMAP_FOLDER] = "SELECT uidvalidity, uidnext, highestmodseq, recent_uid "
                          "FROM folders WHERE id = ?1",
    [INDEX_IMAP_LIST] = "SELECT id, uid, flags, modseq, crlf_size, internal_date "
                        "FROM messages WHERE folder = ?1 AND uid >= ?2 ORDER BY uid",
    [INDEX_IMAP_CHANGED] = "SELECT id, uid, flags, modseq FROM messages "
                           "WHERE folder = ?1 AND modseq > ?2 AND uid < ?3",
    [INDEX_IMAP_EXPUNGED] = "SELECT uid FROM expunged WHERE folder = ?1 AND modseq > ?2",
    [INDEX_IMAP_RECENT] = "UPDATE folders SET recent_uid = ?2 WHERE id = ?1",
    [INDEX_IMAP_BUMP] = "UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = ?1 "
                        "RETURNING highestmodseq",
    [INDEX_IMAP_BY_BASE] = "SELECT id, uid FROM messages WHERE folder = ?1 AND base = ?2",
    [INDEX_IMAP_FILE] = "SELECT folder, base, in_cur, suffix, crlf_clean, eol_pad, flags, uid, "
                        "modseq, internal_date, crlf_size FROM messages WHERE id = ?1",
    [INDEX_IMAP_DELETED] = "SELECT id FROM messages WHERE folder = ?1 AND instr(flags, 'T') > 0",
    [INDEX_IMAP_STATUS] = "SELECT count(*), total(instr(flags, 'S') = 0), "
                          "total(instr(flags, 'T') > 0), total(crlf_size), total(uid > ?2) "
                          "FROM messages WHERE folder = ?1",
    [INDEX_FOLDER_DELETE] = "DELETE FROM folders WHERE id = ?1",
    [INDEX_FOLDER_RENAME] = "UPDATE folders SET dir = ?2, name = ?3 WHERE dir = ?1",
    [INDEX_FOLDER_MSGS_DELETE] = "DELETE FROM messages WHERE folder = ?1",
    [INDEX_FOLDER_EXPUNGED_DELETE] = "DELETE FROM expunged WHERE folder = ?1",
    [INDEX_MSG_TO_CUR] = "UPDATE messages SET in_cur = 1, suffix = ?2 WHERE id = ?1",
    [INDEX_FOLDER_CUR_GET] = "SELECT cur_mtime FROM folders WHERE id = ?1",
    [INDEX_FOLDER_CUR_SET] = "UPDATE folders SET cur_mtime = ?2 WHERE id = ?1",
    [INDEX_IMAP_SET_DATE] = "UPDATE messages SET internal_date = ?1 WHERE id = ?2",
    [INDEX_CACHE_GET] = "SELECT data FROM mime_cache WHERE id = ?1",
    [INDEX_CACHE_PUT] = "INSERT OR REPLACE INTO mime_cache (id, data) VALUES (?1, ?2)",
    [INDEX_FTS_MISSING] = "SELECT m.id FROM messages m WHERE m.folder = ?1 AND NOT EXISTS "
                          "(SELECT 1 FROM fts_done d WHERE d.id = m.id)",
    [INDEX_FTS_ADD] = "INSERT INTO fts (rowid, hdr, body) VALUES (?1, ?2, ?3)",
    [INDEX_FTS_DONE] = "INSERT OR IGNORE INTO fts_done (id) VALUES (?1)",
    [INDEX_FTS_QUERY] = "SELECT rowid FROM fts WHERE fts MATCH ?1",
    [INDEX_BEGIN_READ] = "BEGIN",
    [INDEX_BEGIN] = "BEGIN IMMEDIATE",
    [INDEX_COMMIT] = "COMMIT",
    [INDEX_ROLLBACK] = "ROLLBACK",
};

static const char index_schema[] =
    "CREATE TABLE folders ("
    " id INTEGER PRIMARY KEY,"
    " dir TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " uidvalidity INTEGER NOT NULL,"
    " uidnext INTEGER NOT NULL,"
    " highestmodseq INTEGER NOT NULL,"
    " new_mtime INTEGER NOT NULL,"
    " cur_mtime INTEGER NOT NULL,"
    " pop3_count INTEGER NOT NULL DEFAULT 0,"
    " pop3_size INTEGER NOT NULL DEFAULT 0,"
    " recent_uid INTEGER NOT NULL DEFAULT 0);"
    /* AUTOINCREMENT: an id is never reused, so rows keyed by it elsewhere
     * (the full-text index) never meet a different message */
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " folder INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " base TEXT NOT NULL,"
    " in_cur INTEGER NOT NULL,"
    " suffix TEXT NOT NULL,"
    " flags TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " crlf_size INTEGER NOT NULL,"
    " crlf_clean INTEGER,"
    " eol_pad INTEGER,"
    " internal_date INTEGER NOT NULL,"
    " uidl TEXT NOT NULL,"
    " modseq INTEGER NOT NULL,"
    " pop3_hidden INTEGER NOT NULL DEFAULT 0,"
    " pop3_retrieved_at INTEGER,"
    " UNIQUE (folder, uid),"
    " UNIQUE (folder, base));"
    "CREATE INDEX messages_uidl ON messages (uidl);"
    "CREATE INDEX messages_retrieved ON messages (folder, pop3_retrieved_at)"
    " WHERE pop3_retrieved_at IS NOT NULL;"
    "CREATE INDEX messages_modseq ON messages (folder, modseq);"
    "CREATE INDEX messages_new ON messages (folder) WHERE in_cur = 0;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE expunged ("
    " folder INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " modseq INTEGER NOT NULL);"
    "CREATE INDEX expunged_modseq ON expunged (folder, modseq);"
    "CREATE TABLE mime_cache (id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    /* Full-text index for SEARCH (words of the decoded header and text
     * parts). Contentless: rows of removed messages stay behind (FTS5 in
     * SQLite 3.40 cannot delete them without their text) and are ignored
     * because their ids no longer exist; fts_done says what is indexed. */
    "CREATE VIRTUAL TABLE fts USING fts5(hdr, body, content='',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TABLE fts_done (id INTEGER PRIMARY KEY);"
    /* RFC 7162 3.2.5.1: every removal, whoever makes it (an IMAP
     * EXPUNGE, a POP3 QUIT, a file gone from disk), gets a modseq of its
     * own and is remembered for VANISHED (EARLIER). */
    "CREATE TRIGGER messages_expunge AFTER DELETE ON messages BEGIN"
    " UPDATE folders SET highestmodseq = highestmodseq + 1 WHERE id = OLD.folder;"
    " INSERT INTO expunged (folder, uid, modseq)"
    "  SELECT OLD.folder, OLD.uid, highestmodseq FROM folders WHERE id = OLD.folder;"
    " DELETE FROM mime_cache WHERE id = OLD.id;"
    " DELETE FROM fts_done WHERE id = OLD.id; END;"
    /* The POP3 aggregates follow every change of a message row, in the
     * same transaction, whoever makes it. */
    "CREATE TRIGGER messages_pop3_insert AFTER INSERT ON messages"
    " WHEN NEW.pop3_hidden = 0 BEGIN"
    " UPDATE folders SET pop3_count = pop3_count + 1,"
    "  pop3_size = pop3_size + NEW.crlf_size + ifnull(NEW.eol_pad, 0)"
    "  WHERE id = NEW.folder; END;"
    "CREATE TRIGGER messages_pop3_delete AFTER DELETE ON messages"
    " WHEN OLD.pop3_hidden = 0 BEGIN"
    " UPDATE folders SET pop3_count = pop3_count - 1,"
    "  pop3_size = pop3_size - OLD.crlf_size - ifnull(OLD.eol_pad, 0)"
    "  WHERE id = OLD.folder; END;"
    "CREATE TRIGGER messages_pop3_update AFTER UPDATE OF pop3_hidden, crlf_size, eol_pad"
    " ON messages BEGIN"
    " UPDATE folders SET"
    "  pop3_count = pop3_count - (OLD.pop3_hidden = 0) + (NEW.pop3_hidden = 0),"
    "  pop3_size = pop3_size"
    "   - (CASE WHEN OLD.pop3_hidden = 0 THEN OLD.crlf_size + ifnull(OLD.eol_pad, 0) ELSE 0 END)"
    "   + (CASE WHEN NEW.pop3_hidden = 0 THEN NEW.crlf_size + ifnull(NEW.eol_pad, 0) ELSE 0 END)"
    "  WHERE id = NEW.folder; END;";

#define INDEX_STR2(x) #x
#define INDEX_STR(x) INDEX_STR2(x)
static const char index_set_version[] = "PRAGMA user_version = " INDEX_STR(INDEX_SCHEMA_VERSION);

static char *index_path(const struct store_user *u)
{
	return xasprintf("%s/%s", u->maildir, INDEX_FILE_NAME);
}

/* Remove the database and its WAL files; the next open starts afresh. */
static void index_delete_files(const struct store_user *u, const char *why)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	log_warn("store: op=index_rebuild user=%s reason=%s", u->name, why);
	char *path = index_path(u);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char *p = xasprintf("%s%s", path, suffixes[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			log_error("store: op=index_unlink user=%s error=%s", u->name,
			          store_errname(errno));
		xfree(p);
	}
	xfree(path);
}

void index_close(struct store_user *u)
{
	struct index *ix = u->index;
	if (ix == NULL)
		return;
	for (size_t i = 0; i < INDEX_STMT_COUNT; i++)
		sqlite3_finalize(ix->stmts[i]);
	sqlite3_close(ix->db);
	bool broken = ix->broken;
	xfree(u->index);
	if (broken)
		index_delete_files(u, "corrupt");
}

/* Run one pragma or statement that yields at most one integer. */
static int index_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (out != NULL)
			*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		if (out != NULL)
			*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Create the tables inside an IMMEDIATE transaction; another process may
 * have won the race, so check again once we hold the write lock. */
static int index_create_schema(sqlite3 *db, const char **why_r)
{
	int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	int64_t version, tables;
	rc = index_query_int(db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = index_query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
	if (rc == SQLITE_OK && version == 0 && tables > 0) {
		*why_r = "foreign_schema";
		rc = SQLITE_MISMATCH;
	} else if (rc == SQLITE_OK && version == 0) {
		rc = sqlite3_exec(db, index_schema, NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, index_set_version, NULL, NULL, NULL);
	} else if (rc == SQLITE_OK && version != INDEX_SCHEMA_VERSION) {
		*why_r = "schema_changed";
		rc = SQLITE_MISMATCH;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static bool index_rc_corrupt(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* Returns SQLITE_OK, or an error; *why_r is set when deleting the files
 * and starting over would help. */
static int index_setup(sqlite3 *db, const char **why_r)
{
	*why_r = NULL;
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, INDEX_BUSY_TIMEOUT_MS);
	/* Connections are short-lived (one per POP3 login, delivery...): keep
	 * the -wal and -shm files when the last one closes instead of
	 * deleting and re-creating two files per session. */
	int persist = 1;
	sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* The first statement reads the header: garbage shows up here. */
	int rc = index_query_int(db, "PRAGMA journal_mode = WAL", NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	/* Statement journals (an INSERT whose triggers update other rows
	 * keeps one) live in memory, not in a temporary file written page
	 * by page for every row of an index build. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
	/* A kept WAL must not keep the size of the largest transaction
	 * ever (an index build: tens of MB), or every open reads it all. */
	if (rc == SQLITE_OK)
		rc = index_query_int(db, "PRAGMA journal_size_limit = 1048576", NULL);
	/* Room for a whole index build of a large mailbox in one transaction
	 * (pages spilled early get written to the WAL again and again). The
	 * cache grows only as far as it is used, and lives only as long as
	 * the connection: sessions close theirs after opening the mailbox. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
	int64_t version = 0;
	if (rc == SQLITE_OK)
		rc = index_query_int(db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK) {
		if (index_rc_corrupt(rc))
			*why_r = "corrupt";
		return rc;
	}
	if (version == INDEX_SCHEMA_VERSION)
		return SQLITE_OK;
	if (version != 0) {
		*why_r = version < INDEX_SCHEMA_VERSION ? "older_schema" : "newer_schema";
		return SQLITE_MISMATCH;
	}
	rc = index_create_schema(db, why_r);
	if (rc != SQLITE_OK && *why_r == NULL && index_rc_corrupt(rc))
		*why_r = "corrupt";
	return rc;
}

enum store_error index_open(struct store_user *u)
{
	if (u->index != NULL && !u->index->broken)
		return STORE_OK;
	index_close(u); /* deletes the files of a broken index */
	char *path = index_path(u);
	/* The index is ours to rebuild: a symbolic link in its place (to
	 * somebody else's index) is removed, not followed. */
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		index_delete_files(u, "symlink");
	for (int attempt = 0; attempt < 2; attempt++) {
		sqlite3 *db = NULL;
		const char *why = NULL;
		int rc = sqlite3_open_v2(
		    path, &db,
		    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
		        SQLITE_OPEN_NOFOLLOW, /* not somebody else's index */
		    NULL);
		if (rc == SQLITE_OK)
			rc = index_setup(db, &why);
		if (rc == SQLITE_OK) {
			u->index = xmalloc(sizeof(*u->index));
			u->index->db = db;
			xfree(path);
			return STORE_OK;
		}
		if (why == NULL)
			log_error("store: op=index_open user=%s error=%s detail=%s", u->name,
			          sqlite3_errstr(rc), db != NULL ? sqlite3_errmsg(db) : "-");
		sqlite3_close(db);
		if (why == NULL)
			break;
		index_delete_files(u, why);
	}
	xfree(path);
	return STORE_ERR_TEMP;
}

sqlite3_stmt *index_stmt(struct store_user *u, enum index_stmt id)
{
	/* The index may have been closed to save memory (store_pop3_open):
	 * it comes back on first use. */
	if (u->index == NULL && index_open(u) != STORE_OK)
		return NULL;
	struct index *ix = u->index;
	sqlite3_stmt **st = &ix->stmts[id];
	if (*st == NULL) {
		int rc = sqlite3_prepare_v3(ix->db, index_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		                            st, NULL);
		if (rc != SQLITE_OK) {
			index_fail(u, rc, "prepare");
			*st = NULL;
			return NULL;
		}
	} else {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
	return *st;
}

enum store_error index_fail(struct store_user *u, int rc, const char *what)
{
	struct index *ix = u->index;
	log_error("store: op=index_%s user=%s error=%s detail=%s", what, u->name,
	          sqlite3_errstr(rc), ix != NULL ? sqlite3_errmsg(ix->db) : "-");
	if (ix != NULL && index_rc_corrupt(rc))
		ix->broken = true;
	return STORE_ERR_TEMP;
}

enum store_error index_step_done(struct store_user *u, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return STORE_OK;
	return index_fail(u, rc, what);
}

enum store_error index_begin(struct store_user *u)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_BEGIN);
	if (st == NULL)
		return STORE_ERR_TEMP;
	return index_step_done(u, st, "begin");
}

enum store_error index_commit(struct store_user *u)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_COMMIT);
	enum store_error err = st != NULL ? index_step_done(u, st, "commit") : STORE_ERR_TEMP;
	if (err != STORE_OK)
		index_rollback(u);
	return err;
}

void index_rollback(struct store_user *u)
{
	if (u->index == NULL || sqlite3_get_autocommit(u->index->db))
		return;
	sqlite3_stmt *st = index_stmt(u, INDEX_ROLLBACK);
	if (st != NULL) {
		sqlite3_step(st);
		sqlite3_reset(st);
	}
}

int index_bind_text(sqlite3_stmt *st, int col, const char *s, size_t len)
{
	return sqlite3_bind_text64(st, col, s, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

enum store_error index_meta_get(struct store_user *u, const char *key, int64_t *value_r,
                                bool *found_r)
{
	*value_r = 0;
	*found_r = false;
	sqlite3_stmt *st = index_stmt(u, INDEX_META_GET);
	if (st == NULL)
		return STORE_ERR_TEMP;
	index_bind_text(st, 1, key, strlen(key));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found_r = true;
		*value_r = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : index_fail(u, rc, "meta_get");
}

enum store_error index_meta_set(struct store_user *u, const char *key, int64_t value)
{
	sqlite3_stmt *st = index_stmt(u, INDEX_META_SET);
	if (st == NULL)
		return STORE_ERR_TEMP;
	index_bind_text(st, 1, key, strlen(key));
	sqlite3_bind_int64(st, 2, value);
	return index_step_done(u, st, "meta_set");
}
