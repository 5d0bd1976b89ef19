#include "nic_sampler.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "counter_delta.h"
#include "log.h"

static bool same_nic(const struct vm_nic *a, const struct vm_nic *b)
{
	return strcmp(a->dev, b->dev) == 0 && strcmp(a->mac, b->mac) == 0;
}

static bool target_has(const struct vm_target *t, const struct vm_nic *nic)
{
	for (unsigned i = 0; i < t->n_nics; i++)
		if (same_nic(&t->nics[i], nic))
			return true;
	return false;
}

/* Counted already, or refused before. */
static bool known(const struct vm_nics *s, const struct vm_nic *nic)
{
	for (unsigned i = 0; i < s->n; i++)
		if (same_nic(&s->v[i].nic, nic))
			return true;
	for (unsigned i = 0; i < s->n_refused; i++)
		if (same_nic(&s->refused[i], nic))
			return true;
	return false;
}

static void drop_at(struct vm_nics *s, struct net_probe *net, unsigned i)
{
	char err[256];
	int rc = net_probe_detach(net, s->v[i].ifindex, err, sizeof(err));

	/* A tap that is gone took our filters with it. */
	if (rc < 0 && rc != -ENODEV)
		log_warn("%s", err);
	s->v[i] = s->v[--s->n];
}

/* Returns the new state, or NULL if the interface is not counted. */
static struct nic_state *add(struct vm_nics *s, struct net_probe *net, const char *vm, const struct vm_nic *nic)
{
	int ifindex = (int)if_nametoindex(nic->dev);
	char err[256];

	if (s->n == VM_MAX_NICS || ifindex <= 0)
		return NULL; /* not there (yet): the next listing tries again */
	if (net_probe_attach(net, ifindex, err, sizeof(err)) < 0) {
		log_warn("vm %s: interface %s not counted: %s", vm, nic->dev, err);
		if (s->n_refused < VM_MAX_NICS)
			s->refused[s->n_refused++] = *nic;
		return NULL;
	}
	s->v[s->n] = (struct nic_state){ .nic = *nic, .ifindex = ifindex };
	log_info("vm %s: counting interface %s (mac %s)", vm, nic->dev, nic->mac[0] ? nic->mac : "unknown");
	return &s->v[s->n++];
}

/* The interface we counted is gone and its device name belongs to another
 * one now: the tap was deleted and created again (a NIC unplugged and
 * plugged back). Looked up only once a read found the interface gone. */
static bool recreated(const struct nic_state *n)
{
	int now;

	if (!n->vanished)
		return false;
	now = (int)if_nametoindex(n->nic.dev);
	return now > 0 && now != n->ifindex;
}

/* Counts the new interface from zero, and has its first reading say that
 * the interface's counters restarted. */
static void follow_recreated(struct vm_nics *s, struct net_probe *net, const char *vm, unsigned i)
{
	struct vm_nic nic = s->v[i].nic;
	struct nic_state *fresh;

	log_info("vm %s: interface %s was recreated (ifindex %d is gone)", vm, nic.dev, s->v[i].ifindex);
	drop_at(s, net, i);
	fresh = add(s, net, vm, &nic);
	if (fresh)
		fresh->restarted = true;
}

void vm_nics_sync(struct vm_nics *s, struct net_probe *net, const struct vm_target *t)
{
	if (!net)
		return;
	for (unsigned i = s->n; i-- > 0;) {
		if (!target_has(t, &s->v[i].nic))
			drop_at(s, net, i);
		else if (recreated(&s->v[i]))
			follow_recreated(s, net, t->name, i);
	}
	for (unsigned i = 0; i < t->n_nics; i++)
		if (!known(s, &t->nics[i]))
			add(s, net, t->name, &t->nics[i]);
}

void vm_nics_release(struct vm_nics *s, struct net_probe *net)
{
	while (net && s->n)
		drop_at(s, net, s->n - 1);
	s->n = 0;
}

static int emit_one(struct nic_state *n, const struct net_if_counters *c, Vigil__VmSamples *vm)
{
	const struct batch_tag tags[] = { { "if", n->nic.dev }, { "mac", n->nic.mac } };
	const struct {
		const char *metric;
		uint64_t *last;
		uint64_t now;
	} f[] = {
		{ "net.rx_bytes", &n->last.rx_bytes, c->rx_bytes },
		{ "net.rx_packets", &n->last.rx_packets, c->rx_packets },
		{ "net.rx_drops", &n->last.rx_drops, c->rx_drops },
		{ "net.tx_bytes", &n->last.tx_bytes, c->tx_bytes },
		{ "net.tx_packets", &n->last.tx_packets, c->tx_packets },
		{ "net.tx_drops", &n->last.tx_drops, c->tx_drops },
	};
	size_t n_tags = n->nic.mac[0] ? 2 : 1;
	char detail[32];

	snprintf(detail, sizeof(detail), "if=%s", n->nic.dev);
	if (n->restarted) {
		vm->counters_reset = 1;
		log_debug("vm %s: counters of interface %s restarted with the interface", vm->name, n->nic.dev);
		n->restarted = false;
	}
	/* The loader's counters only grow while attached: a step back is
	 * counted by counter_advance() as a restart. */
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (batch_add_sample_tags(vm, f[i].metric,
					  (double)counter_advance(f[i].last, f[i].now, COUNTER_WIDTH_64, vm, f[i].metric,
								  detail),
					  tags, n_tags) < 0)
			return -ENOMEM;
	return 0;
}

int vm_nics_emit(struct vm_nics *s, struct net_probe *net, Vigil__VmSamples *vm)
{
	struct net_if_counters c;

	for (unsigned i = 0; net && i < s->n; i++) {
		int rc = net_probe_read(net, s->v[i].ifindex, &c);

		/* Gone this interval: the listing drops it, or the next sync
		 * follows it if it was recreated. */
		s->v[i].vanished = rc == -ENODEV;
		if (rc < 0)
			continue;
		if (emit_one(&s->v[i], &c, vm) < 0)
			return -ENOMEM;
	}
	return 0;
}
