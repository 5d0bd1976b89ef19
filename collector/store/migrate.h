/* Bringing a database file up to this build's schema (schema/NNN_*.sql,
 * embedded) and metric catalogue, on the writer's connection. */
#ifndef VIGIL_MIGRATE_H
#define VIGIL_MIGRATE_H

#include <sqlite3.h>
#include <stddef.h>

/* The writer's connection settings (WAL, synchronous=FULL, auto-vacuum on
 * a new file), then every migration newer than the file's user_version and
 * the catalogue refresh. 0, or -1 with a message naming path in err. */
int migrate_writer_setup(sqlite3 *db, const char *path, char *err, size_t errlen);

#endif
