/* SQLite connection helpers shared by the writer (store.c, migrate.c) and the
 * readers (reader.c). */
#ifndef VIGIL_DB_H
#define VIGIL_DB_H

#include <sqlite3.h>
#include <stddef.h>

/* Opens path with flags (SQLITE_OPEN_*), serialised, with a 10 s busy
 * timeout. 0, or -1 with a message in err (*db may still need closing). */
int db_open(sqlite3 **db, const char *path, int flags, char *err, size_t errlen);

/* Runs sql; 0, or -1 with SQLite's message in err. */
int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* The first column of sql's first row as an int; -1 when there is none. */
int db_pragma_int(sqlite3 *db, const char *sql);

#endif
