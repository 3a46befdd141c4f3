// SPDX-License-Identifier: GPL-2.0
/*
 * xfrm.c - ESP tunnel-mode SAs and policies over NETLINK_XFRM (libmnl).
 *
 * Message layouts are those of <linux/xfrm.h>: a fixed struct per message
 * type (xfrm_usersa_info, xfrm_usersa_id, xfrm_userspi_info,
 * xfrm_userpolicy_info, xfrm_userpolicy_id) followed by XFRMA_* attributes.
 * Every request asks for an ACK, so a request ends either with an ACK
 * (error 0), an NLMSG_ERROR (-errno) or, for dumps, NLMSG_DONE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <openssl/crypto.h>

#include "xfrm.h"

#define XFRM_RCVBUF	65536	/* a dump message may reach 32 KiB */
#define XFRM_REQBUF	4096	/* largest request: NEWSA with a 4096-bit ESN bitmap */

struct eg_xfrm {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	int err;			/* -errno of the last NLMSG_ERROR */
	char errmsg[EG_XFRM_ERRMSG_MAX];
	uint8_t buf[XFRM_RCVBUF] __attribute__((aligned(8)));
};

/* State of one request while its answers are parsed. */
struct req_ctx {
	struct eg_xfrm *x;
	mnl_cb_t cb;			/* per data message, may be NULL */
	void *arg;
	int err;			/* first error a data callback reported */
};

union reqbuf {
	struct nlmsghdr nlh;
	uint8_t b[XFRM_REQBUF];
};

/* ---- socket and request/answer ---------------------------------------- */

static int open_sock(struct eg_xfrm **xp, int flags, unsigned int group)
{
	struct eg_xfrm *x;
	int one = 1;
	int err;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->nl = mnl_socket_open2(NETLINK_XFRM, SOCK_CLOEXEC | flags);
	if (!x->nl) {
		err = -errno;
		goto fail;
	}
	/* Errors must not echo our request: it may hold keys. Old kernels
	 * lack these options; that only costs a longer (wiped) echo. */
	mnl_socket_setsockopt(x->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(x->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto fail;
	}
	if (group && mnl_socket_setsockopt(x->nl, NETLINK_ADD_MEMBERSHIP,
					   &group, sizeof(group)) < 0) {
		err = -errno;
		goto fail;
	}
	x->portid = mnl_socket_get_portid(x->nl);
	x->seq = (uint32_t)time(NULL);
	*xp = x;
	return 0;
fail:
	if (x->nl)
		mnl_socket_close(x->nl);
	free(x);
	return err;
}

int eg_xfrm_open(struct eg_xfrm **x)
{
	return open_sock(x, 0, 0);
}

void eg_xfrm_close(struct eg_xfrm *x)
{
	if (!x)
		return;
	mnl_socket_close(x->nl);
	OPENSSL_cleanse(x->buf, sizeof(x->buf));
	free(x);
}

const char *eg_xfrm_errmsg(const struct eg_xfrm *x)
{
	return x ? x->errmsg : "";
}

static int extack_attr(const struct nlattr *a, void *data)
{
	struct eg_xfrm *x = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(x->errmsg, sizeof(x->errmsg), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*e);

	if (nlh->nlmsg_seq != c->x->seq)
		return MNL_CB_OK;	/* stale answer to an abandoned request */
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		c->x->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;	/* the ACK */
	c->x->err = e->error < 0 ? e->error : -e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
	    mnl_nlmsg_size(MNL_ALIGN(off)) <= nlh->nlmsg_len)
		mnl_attr_parse(nlh, off, extack_attr, c->x);
	return MNL_CB_ERROR;
}

static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;

	return nlh->nlmsg_seq == c->x->seq ? MNL_CB_STOP : MNL_CB_OK;
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	int ret;

	if (!c->cb || nlh->nlmsg_seq != c->x->seq)
		return MNL_CB_OK;
	/* Keep reading after a failed callback so that the rest of a dump
	 * does not stay queued for the next request. */
	ret = c->cb(nlh, c->arg);
	if (ret < 0 && !c->err)
		c->err = ret;
	return MNL_CB_OK;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = on_error,
	[NLMSG_DONE] = on_done,
};

