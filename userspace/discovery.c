/* The discovery thread, which owns the libvirt connection and publishes
 * the latest listing, and the event thread, which asks for a listing when a
 * domain starts or stops. See discovery.h for the contract; the notes here
 * explain the choices made along the way. */
#include "discovery.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* How long discovery_stop() waits for a libvirt call in progress. */
#define STOP_WAIT_MS 2000

/* Shared by the caller and the thread. A libvirt call can hang for a long
 * time (a wedged daemon, a dead remote host), and discovery_stop() must not
 * hang with it: after STOP_WAIT_MS it detaches the thread and returns. The
 * thread then still uses this structure when its call comes back, so the
 * structure is reference counted and freed by whichever side lets go last.
 * lock is only ever held for flag changes and pointer swaps/copies, never
 * across a libvirt call. */
struct discovery {
	pthread_mutex_t lock;
	pthread_cond_t wake;            /* signalled by discovery_stop() */
	pthread_cond_t finished;        /* signalled when the thread is done */
	pthread_cond_t attempted;       /* signalled after the first listing attempt */
	unsigned refs;
	bool stop;
	bool thread_done;
	bool thread_started;
	bool have_listing;              /* a listing has succeeded at least once */
	bool have_attempted;            /* a listing has been tried, with any outcome */
	bool relist;                    /* a domain event asks for a listing now */
	bool events_done;
	bool events_started;
	struct vm_list latest;
	char *uri;                      /* NULL: libvirt disabled */
	unsigned refresh_ms;
	pthread_t thread;
	pthread_t events_thread;
};

static void discovery_free(struct discovery *d)
{
	vm_list_free(&d->latest);
	free(d->uri);
	pthread_cond_destroy(&d->wake);
	pthread_cond_destroy(&d->finished);
	pthread_cond_destroy(&d->attempted);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Drops one reference; the caller must not touch d afterwards. */
static void discovery_unref(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		discovery_free(d);
}

/* Sleeps for one refresh period, until a domain event asks for a listing, or
 * until discovery_stop(). Returns false when the thread should end. */
static bool wait_for_next_round(struct discovery *d)
{
	struct timespec deadline = clock_deadline_after_ms(d->refresh_ms);
	pthread_mutex_lock(&d->lock);
	while (!d->stop && !d->relist &&
	       pthread_cond_timedwait(&d->wake, &d->lock, &deadline) != ETIMEDOUT)
		;
	d->relist = false;
	bool keep_going = !d->stop;
	pthread_mutex_unlock(&d->lock);
	return keep_going;
}

/* Makes fresh the latest list, unless a stop was requested while libvirt was
 * being asked. Takes ownership of fresh. Returns false when stopping; sets
 * *first when this is the first listing ever published. */
static bool publish(struct discovery *d, struct vm_list *fresh, bool *first)
{
	pthread_mutex_lock(&d->lock);
	bool stopping = d->stop;
	*first = !d->have_listing;
	if (!stopping) {
		struct vm_list old = d->latest;
		d->latest = *fresh;
		*fresh = old;   /* freed below, outside the lock */
		d->have_listing = true;
	}
	pthread_mutex_unlock(&d->lock);
	vm_list_free(fresh);
	return !stopping;
}

static void note_attempt(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	d->have_attempted = true;
	pthread_cond_broadcast(&d->attempted);
	pthread_mutex_unlock(&d->lock);
}

static bool stop_requested(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	bool stop = d->stop;
	pthread_mutex_unlock(&d->lock);
	return stop;
}

/* The last act of each thread: says it is done and lets go of d. */
static void thread_exit(struct discovery *d, bool *done)
{
	pthread_mutex_lock(&d->lock);
	*done = true;
	pthread_cond_broadcast(&d->finished);
	bool last = --d->refs == 0;
	pthread_mutex_unlock(&d->lock);
	if (last)
		discovery_free(d);
}

static void *discovery_thread(void *arg)
{
	struct discovery *d = arg;
	bool reported_unreachable = false;

	for (;;) {
		struct vm_list fresh;
		char err[512];
		if (libvirt_list_domains(d->uri, &fresh, err, sizeof(err)) == 0) {
			size_t count = fresh.count;
			bool first;
			if (!publish(d, &fresh, &first))
				break;
			if (reported_unreachable)
				log_info("libvirt at %s reachable again", d->uri);
			else if (first)
				log_info("libvirt at %s reachable: %zu running domain(s)",
					 d->uri, count);
			reported_unreachable = false;
		} else {
			/* The last good list stays published: the VMs do not stop
			 * because libvirtd restarts. */
			if (stop_requested(d))
				break;
			if (!reported_unreachable)
				log_warn("libvirt at %s is not reachable (%s); monitoring --pid "
					 "targets only; will keep retrying", d->uri, err);
			reported_unreachable = true;
		}
		note_attempt(d);
		if (!wait_for_next_round(d))
			break;
	}

	thread_exit(d, &d->thread_done);
	return NULL;
}

/* --- domain events --------------------------------------------------------
 * A second thread keeps its own read-only connection and turns every
 * lifecycle event (started, stopped, crashed, rebooted, defined, undefined,
 * migrated, ...) into an immediate listing, so a new VM is sampled from the
 * next interval instead of the next refresh. Listing stays in the discovery
 * thread; the event thread only sets a flag, so a slow listing never delays
 * the events and a lost connection only falls back to the refresh period. */

/* How often virEventRunDefaultImpl() returns, so a stop is seen. */
#define EVENT_TICK_MS 250
#define EVENT_RECONNECT_MS 2000

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct discovery *d = opaque;

	(void)conn;
	log_debug("libvirt event: domain %s, event %d/%d", virDomainGetName(dom), event, detail);
	pthread_mutex_lock(&d->lock);
	d->relist = true;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void on_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* Sleeps up to ms, or until discovery_stop(). */
static void events_pause(struct discovery *d, unsigned ms)
{
	struct timespec deadline = clock_deadline_after_ms(ms);
	pthread_mutex_lock(&d->lock);
	while (!d->stop && pthread_cond_timedwait(&d->wake, &d->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->lock);
}

static virConnectPtr events_connect(struct discovery *d, int *callback)
{
	virConnectPtr conn = virConnectOpenReadOnly(d->uri);

	if (!conn)
		return NULL;
	*callback = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						     VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), d, NULL);
	if (*callback < 0) {
		log_warn("libvirt at %s: cannot subscribe to domain events (%s); new VMs are "
			 "found every %u ms", d->uri, virGetLastErrorMessage(), d->refresh_ms);
		virConnectClose(conn);
		return NULL;
	}
	/* Notices a dead daemon within seconds, so the thread reconnects. */
	virConnectSetKeepAlive(conn, 5, 3);
	/* A reconnect may have missed events: list once. */
	pthread_mutex_lock(&d->lock);
	d->relist = true;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	return conn;
}

