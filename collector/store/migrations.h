/* The SQL migrations in schema/, embedded at build time. */
#ifndef VIGIL_MIGRATIONS_H
#define VIGIL_MIGRATIONS_H

struct migration {
	int version;       /* the schema version after this migration */
	const char *name;  /* file name in schema/ */
	const char *sql;
};

extern const struct migration vigil_migrations[];
extern const unsigned vigil_migration_count;

#endif
