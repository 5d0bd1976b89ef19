/* The one open/configure/load/prepare/attach sequence of the loaders, and
 * libbpf's print callback. */
#include "bpf_loader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KERNEL_MSG_PREFIX "Kernel error message: "

/* Per thread, as libbpf calls back in the thread that made the request. */
static _Thread_local char kernel_reason[256];

/* Writes "PROGRAM: STEP: strerror[HINT]" into err and returns rc. */
static int step_failed(const struct bpf_loader_ops *ops, const char *step, int rc, const char *hint, char *err,
		       size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s%s", ops->program, step, strerror(-rc), hint ? hint : "");
	return rc;
}

/* libbpf 1.x returns a negative errno; anything else is not one. */
static int as_errno(int rc)
{
	return rc < 0 ? rc : -EINVAL;
}

/* The program bpf_object__attach_skeleton() stopped at: it attaches them in
 * order and gives up at the first failure, so that is the first one meant
 * to be attached that has no link. NULL if none is found. */
static const struct bpf_program *first_unattached(const struct bpf_object_skeleton *s)
{
	for (int i = 0; i < s->prog_cnt; i++) {
		const struct bpf_prog_skeleton *ps =
			(const struct bpf_prog_skeleton *)((const char *)s->progs + (size_t)i * (size_t)s->prog_skel_sz);
		const struct bpf_program *prog = *ps->prog;

		if (bpf_program__autoload(prog) && bpf_program__autoattach(prog) && !*ps->link)
			return prog;
	}
	return NULL;
}

static int attach(const struct bpf_loader_ops *ops, struct bpf_object_skeleton *s, char *err, size_t errlen)
{
	const struct bpf_program *failed;
	char step[160];
	int rc = bpf_object__attach_skeleton(s);

	if (!rc)
		return 0;
	failed = first_unattached(s);
	if (failed)
		snprintf(step, sizeof(step), "attaching %s (%s)", bpf_program__name(failed),
			 bpf_program__section_name(failed));
	else
		snprintf(step, sizeof(step), "attaching the BPF programs");
	return step_failed(ops, step, as_errno(rc), NULL, err, errlen);
}

int bpf_loader_start(const struct bpf_loader_ops *ops, void *ctx, char *err, size_t errlen)
{
	struct bpf_object_skeleton *s;
	int rc;

	errno = 0;
	s = ops->open(ctx);
	if (!s)
		return step_failed(ops, "opening the BPF skeleton", errno ? -errno : -EINVAL, NULL, err, errlen);
	if (ops->configure && (rc = ops->configure(ctx)) < 0)
		return step_failed(ops, ops->configure_step, rc, NULL, err, errlen);
	rc = bpf_object__load_skeleton(s);
	if (rc)
		return step_failed(ops, "loading the BPF programs", as_errno(rc), ops->load_hint, err, errlen);
	if (ops->prepare && (rc = ops->prepare(ctx)) < 0)
		return step_failed(ops, ops->prepare_step, rc, NULL, err, errlen);
	if (!ops->attach_later && (rc = attach(ops, s, err, errlen)) < 0)
		return rc;
	rc = libbpf_num_possible_cpus();
	if (rc <= 0)
		return step_failed(ops, "counting possible CPUs", rc < 0 ? rc : -EINVAL, NULL, err, errlen);
	return rc;
}

/* Keeps the reason of a "Kernel error message: REASON" warning. libbpf puts
 * its own "libbpf: " before the message; both prefixes are plain text, so
 * the arguments still match what is left of the format. */
static void keep_kernel_reason(const char *reason_fmt, va_list ap)
{
	size_t n;

	vsnprintf(kernel_reason, sizeof(kernel_reason), reason_fmt, ap);
	n = strlen(kernel_reason);
	if (n && kernel_reason[n - 1] == '\n')
		kernel_reason[n - 1] = '\0';
}

int bpf_loader_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	const char *reason = strstr(fmt, KERNEL_MSG_PREFIX);

	if (level > LIBBPF_WARN)
		return 0;
	if (!reason)
		return vfprintf(stderr, fmt, ap);
	keep_kernel_reason(reason + strlen(KERNEL_MSG_PREFIX), ap);
	return 0;
}

const char *bpf_loader_kernel_reason(void)
{
	return kernel_reason;
}

void bpf_loader_clear_kernel_reason(void)
{
	kernel_reason[0] = '\0';
}
