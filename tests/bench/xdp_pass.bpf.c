// SPDX-License-Identifier: GPL-2.0
/* xdp_pass.bpf.c - the floor for `make bench`: an XDP program that only passes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