/*
 * Send one request and process every answer to it. cb sees each data
 * message and returns MNL_CB_OK or -errno. Messages with another sequence
 * number (left over from a request abandoned on a receive error) are
 * skipped by the callbacks rather than failing this request.
 */
static int talk(struct eg_xfrm *x, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	struct req_ctx c = { .x = x, .cb = cb, .arg = arg };
	ssize_t n;
	int ret;

	if (++x->seq == 0)
		++x->seq;
	nlh->nlmsg_seq = x->seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	x->err = 0;
	x->errmsg[0] = '\0';

	if (mnl_socket_sendto(x->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(x->nl, x->buf, sizeof(x->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0;
		ret = mnl_cb_run2(x->buf, n, 0, x->portid, on_data, &c,
				  ctl_cbs, NLMSG_MIN_TYPE);
		OPENSSL_cleanse(x->buf, n);
		if (ret == MNL_CB_ERROR)
			return x->err ? x->err : (errno ? -errno : -EIO);
		if (ret == MNL_CB_STOP)
			return c.err;
	}
}

static struct nlmsghdr *msg_start(union reqbuf *r, uint16_t type,
				  uint16_t flags, size_t hdrlen, void **hdr)
{
	struct nlmsghdr *nlh;

	memset(r, 0, sizeof(*r));
	nlh = mnl_nlmsg_put_header(r->b);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	*hdr = mnl_nlmsg_put_extra_header(nlh, hdrlen);
	return nlh;
}

/* Append an attribute with len zeroed payload bytes; NULL if it won't fit. */
static void *attr_reserve(struct nlmsghdr *nlh, uint16_t type, size_t len)
{
	struct nlattr *a;

	if (nlh->nlmsg_len + MNL_ATTR_HDRLEN + MNL_ALIGN(len) > XFRM_REQBUF)
		return NULL;
	a = mnl_nlmsg_get_payload_tail(nlh);
	a->nla_type = type;
	a->nla_len = MNL_ATTR_HDRLEN + len;
	memset(mnl_attr_get_payload(a), 0, MNL_ALIGN(len));
	nlh->nlmsg_len += MNL_ALIGN(a->nla_len);
	return mnl_attr_get_payload(a);
}

static int attr_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
	uint32_t *p = attr_reserve(nlh, type, sizeof(v));

	if (!p)
		return -EMSGSIZE;
	*p = v;
	return 0;
}

/* ---- SPI allocation ----------------------------------------------------- */

static int parse_newsa_spi(const struct nlmsghdr *nlh, void *arg)
{
	struct xfrm_usersa_info p;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(p))
		return -EBADMSG;
	memcpy(&p, mnl_nlmsg_get_payload(nlh), sizeof(p));	/* 4-aligned */
	*(uint32_t *)arg = p.id.spi;
	return MNL_CB_OK;
}

int eg_xfrm_spi_alloc(struct eg_xfrm *x, uint32_t saddr, uint32_t daddr,
		      uint32_t reqid, uint32_t if_id, uint32_t *spi)
{
	struct xfrm_userspi_info *u;
	struct nlmsghdr *nlh;
	union reqbuf r;
	uint32_t got = 0;
	int err;

	nlh = msg_start(&r, XFRM_MSG_ALLOCSPI, 0, sizeof(*u), (void **)&u);
	u->info.id.daddr.a4 = daddr;
	u->info.id.proto = IPPROTO_ESP;
	u->info.saddr.a4 = saddr;
	u->info.family = AF_INET;
	u->info.mode = XFRM_MODE_TUNNEL;
	u->info.reqid = reqid;
	u->info.sel.family = AF_INET;
	u->min = EG_XFRM_SPI_MIN;
	u->max = EG_XFRM_SPI_MAX;
	if (if_id && (err = attr_u32(nlh, XFRMA_IF_ID, if_id)))
		return err;
	err = talk(x, nlh, parse_newsa_spi, &got);
	if (err)
		return err;
	if (!got)
		return -EBADMSG;
	*spi = got;
	return 0;
}

/* ---- SAs ------------------------------------------------------------------ */

static uint64_t limit(uint64_t v)
{
	return v ? v : XFRM_INF;
}

static int check_name(const char *name)
{
	size_t n = strnlen(name, EG_XFRM_ALG_NAME_MAX);

	return (n == 0 || n == EG_XFRM_ALG_NAME_MAX) ? -EINVAL : 0;
}

static int check_sa(const struct eg_xfrm_sa *sa)
{
	if (!sa->spi || !sa->saddr || !sa->daddr)
		return -EINVAL;
	if (!sa->encap_sport != !sa->encap_dport)
		return -EINVAL;
	if (sa->replay_window > EG_XFRM_REPLAY_MAX)
		return -EINVAL;
	if (check_name(sa->enc_name) || sa->enc_key_len > EG_XFRM_ENC_KEY_MAX)
		return -EINVAL;
	switch (sa->kind) {
	case EG_XFRM_AEAD:
		if (!sa->icv_bits)
			return -EINVAL;
		break;
	case EG_XFRM_CRYPT_AUTH:
		if (check_name(sa->auth_name) || !sa->auth_trunc_bits ||
		    sa->auth_key_len > EG_XFRM_AUTH_KEY_MAX)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/* Append the algorithm attributes; the keys land in the request buffer. */
static int put_algs(struct nlmsghdr *nlh, const struct eg_xfrm_sa *sa)
{
	struct xfrm_algo_aead *aead;
	struct xfrm_algo_auth *auth;
	struct xfrm_algo *enc;

	if (sa->kind == EG_XFRM_AEAD) {
		aead = attr_reserve(nlh, XFRMA_ALG_AEAD,
				    sizeof(*aead) + sa->enc_key_len);
		if (!aead)
			return -EMSGSIZE;
		strcpy(aead->alg_name, sa->enc_name);
		aead->alg_key_len = sa->enc_key_len * 8;
		aead->alg_icv_len = sa->icv_bits;
		memcpy(aead->alg_key, sa->enc_key, sa->enc_key_len);
		return 0;
	}
	enc = attr_reserve(nlh, XFRMA_ALG_CRYPT, sizeof(*enc) + sa->enc_key_len);
	if (!enc)
		return -EMSGSIZE;
	strcpy(enc->alg_name, sa->enc_name);
	enc->alg_key_len = sa->enc_key_len * 8;
	memcpy(enc->alg_key, sa->enc_key, sa->enc_key_len);

	auth = attr_reserve(nlh, XFRMA_ALG_AUTH_TRUNC,
			    sizeof(*auth) + sa->auth_key_len);
	if (!auth)
		return -EMSGSIZE;
	strcpy(auth->alg_name, sa->auth_name);
	auth->alg_key_len = sa->auth_key_len * 8;
	auth->alg_trunc_len = sa->auth_trunc_bits;
	memcpy(auth->alg_key, sa->auth_key, sa->auth_key_len);
	return 0;
}

static int build_sa(union reqbuf *r, const struct eg_xfrm_sa *sa)
{
	struct xfrm_replay_state_esn *esn;
	struct xfrm_encap_tmpl *encap;
	struct xfrm_usersa_info *p;
	struct nlmsghdr *nlh;
	uint32_t words;
	int err;

	nlh = msg_start(r, XFRM_MSG_NEWSA, NLM_F_CREATE | NLM_F_EXCL,
			sizeof(*p), (void **)&p);
	/* tunnel mode: the state's own selector stays "any" */
	p->sel.family = AF_INET;
	p->id.daddr.a4 = sa->daddr;
	p->id.spi = sa->spi;
	p->id.proto = IPPROTO_ESP;
	p->saddr.a4 = sa->saddr;
	p->family = AF_INET;
	p->mode = XFRM_MODE_TUNNEL;
	p->reqid = sa->reqid;
	p->lft.soft_byte_limit = limit(sa->soft_bytes);
	p->lft.hard_byte_limit = limit(sa->hard_bytes);
	p->lft.soft_packet_limit = limit(sa->soft_packets);
	p->lft.hard_packet_limit = limit(sa->hard_packets);
	p->lft.soft_add_expires_seconds = sa->soft_time;	/* 0 = none */
	p->lft.hard_add_expires_seconds = sa->hard_time;

	/*
	 * The legacy replay bitmap in xfrm_usersa_info is 32 packets wide.
	 * Larger windows and ESN need XFRMA_REPLAY_ESN_VAL, and then the
	 * kernel insists that xfrm_usersa_info.replay_window be 0.
	 */
	if (sa->esn || sa->replay_window > 32) {
		words = (sa->replay_window + 31) / 32;
		esn = attr_reserve(nlh, XFRMA_REPLAY_ESN_VAL,
				   sizeof(*esn) + words * sizeof(uint32_t));
		if (!esn)
			return -EMSGSIZE;
		esn->bmp_len = words;
		esn->replay_window = sa->replay_window;
		if (sa->esn)
			p->flags |= XFRM_STATE_ESN;
	} else {
		p->replay_window = sa->replay_window;
	}

	err = put_algs(nlh, sa);
	if (err)
		return err;

	if (sa->encap_sport) {
		encap = attr_reserve(nlh, XFRMA_ENCAP, sizeof(*encap));
		if (!encap)
			return -EMSGSIZE;
		encap->encap_type = UDP_ENCAP_ESPINUDP;
		encap->encap_sport = htons(sa->encap_sport);
		encap->encap_dport = htons(sa->encap_dport);
		/* encap_oa stays 0: no NAT-OA, tunnel mode needs none */
	}
	if (sa->if_id)
		return attr_u32(nlh, XFRMA_IF_ID, sa->if_id);
	return 0;
}

int eg_xfrm_sa_add(struct eg_xfrm *x, const struct eg_xfrm_sa *sa)
{
	union reqbuf r;
	int err;

	err = check_sa(sa);
	if (err)
		return err;
	err = build_sa(&r, sa);
	if (err)
		goto out;
	if (sa->update) {
		/* replace the larval SA left by XFRM_MSG_ALLOCSPI */
		r.nlh.nlmsg_type = XFRM_MSG_UPDSA;
		r.nlh.nlmsg_flags = NLM_F_REPLACE;
		err = talk(x, &r.nlh, NULL, NULL);
		if (err != -ESRCH)
			goto out;
		/* larval SA already expired: add the SPI afresh */
		r.nlh.nlmsg_type = XFRM_MSG_NEWSA;
		r.nlh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	}
	err = talk(x, &r.nlh, NULL, NULL);
out:
	OPENSSL_cleanse(&r, sizeof(r));
	return err;
}

static struct nlmsghdr *sa_id_msg(union reqbuf *r, uint16_t type,
				  uint32_t spi, uint32_t daddr, uint8_t proto)
{
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;

	nlh = msg_start(r, type, 0, sizeof(*id), (void **)&id);
	id->daddr.a4 = daddr;
	id->spi = spi;
	id->family = AF_INET;
	id->proto = proto;
	return nlh;
}

int eg_xfrm_sa_del(struct eg_xfrm *x, uint32_t spi, uint32_t daddr)
{
	union reqbuf r;

	return talk(x, sa_id_msg(&r, XFRM_MSG_DELSA, spi, daddr, IPPROTO_ESP),
		    NULL, NULL);
}

static int stats_attr(const struct nlattr *a, void *data)
{
	struct eg_xfrm_sa_stats *st = data;
	const struct xfrm_replay_state_esn *esn;
	const struct xfrm_replay_state *rs;

	switch (mnl_attr_get_type(a)) {
	case XFRMA_IF_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			st->if_id = mnl_attr_get_u32(a);
		break;
	case XFRMA_REPLAY_VAL:
		if (mnl_attr_get_payload_len(a) >= sizeof(*rs)) {
			rs = mnl_attr_get_payload(a);
			st->oseq = rs->oseq;
			st->seq = rs->seq;
		}
		break;
	case XFRMA_REPLAY_ESN_VAL:
		if (mnl_attr_get_payload_len(a) >= sizeof(*esn)) {
			esn = mnl_attr_get_payload(a);
			st->oseq = (uint64_t)esn->oseq_hi << 32 | esn->oseq;
			st->seq = (uint64_t)esn->seq_hi << 32 | esn->seq;
		}
		break;
	}
	return MNL_CB_OK;
}

static int parse_stats(const struct nlmsghdr *nlh, void *arg)
{
	struct eg_xfrm_sa_stats *st = arg;
	struct xfrm_usersa_info p;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(p))
		return -EBADMSG;
	/* netlink payloads are only 4-aligned; the struct has u64s */
	memcpy(&p, mnl_nlmsg_get_payload(nlh), sizeof(p));
	st->bytes = p.curlft.bytes;
	st->packets = p.curlft.packets;
	st->add_time = p.curlft.add_time;
	st->use_time = p.curlft.use_time;
	st->replay_drops = p.stats.replay;
	st->replay_window_drops = p.stats.replay_window;
	st->integrity_failed = p.stats.integrity_failed;
	st->reqid = p.reqid;
	mnl_attr_parse(nlh, sizeof(p), stats_attr, st);
	return MNL_CB_OK;
}

int eg_xfrm_sa_stats(struct eg_xfrm *x, uint32_t spi, uint32_t daddr,
		     struct eg_xfrm_sa_stats *st)
{
	union reqbuf r;

	memset(st, 0, sizeof(*st));
	return talk(x, sa_id_msg(&r, XFRM_MSG_GETSA, spi, daddr, IPPROTO_ESP),
		    parse_stats, st);
}

/* GETSA's answer, copied whole into the request buffer. */
static int copy_newsa(const struct nlmsghdr *nlh, void *arg)
{
	union reqbuf *r = arg;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct xfrm_usersa_info) ||
	    nlh->nlmsg_len > sizeof(r->b))
		return -EBADMSG;
	memcpy(r->b, nlh, nlh->nlmsg_len);
	return MNL_CB_OK;
}

