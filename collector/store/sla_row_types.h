/* The rows the live SLA checks (collector/live/sla_live.c) have the store
 * write for them, in sla_alerts and sla_models (schema/004_sla.sql). The
 * engine fills these and submits them as store requests (store.h,
 * STORE_REQ_SLA_MODEL and STORE_REQ_ALERT_*); the writer thread runs the
 * SQL (sla_rows.c) inside its group commit. Strings are NUL-terminated and
 * must stay valid until the request's done is called. */
#ifndef VIGIL_SLA_ROW_TYPES_H
#define VIGIL_SLA_ROW_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* One alert of sla_alerts. Opening writes every field but t_end_ms;
 * a new peak writes peak and the cause fields; closing writes t_end_ms. */
struct sla_alert_row {
	/* The row. To open: the id to give the new row, or 0 to let SQLite
	 * choose; once the open's done is called, the stored row's id. */
	int64_t id;
	const char *host, *vm, *vm_uuid;
	int64_t t_start_ms;
	int64_t t_end_ms; /* closing: stored as max(t_start, t_end_ms) */
	double peak;
	const char *cause_node, *cause_state; /* "" when no evidence is unhealthy */
	double cause_p;
	const char *cause, *evidence;
};

/* The network a collector start evaluates with. A row is added only when
 * the text, target, violated state or host node differ from the latest. */
struct sla_model_row {
	int64_t loaded_at_ms;
	const char *origin, *target, *violated, *host_node;
	const char *text;
	size_t text_len;
};

#endif
