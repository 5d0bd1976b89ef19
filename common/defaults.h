/* Where the parts find each other when nothing is configured: one place for
 * the URLs and paths that the probe, the collector and vigilctl share. */
#ifndef VIGIL_DEFAULTS_H
#define VIGIL_DEFAULTS_H

/* The collector's listening URL, and where probes and vigilctl dial. */
#define VIGIL_DEFAULT_LISTEN "tcp://127.0.0.1:7450"

/* The collector's database and configuration file. */
#define VIGIL_DEFAULT_DB "/var/lib/vigil/vigil.db"
#define VIGIL_DEFAULT_CONFIG "/etc/vigil/collector.conf"

#endif