int eg_xfrm_sa_set_encap(struct eg_xfrm *x, uint32_t spi, uint32_t daddr,
			 uint16_t sport, uint16_t dport)
{
	union reqbuf q, r;
	struct nlattr *a;
	bool found = false;
	int err;

	memset(&r, 0, sizeof(r));
	err = talk(x, sa_id_msg(&q, XFRM_MSG_GETSA, spi, daddr, IPPROTO_ESP),
		   copy_newsa, &r);
	if (!err && !r.nlh.nlmsg_len)
		err = -EBADMSG;
	if (err)
		goto out;
	mnl_attr_for_each(a, &r.nlh, sizeof(struct xfrm_usersa_info)) {
		struct xfrm_encap_tmpl *e;

		if (mnl_attr_get_type(a) != XFRMA_ENCAP ||
		    mnl_attr_get_payload_len(a) < sizeof(*e))
			continue;
		e = mnl_attr_get_payload(a);
		e->encap_sport = htons(sport);
		e->encap_dport = htons(dport);
		found = true;
	}
	if (!found) {
		err = -EINVAL;		/* not a UDP-encapsulated SA */
		goto out;
	}
	r.nlh.nlmsg_type = XFRM_MSG_UPDSA;
	r.nlh.nlmsg_flags = NLM_F_REPLACE;
	r.nlh.nlmsg_pid = 0;
	err = talk(x, &r.nlh, NULL, NULL);
out:
	OPENSSL_cleanse(&r, sizeof(r));
	return err;
}

