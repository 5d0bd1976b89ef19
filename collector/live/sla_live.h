/* Live SLA evaluation in the collector. With each batch, every VM in it is
 * evaluated: thresholds to evidence, evidence to P(violation), both stored
 * as interval rows (sla.<node>, sla.p_violation) by the store's writer
 * thread, sharing the batches' group commits; an alert opens after
 * alert_after evaluations at or above alert_level, closes after clear_after
 * below clear_level, is kept in sla_alerts, and runs the action hook. A
 * periodic tick marks VMs whose host went silent as HOST DOWN and reaps
 * hook processes. The engine writes nothing itself: its readings, alert
 * rows and model are requests to the store's writer (store.h). */
#ifndef VIGIL_SLA_LIVE_H
#define VIGIL_SLA_LIVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sla_config.h"
#include "sla_eval.h"
#include "sla_query.h"
#include "store.h"
#include "vigil.pb-c.h"

struct sla_engine;

/* Loads the model and compiles the rules. Takes ownership of cfg's
 * allocations (sla_config_free is then the engine's). -1 with err on a
 * configuration that does not fit the model. */
int sla_engine_new(struct sla_config *cfg, struct sla_engine **out, char *err, size_t errlen);
void sla_engine_free(struct sla_engine *e);

/* Binds the engine to the store: records the model (waiting for its
 * commit), reloads open alerts and the last alert id through the store's
 * read-only connection. The engine then numbers new alerts itself, so it
 * must be the only one writing sla_alerts. 0, or -1 with err. */
int sla_engine_attach(struct sla_engine *e, struct store *st, int64_t now_ms, char *err, size_t errlen);

/* Evaluates the VMs of a batch (before or after it is stored: a batch not
 * newer than a VM's last evaluation is skipped, so repeats count once).
 * Never fails: problems are logged, and ingest goes on. */
void sla_engine_on_batch(struct sla_engine *e, const Vigil__Batch *b, int64_t now_ms);

/* Silent VMs and hook processes; cheap when called often. */
void sla_engine_tick(struct sla_engine *e, int64_t now_ms);

/* An attached engine's evaluations become store requests: readings
 * (sla.<node>, sla.p_violation) and alert rows (opened, new peak, closed),
 * those made since the last call, in order, chained by next, each freeing
 * itself when its commit is done. Submitting them after the batch that
 * produced them lets many VMs' readings share one group commit. */
struct store_req *sla_engine_take_readings(struct sla_engine *e);
void sla_submit_readings(struct store *st, struct store_req *chain);

/* Running hook processes (for tests and shutdown). */
int sla_engine_hooks_running(struct sla_engine *e);
void sla_engine_stop_hooks(struct sla_engine *e, int grace_ms);

const struct sla_model *sla_engine_model(const struct sla_engine *e);
const struct sla_config *sla_engine_config(const struct sla_engine *e);

/* A VM's live state for `vigilctl sla explain` (struct sla_vm_view,
 * sla_eval.h): 0, or -1 when the engine does not know the VM. */
int sla_engine_view(const struct sla_engine *e, const char *vm, struct sla_vm_view *out);

/* e's state as the query layer reads it (sla_query_explain); e may be NULL. */
struct sla_live_view sla_engine_live_view(const struct sla_engine *e);

/* The collector's engine and the lock that makes it one state machine:
 * worker threads evaluate batches and answer explain queries while the
 * server's loop ticks. engine NULL: the SLA checks are off, and every call
 * below is a no-op. */
struct sla_live {
	struct sla_engine *engine;
	pthread_mutex_t mu;
};

/* vigil-collector's start-up and shutdown. setup initialises l, reads the
 * "sla" group and builds the engine (none when sla.enabled is false); -1
 * after printing "CONFIG: line N: what" (exit status 2). start attaches it
 * to the store; -1 when that fails (logged; exit status 1). stop stops its
 * hooks and frees it; call it after setup whatever happened since. */
int sla_live_setup(struct sla_live *l, const config_t *cfg, const char *config_path);
int sla_live_start(struct sla_live *l, struct store *st);
void sla_live_stop(struct sla_live *l);

/* Evaluates a batch under the lock; returns the readings to submit
 * (sla_submit_readings) once the batch itself is submitted. */
struct store_req *sla_live_on_batch(struct sla_live *l, const Vigil__Batch *b);

/* Silent hosts and hook processes under the lock; submits the readings. */
void sla_live_tick(struct sla_live *l, struct store *st);

/* The engine's state as the query dispatcher reads it, held under l's lock
 * (lock and unlock are set); and the model it evaluates with, NULL when the
 * checks are off. */
struct sla_live_view sla_live_query_view(struct sla_live *l);
const struct sla_model *sla_live_model(const struct sla_live *l);

#endif
