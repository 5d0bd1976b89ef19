// SPDX-License-Identifier: GPL-2.0
/* The floor for bench/uring_cost.c: programs on the io_uring hooks of
 * bpf/disk_io.bpf.c that do nothing. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(empty_uring_submit, struct io_kiocb *req)
{
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(empty_uring_complete, void *ring, void *req)
{
	return 0;
}