void eg_xfrm_sa_wipe(struct eg_xfrm_sa *sa)
{
	OPENSSL_cleanse(sa, sizeof(*sa));
}

/* ---- policies ------------------------------------------------------------- */

static uint32_t mask4(uint32_t addr, unsigned int len)
{
	return len ? addr & htonl(~0u << (32 - len)) : 0;
}

static int fill_sel(struct xfrm_selector *sel, const struct eg_xfrm_policy *p)
{
	if (p->sel_src_len > 32 || p->sel_dst_len > 32)
		return -EINVAL;
	if (p->dir != XFRM_POLICY_IN && p->dir != XFRM_POLICY_OUT &&
	    p->dir != XFRM_POLICY_FWD)
		return -EINVAL;
	/* store the prefixes masked so that add and del compare equal */
	sel->saddr.a4 = mask4(p->sel_src, p->sel_src_len);
	sel->daddr.a4 = mask4(p->sel_dst, p->sel_dst_len);
	sel->prefixlen_s = p->sel_src_len;
	sel->prefixlen_d = p->sel_dst_len;
	sel->proto = p->proto;
	sel->family = AF_INET;
	return 0;
}

static int policy_put(struct eg_xfrm *x, const struct eg_xfrm_policy *p,
		      uint16_t type, uint16_t flags)
{
	struct xfrm_userpolicy_info *pi;
	struct xfrm_user_tmpl *t;
	struct nlmsghdr *nlh;
	union reqbuf r;
	int err;

	if (!p->tmpl_saddr || !p->tmpl_daddr)
		return -EINVAL;
	nlh = msg_start(&r, type, flags, sizeof(*pi), (void **)&pi);
	err = fill_sel(&pi->sel, p);
	if (err)
		return err;
	pi->lft.soft_byte_limit = XFRM_INF;
	pi->lft.hard_byte_limit = XFRM_INF;
	pi->lft.soft_packet_limit = XFRM_INF;
	pi->lft.hard_packet_limit = XFRM_INF;
	pi->priority = p->priority;
	pi->dir = p->dir;
	pi->action = XFRM_POLICY_ALLOW;
	pi->share = XFRM_SHARE_ANY;

	t = attr_reserve(nlh, XFRMA_TMPL, sizeof(*t));
	if (!t)
		return -EMSGSIZE;
	t->id.daddr.a4 = p->tmpl_daddr;
	t->id.proto = IPPROTO_ESP;
	t->family = AF_INET;
	t->saddr.a4 = p->tmpl_saddr;
	t->reqid = p->reqid;
	t->mode = XFRM_MODE_TUNNEL;
	t->share = XFRM_SHARE_ANY;
	t->aalgos = ~0u;
	t->ealgos = ~0u;
	t->calgos = ~0u;
	if (p->if_id && (err = attr_u32(nlh, XFRMA_IF_ID, p->if_id)))
		return err;
	return talk(x, nlh, NULL, NULL);
}