static void events_disconnect(virConnectPtr conn, int callback)
{
	if (!conn)
		return;
	if (callback >= 0)
		virConnectDomainEventDeregisterAny(conn, callback);
	virConnectClose(conn);
}

static void *events_thread(void *arg)
{
	struct discovery *d = arg;
	virConnectPtr conn = NULL;
	int callback = -1;
	int timer = virEventAddTimeout(EVENT_TICK_MS, on_tick, NULL, NULL);

	while (timer >= 0 && !stop_requested(d)) {
		if (!conn && !(conn = events_connect(d, &callback))) {
			events_pause(d, EVENT_RECONNECT_MS);
			continue;
		}
		if (virEventRunDefaultImpl() < 0 || virConnectIsAlive(conn) != 1) {
			events_disconnect(conn, callback);
			conn = NULL;
			callback = -1;
		}
	}
	events_disconnect(conn, callback);
	if (timer >= 0)
		virEventRemoveTimeout(timer);

	thread_exit(d, &d->events_done);
	return NULL;
}

static int init_sync(struct discovery *d)
{
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc)
		return -rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!rc)
		rc = pthread_mutex_init(&d->lock, NULL);
	if (!rc && (rc = pthread_cond_init(&d->wake, &attr)) != 0)
		pthread_mutex_destroy(&d->lock);
	if (!rc && (rc = pthread_cond_init(&d->finished, &attr)) != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
	}
	if (!rc && (rc = pthread_cond_init(&d->attempted, &attr)) != 0) {
		pthread_cond_destroy(&d->finished);
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
	}
	pthread_condattr_destroy(&attr);
	return -rc;
}

/* Starts the thread with every signal blocked, so that signals meant for the
 * program (SIGINT, SIGTERM) go to its other threads, and a SIGPIPE from a
 * dropped libvirt socket turns into an EPIPE error instead. */
