/* A tiny KVM guest, driven through /dev/kvm, whose exits are known in advance.
 *
 *   kvm_tiny [--outs N] [--rounds R] [--stop] [--seconds S]
 *
 * The guest runs 16-bit real-mode code from guest-physical 0x1000: N `out`
 * instructions to port 0x3f8, then `hlt`, then back to the start, R times.
 * With no in-kernel irqchip every `out` and every `hlt` leaves the guest and
 * comes back to this process as KVM_EXIT_IO and KVM_EXIT_HLT, so the kernel
 * reports exactly N * R I/O-instruction exits and R HLT exits (other exits,
 * such as host interrupts or the first touch of guest memory, come on top).
 *
 * It prints its pid first, then "ready" once the VM is set up. With --stop it
 * then stops itself (SIGSTOP) so that a test can start watching it before the
 * guest runs; SIGCONT lets it go on. At the end it prints "io=X hlt=Y" as
 * counted here. Exit codes: 0 done, 1 the guest could not run, 2 usage. The
 * run is bounded by --seconds (default 10). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define GUEST_MEM_SIZE 0x10000 /* 64 KiB at guest-physical 0 */
#define GUEST_CODE_GPA 0x1000
#define GUEST_PORT     0x3f8
#define MAX_OUTS       1000
#define MAX_ROUNDS     1000000
#define MAX_SECONDS    60

struct tiny_config {
	int outs;
	int rounds;
	int seconds;
	bool stop;
};

struct tiny_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

struct tiny_counts {
	long io, hlt;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kvm_tiny [--outs N] [--rounds R] [--stop] [--seconds S]\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct tiny_config *cfg)
{
	static const struct option opts[] = {
		{ "outs", required_argument, NULL, 'o' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "stop", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*cfg = (struct tiny_config){ .outs = 5, .rounds = 1, .seconds = 10 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (parse_int(optarg, 0, MAX_OUTS, &cfg->outs))
				return -1;
			break;
		case 'r':
			if (parse_int(optarg, 1, MAX_ROUNDS, &cfg->rounds))
				return -1;
			break;
		case 's':
			if (parse_int(optarg, 1, MAX_SECONDS, &cfg->seconds))
				return -1;
			break;
		case 'S':
			cfg->stop = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

/* Writes the guest's code at p; returns its length. Real mode, so each
 * instruction is its 16-bit encoding:
 *	start:	mov dx, 0x3f8
 *		out dx, al		; outs times
 *		hlt
 *		jmp start		; short jump, hence the MAX_OUTS bound */
static size_t write_guest_code(uint8_t *p, int outs)
{
	size_t n = 0;
	int back;

	p[n++] = 0xba; /* mov dx, imm16 */
	p[n++] = GUEST_PORT & 0xff;
	p[n++] = GUEST_PORT >> 8;
	for (int i = 0; i < outs; i++)
		p[n++] = 0xee; /* out dx, al */
	p[n++] = 0xf4; /* hlt */
	if (outs + 6 > 128) {
		/* jmp rel16: the offset is from the end of the 3-byte jump. */
		back = -(int)(n + 3);
		p[n++] = 0xe9;
		p[n++] = (uint8_t)(back & 0xff);
		p[n++] = (uint8_t)((back >> 8) & 0xff);
	} else {
		back = -(int)(n + 2);
		p[n++] = 0xeb; /* jmp rel8 */
		p[n++] = (uint8_t)back;
	}
	return n;
}

static int fail(const char *step)
{
	fprintf(stderr, "kvm_tiny: %s: %s\n", step, strerror(errno));
	return -1;
}

/* The VM, its one memory slot and its one vCPU, in real mode at the code. */
static int setup_vm(struct tiny_vm *vm, int outs)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	int size;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail("opening /dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		errno = EPROTO;
		return fail("checking the KVM API version");
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail("KVM_CREATE_VM");

	vm->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		return fail("allocating guest memory");
	write_guest_code(vm->mem + GUEST_CODE_GPA, outs);
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return fail("KVM_CREATE_VCPU");
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(*vm->run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		return fail("mapping the vCPU's kvm_run");

	/* The vCPU starts in real mode; only CS needs to point at the code. */
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	regs.rip = GUEST_CODE_GPA;
	regs.rflags = 0x2; /* bit 1 is reserved and must be set */
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The port I/O the guest's code does: one byte out to GUEST_PORT. */
static bool expected_io(const struct kvm_run *run)
{
	return run->io.direction == KVM_EXIT_IO_OUT && run->io.port == GUEST_PORT &&
	       run->io.size == 1 && run->io.count == 1;
}

/* Runs the guest until it has halted cfg->rounds times. */
static int run_guest(struct tiny_vm *vm, const struct tiny_config *cfg, struct tiny_counts *n)
{
	double deadline = now_s() + cfg->seconds;

	while (n->hlt < cfg->rounds) {
		if (now_s() > deadline) {
			fprintf(stderr, "kvm_tiny: still running after %d s\n", cfg->seconds);
			return -1;
		}
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		switch (vm->run->exit_reason) {
		case KVM_EXIT_IO:
			if (!expected_io(vm->run)) {
				fprintf(stderr, "kvm_tiny: unexpected I/O exit (port 0x%x)\n", vm->run->io.port);
				return -1;
			}
			n->io++;
			break;
		case KVM_EXIT_HLT:
			n->hlt++;
			break;
		case KVM_EXIT_INTR:
			break; /* a signal; run again */
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "kvm_tiny: KVM_RUN: entry failed, hardware reason 0x%llx\n",
				(unsigned long long)vm->run->fail_entry.hardware_entry_failure_reason);
			return -1;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "kvm_tiny: KVM_RUN: internal error, suberror %u\n",
				vm->run->internal.suberror);
			return -1;
		default:
			fprintf(stderr, "kvm_tiny: KVM_RUN: unexpected exit reason %u\n",
				vm->run->exit_reason);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tiny_vm vm = { .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
	struct tiny_config cfg;
	struct tiny_counts n = { 0 };
	int rc;

	if (parse_args(argc, argv, &cfg)) {
		usage(stderr);
		return 2;
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (setup_vm(&vm, cfg.outs))
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (cfg.stop)
		raise(SIGSTOP);

	rc = run_guest(&vm, &cfg, &n);
	printf("io=%ld hlt=%ld\n", n.io, n.hlt);
	/* The VM goes away with its file descriptors at exit. */
	return rc ? 1 : 0;
}