int eg_xfrm_policy_add(struct eg_xfrm *x, const struct eg_xfrm_policy *p)
{
	return policy_put(x, p, XFRM_MSG_NEWPOLICY, NLM_F_CREATE | NLM_F_EXCL);
}

int eg_xfrm_policy_update(struct eg_xfrm *x, const struct eg_xfrm_policy *p)
{
	return policy_put(x, p, XFRM_MSG_UPDPOLICY, NLM_F_CREATE | NLM_F_REPLACE);
}

/* Delete by selector (index 0) or by kernel index (index != 0). */
static int policy_del(struct eg_xfrm *x, const struct xfrm_selector *sel,
		      uint8_t dir, uint32_t index, uint32_t if_id)
{
	struct xfrm_userpolicy_id *id;
	struct nlmsghdr *nlh;
	union reqbuf r;
	int err;

	nlh = msg_start(&r, XFRM_MSG_DELPOLICY, 0, sizeof(*id), (void **)&id);
	if (sel)
		id->sel = *sel;
	id->dir = dir;
	id->index = index;
	if (if_id && (err = attr_u32(nlh, XFRMA_IF_ID, if_id)))
		return err;
	return talk(x, nlh, NULL, NULL);
}

int eg_xfrm_policy_del(struct eg_xfrm *x, const struct eg_xfrm_policy *p)
{
	struct xfrm_selector sel = { 0 };
	int err;

	err = fill_sel(&sel, p);
	if (err)
		return err;
	return policy_del(x, &sel, p->dir, 0, p->if_id);
}