static int start_thread(pthread_t *thread, void *(*fn)(void *), struct discovery *d)
{
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	int rc = pthread_create(thread, NULL, fn, d);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return -rc;
}

static void register_event_impl(void)
{
	if (virEventRegisterDefaultImpl() < 0)
		log_warn("libvirt: cannot set up its event loop: %s", virGetLastErrorMessage());
}

/* The event thread is optional: without it, the refresh period applies. */
static void start_events_thread(struct discovery *d)
{
	static pthread_once_t event_impl_once = PTHREAD_ONCE_INIT;

	/* Process-wide, and before any connection that should deliver events. */
	pthread_once(&event_impl_once, register_event_impl);
	pthread_mutex_lock(&d->lock);
	d->refs++;
	pthread_mutex_unlock(&d->lock);
	int rc = start_thread(&d->events_thread, events_thread, d);
	if (rc < 0) {
		log_warn("cannot start the libvirt event thread: %s; new VMs are found every %u ms",
			 strerror(-rc), d->refresh_ms);
		pthread_mutex_lock(&d->lock);
		d->refs--;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->events_started = true;
}

int discovery_start(struct discovery **out, const char *uri, unsigned refresh_ms)
{
	*out = NULL;
	if (uri && refresh_ms == 0)
		return -EINVAL;

	struct discovery *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int rc = init_sync(d);
	if (rc < 0) {
		free(d);
		return rc;
	}
	d->refs = 1;
	d->refresh_ms = refresh_ms;

	if (uri) {
		d->uri = strdup(uri);
		if (!d->uri) {
			discovery_free(d);
			return -ENOMEM;
		}
		d->refs = 2;    /* the caller's and the thread's */
		rc = start_thread(&d->thread, discovery_thread, d);
		if (rc < 0) {
			log_error("cannot start the libvirt discovery thread: %s", strerror(-rc));
			discovery_free(d);
			return rc;
		}
		d->thread_started = true;
		start_events_thread(d);
	}
	*out = d;
	return 0;
}

int discovery_latest(struct discovery *d, struct vm_list *out)
{
	out->vms = NULL;
	out->count = 0;
	if (!d->uri)
		return 0;       /* libvirt disabled: the list is known to be empty */

	pthread_mutex_lock(&d->lock);
	int rc = d->have_listing ? 0 : -1;
	if (rc == 0 && d->latest.count > 0) {
		out->vms = malloc(d->latest.count * sizeof(*out->vms));
		if (out->vms) {
			memcpy(out->vms, d->latest.vms, d->latest.count * sizeof(*out->vms));
			out->count = d->latest.count;
		} else {
			rc = -1;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void discovery_wait_first(struct discovery *d, unsigned timeout_ms)
{
	if (!d->uri)
		return;
	struct timespec deadline = clock_deadline_after_ms(timeout_ms);
	pthread_mutex_lock(&d->lock);
	while (!d->have_attempted && !d->thread_done &&
	       pthread_cond_timedwait(&d->attempted, &d->lock, &deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&d->lock);
}

int discovery_libvirt_reachable(struct discovery *d)
{
	if (!d->uri)
		return 0;
	pthread_mutex_lock(&d->lock);
	int reachable = d->have_listing;
	pthread_mutex_unlock(&d->lock);
	return reachable;
}

void discovery_stop(struct discovery *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		struct timespec deadline = clock_deadline_after_ms(STOP_WAIT_MS);
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_broadcast(&d->wake);
		while ((!d->thread_done || (d->events_started && !d->events_done)) &&
		       pthread_cond_timedwait(&d->finished, &d->lock, &deadline) != ETIMEDOUT)
			;
		bool done = d->thread_done, events_done = d->events_done;
		pthread_mutex_unlock(&d->lock);

		/* A thread stuck in libvirt is left behind; it frees the shared
		 * state itself when its call returns (see struct discovery). */
		if (done)
			pthread_join(d->thread, NULL);
		else
			pthread_detach(d->thread);
		if (d->events_started && events_done)
			pthread_join(d->events_thread, NULL);
		else if (d->events_started)
			pthread_detach(d->events_thread);
		if (!done || (d->events_started && !events_done))
			log_warn("libvirt at %s did not answer within %d ms; leaving its "
				 "call behind", d->uri, STOP_WAIT_MS);
	}
	discovery_unref(d);
}
