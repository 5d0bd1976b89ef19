/* The store's read side: a read-only connection to a collector's database.
 * Everything that is not the writer thread (query workers, vigilctl --db,
 * the live SLA checks) reads through one of these, so SQLite itself refuses
 * any write that does not go through the writer's group commit. */
#ifndef VIGIL_READER_H
#define VIGIL_READER_H

#include <sqlite3.h>
#include <stddef.h>

struct store_reader;

/* Opens an existing database read-only and checks that it is a Vigil
 * database of a schema this build reads. 0, or -1 with a message naming the
 * file in err. */
int store_reader_open(struct store_reader **out, const char *path, char *err, size_t errlen);

/* The connection, for the read-side queries (history.c, collector/query).
 * It sees committed data only. */
sqlite3 *store_reader_db(const struct store_reader *r);

/* NULL is allowed. */
void store_reader_close(struct store_reader *r);

#endif