/* ---- flush and count ------------------------------------------------------ */

struct sa_key {
	uint32_t daddr, spi;
	uint8_t proto;
};

struct pol_key {
	uint32_t index, if_id;
	uint8_t dir;
};

struct walk {
	enum eg_xfrm_match by;
	uint32_t val;
	void *items;			/* struct sa_key[] or struct pol_key[] */
	size_t size, n, cap;
};

static int walk_push(struct walk *w, const void *item)
{
	void *p;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		p = realloc(w->items, w->cap * w->size);
		if (!p)
			return -ENOMEM;
		w->items = p;
	}
	memcpy((uint8_t *)w->items + w->n++ * w->size, item, w->size);
	return 0;
}

struct attr_scan {
	uint32_t if_id;
	const struct nlattr *tmpl;
};

static int scan_attr(const struct nlattr *a, void *data)
{
	struct attr_scan *s = data;

	switch (mnl_attr_get_type(a)) {
	case XFRMA_IF_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			s->if_id = mnl_attr_get_u32(a);
		break;
	case XFRMA_TMPL:
		s->tmpl = a;
		break;
	}
	return MNL_CB_OK;
}

static int walk_sa(const struct nlmsghdr *nlh, void *arg)
{
	struct walk *w = arg;
	struct xfrm_usersa_info p;
	struct attr_scan s = { 0 };
	struct sa_key k;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(p))
		return MNL_CB_OK;
	memcpy(&p, mnl_nlmsg_get_payload(nlh), sizeof(p));	/* 4-aligned */
	if (p.family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(p), scan_attr, &s);
	if (w->by == EG_XFRM_BY_IF_ID ? s.if_id != w->val : p.reqid != w->val)
		return MNL_CB_OK;
	k.daddr = p.id.daddr.a4;
	k.spi = p.id.spi;
	k.proto = p.id.proto;
	return walk_push(w, &k);
}

