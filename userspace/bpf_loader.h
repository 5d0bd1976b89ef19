/* Bringing up a BPF skeleton the same way in every loader (cpu_sched.c,
 * disk_io.c, kvm_exit.c, net_tc.c): open, configure (.rodata, autoload, map
 * sizes), load, prepare (memory-map maps, read ids), attach. A failed step
 * is named in the message, with the program it was for.
 *
 * The helper frees nothing: what a failed start leaves behind (the
 * skeleton, mappings) is freed by the loader's own close function, which is
 * its one cleanup path whether the start failed or not.
 *
 * Also here: the callback for libbpf's messages. Library code never calls
 * libbpf_set_print(); a program's main() installs bpf_loader_print once. */
#ifndef VIGIL_BPF_LOADER_H
#define VIGIL_BPF_LOADER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <bpf/libbpf.h>

/* How one loader brings up its skeleton. Every hook gets the loader's own
 * state (ctx) and returns 0 or a negative errno. */
struct bpf_loader_ops {
	const char *program; /* the skeleton's name, e.g. "kvm_exit": messages start with it */
	/* Calls X__open(), keeps the skeleton in ctx and returns its
	 * descriptor (skel->skeleton); NULL with errno set on failure. */
	struct bpf_object_skeleton *(*open)(void *ctx);
	/* Before load: .rodata, autoload, map sizes. NULL: nothing to do. */
	int (*configure)(void *ctx);
	const char *configure_step; /* what configure does, for messages */
	/* After load, before attach: maps memory, reads program ids. NULL:
	 * nothing to do. */
	int (*prepare)(void *ctx);
	const char *prepare_step;
	const char *load_hint;      /* appended to a load failure ("is this root? ...") */
	bool attach_later;          /* the loader attaches by itself (tc, per interface) */
};

/* Runs open, configure, load, prepare and attach (unless attach_later),
 * then counts the possible CPUs, which is how many values a per-CPU map
 * holds. Returns that count (>= 1), or a negative errno with
 * "PROGRAM: STEP: REASON[HINT]" in err. An attach failure names the BPF
 * program and its section that failed. */
int bpf_loader_start(const struct bpf_loader_ops *ops, void *ctx, char *err, size_t errlen);

/* libbpf's print callback, for libbpf_set_print() in main(): warnings
 * only, as libbpf's info and debug output is noise in a daemon. The
 * kernel's reason for a refused netlink request (libbpf's "Kernel error
 * message: ..." warning) is not printed but kept, per thread, for
 * bpf_loader_kernel_reason(): tc requests that are expected to fail would
 * otherwise litter the log. */
int bpf_loader_print(enum libbpf_print_level level, const char *fmt, va_list ap);

/* The kernel's reason for this thread's last refused tc request since
 * bpf_loader_clear_kernel_reason(), or "" (also when main() did not install
 * bpf_loader_print). */
const char *bpf_loader_kernel_reason(void);
void bpf_loader_clear_kernel_reason(void);

#endif
