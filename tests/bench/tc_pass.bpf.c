// SPDX-License-Identifier: GPL-2.0
/*
 * tc_pass.bpf.c - floors for bench_tc:
 *   tc_pass  a TC program that only returns TC_ACT_OK;
 *   tc_bump  gives every BPF_PROG_TEST_RUN repetition a new inner destination
 *            (test_run reuses one skb, so the write sticks: each repetition
 *            is a new flow) and tail-calls jmp[0] - tc_inner for the
 *            new-flow figure, tc_pass for the cost of bumping itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_OK	0
#define TC_ACT_UNSPEC	(-1)
#define BUMP_OFF	(14 + 16)	/* Ethernet + IPv4 daddr, as test_run has it */

__u32 bump_next;	/* next destination, host order, below 11.0.0.0/8 */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} jmp SEC(".maps");

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

SEC("tc")
int tc_bump(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 *daddr = data + BUMP_OFF;

	if ((void *)(daddr + 1) > end)
		return TC_ACT_UNSPEC;
	*daddr = bpf_htonl(0x0b000000 + (bump_next++ & 0xffffff));
	bpf_tail_call(skb, &jmp, 0);
	return TC_ACT_UNSPEC;	/* empty slot: the bench notices */
}

char LICENSE[] SEC("license") = "GPL";