static bool tmpl_has_reqid(const struct nlattr *a, uint32_t reqid)
{
	const struct xfrm_user_tmpl *t;
	size_t i, n;

	if (!a)
		return false;
	t = mnl_attr_get_payload(a);
	n = mnl_attr_get_payload_len(a) / sizeof(*t);
	for (i = 0; i < n; i++)
		if (t[i].reqid == reqid)
			return true;
	return false;
}

static int walk_policy(const struct nlmsghdr *nlh, void *arg)
{
	struct walk *w = arg;
	struct xfrm_userpolicy_info p;
	struct attr_scan s = { 0 };
	struct pol_key k;

	if (nlh->nlmsg_type != XFRM_MSG_NEWPOLICY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(p))
		return MNL_CB_OK;
	memcpy(&p, mnl_nlmsg_get_payload(nlh), sizeof(p));	/* 4-aligned */
	if (p.dir >= XFRM_POLICY_MAX)	/* per-socket policies */
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(p), scan_attr, &s);
	if (w->by == EG_XFRM_BY_IF_ID ? s.if_id != w->val :
					!tmpl_has_reqid(s.tmpl, w->val))
		return MNL_CB_OK;
	k.index = p.index;
	k.if_id = s.if_id;
	k.dir = p.dir;
	return walk_push(w, &k);
}

/* A dump that the kernel marks interrupted (NLM_F_DUMP_INTR: the table
 * changed meanwhile, libmnl reports -EINTR) is started again. */
static int dump(struct eg_xfrm *x, uint16_t type, mnl_cb_t cb, struct walk *w)
{
	struct nlmsghdr *nlh;
	union reqbuf r;
	int tries = 3, err;

	do {
		w->n = 0;
		memset(&r, 0, sizeof(r));
		nlh = mnl_nlmsg_put_header(r.b);
		nlh->nlmsg_type = type;
		nlh->nlmsg_flags = NLM_F_DUMP;
		err = talk(x, nlh, cb, w);
	} while (err == -EINTR && --tries);
	return err;
}

/* Collect the matching SAs (w_sa) and policies (w_pol). */
static int collect(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val,
		   struct walk *w_sa, struct walk *w_pol)
{
	int err;

	*w_sa = (struct walk){ .by = by, .val = val, .size = sizeof(struct sa_key) };
	*w_pol = (struct walk){ .by = by, .val = val, .size = sizeof(struct pol_key) };
	if ((by != EG_XFRM_BY_IF_ID && by != EG_XFRM_BY_REQID) || !val)
		return -EINVAL;
	err = dump(x, XFRM_MSG_GETSA, walk_sa, w_sa);
	if (!err)
		err = dump(x, XFRM_MSG_GETPOLICY, walk_policy, w_pol);
	return err;
}

int eg_xfrm_count(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val,
		  unsigned int *n_sa, unsigned int *n_policy)
{
	struct walk ws, wp;
	int err;

	err = collect(x, by, val, &ws, &wp);
	if (!err) {
		if (n_sa)
			*n_sa = ws.n;
		if (n_policy)
			*n_policy = wp.n;
	}
	free(ws.items);
	free(wp.items);
	return err;
}

int eg_xfrm_flush(struct eg_xfrm *x, enum eg_xfrm_match by, uint32_t val)
{
	struct walk ws, wp;
	struct sa_key *sk;
	struct pol_key *pk;
	union reqbuf r;
	int n = 0, err;
	size_t i;

	err = collect(x, by, val, &ws, &wp);
	if (err)
		goto out;
	/* Policies first, so that no OUT policy is left without its SA
	 * (that would raise ACQUIREs). Traffic routed into an xfrm
	 * interface whose policy is gone is dropped, never sent in clear. */
	for (i = 0, pk = wp.items; i < wp.n; i++) {
		err = policy_del(x, NULL, pk[i].dir, pk[i].index, pk[i].if_id);
		if (err && err != -ENOENT)
			goto out;
		n += !err;
	}
	for (i = 0, sk = ws.items; i < ws.n; i++) {
		err = talk(x, sa_id_msg(&r, XFRM_MSG_DELSA, sk[i].spi,
					sk[i].daddr, sk[i].proto), NULL, NULL);
		if (err && err != -ESRCH)
			goto out;
		n += !err;
	}
	err = 0;
out:
	free(ws.items);
	free(wp.items);
	return err ? err : n;
}

/* ---- expire monitor -------------------------------------------------------- */

int eg_xfrm_monitor_open(struct eg_xfrm **x)
{
	unsigned int group = XFRMNLGRP_MAPPING;
	int err = open_sock(x, SOCK_NONBLOCK, XFRMNLGRP_EXPIRE);

	if (!err && mnl_socket_setsockopt((*x)->nl, NETLINK_ADD_MEMBERSHIP,
					  &group, sizeof(group)) < 0) {
		err = -errno;
		eg_xfrm_close(*x);
		*x = NULL;
	}
	return err;
}

int eg_xfrm_monitor_fd(const struct eg_xfrm *x)
{
	return mnl_socket_get_fd(x->nl);
}

struct mon_ctx {
	eg_xfrm_expire_cb cb;
	void *arg;
	int n;
};

static int on_expire(const struct nlmsghdr *nlh, void *data)
{
	struct mon_ctx *m = data;
	struct xfrm_user_expire ue;
	struct attr_scan s = { 0 };
	struct eg_xfrm_expire ev;

	if (nlh->nlmsg_type == XFRM_MSG_MAPPING) {
		struct xfrm_user_mapping um;

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(um))
			return MNL_CB_OK;
		memcpy(&um, mnl_nlmsg_get_payload(nlh), sizeof(um));
		ev = (struct eg_xfrm_expire){
			.spi = um.id.spi, .daddr = um.id.daddr.a4,
			.saddr = um.old_saddr.a4, .reqid = um.reqid,
			.mapping = true, .new_saddr = um.new_saddr.a4,
			.new_sport = ntohs(um.new_sport),
		};
		m->n++;
		if (m->cb)
			m->cb(&ev, m->arg);
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type != XFRM_MSG_EXPIRE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(ue))
		return MNL_CB_OK;
	memcpy(&ue, mnl_nlmsg_get_payload(nlh), sizeof(ue));	/* 4-aligned */
	mnl_attr_parse(nlh, sizeof(ue), scan_attr, &s);
	ev = (struct eg_xfrm_expire){
		.spi = ue.state.id.spi,
		.saddr = ue.state.saddr.a4,
		.daddr = ue.state.id.daddr.a4,
		.reqid = ue.state.reqid,
		.if_id = s.if_id,
		.hard = ue.hard,
	};
	m->n++;
	if (m->cb)
		m->cb(&ev, m->arg);
	return MNL_CB_OK;
}

int eg_xfrm_monitor_read(struct eg_xfrm *x, eg_xfrm_expire_cb cb, void *arg)
{
	struct mon_ctx m = { .cb = cb, .arg = arg };
	ssize_t n;

	for (;;) {
		n = recv(mnl_socket_get_fd(x->nl), x->buf, sizeof(x->buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return m.n;
			return -errno;
		}
		/* multicast: sequence 0, sender the kernel (port 0) */
		mnl_cb_run(x->buf, n, 0, 0, on_expire, &m);
		OPENSSL_cleanse(x->buf, n);
	}
}
