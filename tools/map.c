// SPDX-License-Identifier: GPL-2.0
/*
 * map.c - `ipsecctl map list|dump`: read the pinned maps directly, no daemon
 * needed, and decode keys and values into addresses, site names and summed
 * per-CPU counters. Site names come from the store, opened read-only.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sqlite3.h>

#include <time.h>

#include "datapath.h"
#include "dp_index.h"
#include "flows.h"
#include "espgate.h"
#include "ipsecctl.h"

static const char *const reason_names[] = EG_REASON_NAMES;

/* Site id -> name from the database, read-only; "" when unknown. */
struct names {
	sqlite3 *db;
	sqlite3_stmt *q;
	char buf[128];
};

static void names_open(struct names *n)
{
	memset(n, 0, sizeof(*n));
	if (sqlite3_open_v2(g.db, &n->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db, "SELECT name FROM sites WHERE id = ?", -1,
			       &n->q, NULL) != SQLITE_OK) {
		sqlite3_close(n->db);
		n->db = NULL;
	}
}

static const char *names_get(struct names *n, __u32 id)
{
	n->buf[0] = '\0';
	if (!n->q)
		return n->buf;
	sqlite3_bind_int64(n->q, 1, id);
	if (sqlite3_step(n->q) == SQLITE_ROW)
		snprintf(n->buf, sizeof(n->buf), "%s", sqlite3_column_text(n->q, 0));
	sqlite3_reset(n->q);
	return n->buf;
}

static void names_close(struct names *n)
{
	sqlite3_finalize(n->q);
	sqlite3_close(n->db);
}

static int open_map(const char *name, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", g.pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static const char *type_name(__u32 t)
{
	switch (t) {
	case BPF_MAP_TYPE_HASH: return "hash";
	case BPF_MAP_TYPE_ARRAY: return "array";
	case BPF_MAP_TYPE_PERCPU_HASH: return "percpu_hash";
	case BPF_MAP_TYPE_PERCPU_ARRAY: return "percpu_array";
	case BPF_MAP_TYPE_LRU_HASH: return "lru_hash";
	case BPF_MAP_TYPE_LRU_PERCPU_HASH: return "lru_percpu_hash";
	default: return "other";
	}
}

/* Entries in use: walk the keys (arrays report max_entries). */
static long count_entries(int fd, const struct bpf_map_info *info)
{
	char key[64], next[64];
	long n = 0;
	void *prev = NULL;

	if (info->type == BPF_MAP_TYPE_ARRAY || info->type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info->key_size > sizeof(key))
		return info->max_entries;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, info->key_size);
		prev = key;
		n++;
	}
	return n;
}

static int map_list(int argc, char **argv)
{
	struct json_object *arr = json_object_new_array();
	struct dirent *de;
	DIR *dir;

	(void)argv;
	if (argc) {
		json_object_put(arr);
		return ctl_err("usage: ipsecctl map list");
	}
	dir = opendir(g.pin_root);
	if (!dir) {
		json_object_put(arr);
		return ctl_err("no maps pinned under %s (%s); is ipsecd running?",
			       g.pin_root, strerror(errno));
	}
	if (!g.json)
		printf("%-16s %-14s %8s %8s %10s %10s\n", "NAME", "TYPE", "KEY", "VALUE",
		       "MAX", "ENTRIES");
	while ((de = readdir(dir))) {
		struct bpf_map_info info;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = open_map(de->d_name, &info);
		if (fd < 0)
			continue;
		if (g.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(de->d_name));
			json_object_object_add(o, "type", json_object_new_string(type_name(info.type)));
			json_object_object_add(o, "key_size", json_object_new_int(info.key_size));
			json_object_object_add(o, "value_size", json_object_new_int(info.value_size));
			json_object_object_add(o, "max_entries", json_object_new_int(info.max_entries));
			json_object_object_add(o, "entries",
					       json_object_new_int64(count_entries(fd, &info)));
			json_object_array_add(arr, o);
		} else {
			printf("%-16s %-14s %8u %8u %10u %10ld\n", de->d_name,
			       type_name(info.type), info.key_size, info.value_size,
			       info.max_entries, count_entries(fd, &info));
		}
		close(fd);
	}
	closedir(dir);
	if (g.json)
		print_json(arr);
	json_object_put(arr);
	return EXIT_SUCCESS;
}

static const char *ip4(__u32 be, char *buf)
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

static void ctr_json(struct json_object *o, const struct eg_site_ctr *c)
{
	json_object_object_add(o, "rx_pkts", json_object_new_uint64(c->ike_pkts + c->esp_pkts));
	json_object_object_add(o, "rx_bytes", json_object_new_uint64(c->rx_bytes));
	json_object_object_add(o, "ike_pkts", json_object_new_uint64(c->ike_pkts));
	json_object_object_add(o, "esp_pkts", json_object_new_uint64(c->esp_pkts));
	json_object_object_add(o, "keepalives", json_object_new_uint64(c->keepalives));
	json_object_object_add(o, "drop_disabled", json_object_new_uint64(c->drop_disabled));
	json_object_object_add(o, "drop_bad_spi", json_object_new_uint64(c->drop_bad_spi));
	json_object_object_add(o, "drop_ike_rate", json_object_new_uint64(c->drop_ike_rate));
	json_object_object_add(o, "last_alive_ns", json_object_new_uint64(c->last_alive_ns));
}

/* eg_sites and eg_site_ctr: one row per site, keyed by source address. */
static int dump_sites(int fd, bool with_ctr, struct names *nm)
{
	struct json_object *arr = json_object_new_array();
	struct bpf_map_info info;
	__u32 key, next, *prev = NULL;
	int cfd = -1;

	if (with_ctr) {
		cfd = open_map(EG_MAP_SITE_CTR, &info);
		if (cfd < 0) {
			json_object_put(arr);
			return ctl_err("open %s: %s", EG_MAP_SITE_CTR, strerror(-cfd));
		}
		if (!g.json)
			printf("%-15s %-20s %6s %10s %12s %8s %8s %6s %8s %8s\n", "SOURCE IP",
			       "SITE", "SLOT", "RX PKTS", "RX BYTES", "IKE", "ESP", "KA",
			       "DISABLED", "BAD SPI");
	} else if (!g.json) {
		printf("%-15s %-20s %8s %6s %s\n", "SOURCE IP", "SITE", "ID", "SLOT", "FLAGS");
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct eg_site s;
		struct eg_site_ctr c;
		char ip[INET_ADDRSTRLEN];
		const char *name;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &s))
			continue;
		name = names_get(nm, s.site_id);
		if (with_ctr && eg_percpu_site_sum(cfd, s.slot, &c))
			continue;
		if (g.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "source_ip", json_object_new_string(ip4(key, ip)));
			json_object_object_add(o, "site", json_object_new_string(name));
			json_object_object_add(o, "site_id", json_object_new_int64(s.site_id));
			json_object_object_add(o, "slot", json_object_new_int64(s.slot));
			json_object_object_add(o, "enabled",
					       json_object_new_boolean(s.flags & EG_SITE_ENABLED));
			if (with_ctr)
				ctr_json(o, &c);
			json_object_array_add(arr, o);
		} else if (with_ctr) {
			printf("%-15s %-20s %6u %10llu %12llu %8llu %8llu %6llu %8llu %8llu\n",
			       ip4(key, ip), name, s.slot,
			       (unsigned long long)(c.ike_pkts + c.esp_pkts), (unsigned long long)c.rx_bytes,
			       (unsigned long long)c.ike_pkts, (unsigned long long)c.esp_pkts,
			       (unsigned long long)c.keepalives,
			       (unsigned long long)c.drop_disabled,
			       (unsigned long long)c.drop_bad_spi);
		} else {
			printf("%-15s %-20s %8u %6u %s\n", ip4(key, ip), name, s.site_id,
			       s.slot, s.flags & EG_SITE_ENABLED ? "enabled" : "disabled");
		}
	}
	if (g.json)
		print_json(arr);
	json_object_put(arr);
	if (cfd >= 0)
		close(cfd);
	return EXIT_SUCCESS;
}

struct spi_dump {
	struct json_object *arr;
	struct names *nm;
};

static int spi_row(const struct eg_spi *v, void *arg)
{
	struct spi_dump *d = arg;
	char spi[16], ip[INET_ADDRSTRLEN];

	snprintf(spi, sizeof(spi), "0x%08x", ntohl(v->spi));
	if (g.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "spi", json_object_new_string(spi));
		json_object_object_add(o, "index", json_object_new_int64(eg_spi_idx(ntohl(v->spi))));
		json_object_object_add(o, "site", json_object_new_string(names_get(d->nm, v->site_id)));
		json_object_object_add(o, "site_id", json_object_new_int64(v->site_id));
		json_object_object_add(o, "source_ip", json_object_new_string(ip4(v->saddr, ip)));
		json_object_array_add(d->arr, o);
	} else {
		printf("%-10s %7u %-20s %8u %s\n", spi, eg_spi_idx(ntohl(v->spi)),
		       names_get(d->nm, v->site_id), v->site_id, ip4(v->saddr, ip));
	}
	return 0;
}

static int dump_spis(int fd, struct names *nm)
{
	struct spi_dump d = { .arr = json_object_new_array(), .nm = nm };
	int err;

	if (!g.json)
		printf("%-10s %7s %-20s %8s %s\n", "SPI", "INDEX", "SITE", "SITE ID", "SOURCE IP");
	err = eg_spis_walk(fd, spi_row, &d);
	if (err)
		fprintf(stderr, "ipsecctl: reading %s: %s\n", EG_MAP_SPIS, strerror(-err));
	else if (g.json)
		print_json(d.arr);
	json_object_put(d.arr);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* eg_src: the buckets in use, read whole in a few batches. */
static int dump_src(int fd, struct names *nm)
{
	enum { CHUNK = 65536 };
	struct json_object *arr = json_object_new_array();
	struct eg_src *v = malloc(CHUNK * sizeof(*v));
	__u32 *k = malloc(CHUNK * sizeof(*k)), last = 0, done = 0, cnt, i;
	int err = 0;

	(void)nm;
	if (!v || !k) {
		err = -ENOMEM;
		goto out;
	}
	if (!g.json)
		printf("%-8s %-7s %-15s %6s %s\n", "BUCKET", "HOLDS", "SOURCE IP", "SLOT", "FLAGS");
	while (done < EG_SRC_BUCKETS) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);

		cnt = CHUNK;
		if (bpf_map_lookup_batch(fd, done ? &last : NULL, &last, k, v, &cnt, &opts) &&
		    errno != ENOENT) {
			err = -errno;
			break;
		}
		if (!cnt)
			break;
		for (i = 0; i < cnt; i++) {
			const struct eg_src *e = &v[i];
			int one = !(e->flags & EG_SRC_MANY);
			char ip[INET_ADDRSTRLEN];

			if (!(e->flags & (EG_SRC_ONE | EG_SRC_MANY)))
				continue;
			if (g.json) {
				struct json_object *o = json_object_new_object();

				json_object_object_add(o, "bucket", json_object_new_int64(k[i]));
				json_object_object_add(o, "holds",
						       json_object_new_string(one ? "one" : "shared"));
				if (one) {
					json_object_object_add(o, "source_ip",
							       json_object_new_string(ip4(e->saddr, ip)));
					json_object_object_add(o, "slot", json_object_new_int64(e->slot));
					json_object_object_add(o, "enabled",
							       json_object_new_boolean(e->flags & EG_SITE_ENABLED));
				}
				json_object_array_add(arr, o);
			} else if (one) {
				printf("%-8u %-7s %-15s %6u %s\n", k[i], "one", ip4(e->saddr, ip),
				       e->slot, e->flags & EG_SITE_ENABLED ? "enabled" : "disabled");
			} else {
				printf("%-8u %-7s %-15s %6s %s\n", k[i], "shared", "(eg_sites)", "-", "-");
			}
		}
		done += cnt;
	}
	if (!err && g.json)
		print_json(arr);
out:
	if (err)
		fprintf(stderr, "ipsecctl: reading %s: %s\n", EG_MAP_SRC, strerror(-err));
	json_object_put(arr);
	free(v);
	free(k);
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int dump_reasons(int fd, const char *const *names, __u32 n,
			__u32 first_drop)
{
	struct json_object *obj = json_object_new_object();
	__u32 r;

	if (!g.json)
		printf("%-20s %-6s %12s %14s\n", "REASON", "ACTION", "PACKETS", "BYTES");
	for (r = 0; r < n; r++) {
		struct eg_ctr c;

		if (eg_percpu_stats_sum(fd, r, &c))
			continue;
		if (g.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "action",
					       json_object_new_string(r < first_drop ? "pass" : "drop"));
			json_object_object_add(o, "pkts", json_object_new_uint64(c.pkts));
			json_object_object_add(o, "bytes", json_object_new_uint64(c.bytes));
			json_object_object_add(obj, names[r], o);
		} else {
			printf("%-20s %-6s %12llu %14llu\n", names[r],
			       r < first_drop ? "pass" : "drop",
			       (unsigned long long)c.pkts, (unsigned long long)c.bytes);
		}
	}
	if (g.json)
		print_json(obj);
	json_object_put(obj);
	return EXIT_SUCCESS;
}

static int dump_stats(int fd)
{
	return dump_reasons(fd, reason_names, EG_REASON_MAX, EG_FIRST_DROP);
}

static int dump_ifsite(int fd, struct names *nm)
{
	struct json_object *arr = json_object_new_array();
	__u32 key, next, *prev = NULL;

	if (!g.json)
		printf("%-8s %-20s %6s %-16s %8s %8s %s\n", "IFINDEX", "SITE", "SLOT",
		       "LICENSE", "FLOWCAP", "DEVCAP", "PORTS");
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct eg_isite v;
		char ports[256] = "";
		size_t off = 0;
		unsigned i;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		for (i = 0; i < v.n_ports && i < EG_MAX_CPORTS; i++)
			off += snprintf(ports + off, sizeof(ports) - off, "%s%u",
					i ? "," : "", v.ports[i]);
		if (g.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "ifindex", json_object_new_int64(key));
			json_object_object_add(o, "site", json_object_new_string(names_get(nm, v.site_id)));
			json_object_object_add(o, "site_id", json_object_new_int64(v.site_id));
			json_object_object_add(o, "slot", json_object_new_int64(v.slot));
			json_object_object_add(o, "cloud_firewall",
					       json_object_new_boolean(v.flags & EG_LIC_FW));
			json_object_object_add(o, "flow_cap", json_object_new_int64(v.flow_cap));
			json_object_object_add(o, "dev_cap", json_object_new_int64(v.dev_cap));
			json_object_object_add(o, "ports", json_object_new_string(ports));
			json_object_array_add(arr, o);
		} else {
			printf("%-8u %-20s %6u %-16s %8u %8u %s\n", key, names_get(nm, v.site_id),
			       v.slot, v.flags & EG_LIC_FW ? "cloud-firewall" : "web-gateway",
			       v.flow_cap, v.dev_cap, ports);
		}
	}
	if (g.json)
		print_json(arr);
	json_object_put(arr);
	return EXIT_SUCCESS;
}

/* slot -> site id, from eg_sites (0 = no site holds the slot). */
static __u32 *slot_sites(void)
{
	struct bpf_map_info info;
	__u32 *ids = calloc(EG_MAX_SITES, sizeof(*ids));
	__u32 key, next, *prev = NULL;
	int fd = open_map(EG_MAP_SITES, &info);

	if (!ids || fd < 0) {
		if (fd >= 0)
			close(fd);
		return ids;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct eg_site s;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &s) == 0 && s.slot < EG_MAX_SITES)
			ids[s.slot] = s.site_id;
	}
	close(fd);
	return ids;
}

static const char *slot_name(struct names *nm, const __u32 *ids, __u32 slot)
{
	return ids && slot < EG_MAX_SITES && ids[slot] ? names_get(nm, ids[slot]) : "?";
}

/* eg_flows / eg_devs: one line per entry, with the site's name. */
static int dump_flows_devs(int fd, bool flows, struct names *nm)
{
	struct json_object *arr = json_object_new_array();
	__u32 *ids = slot_sites();
	union { struct eg_flow_key f; struct eg_dev_key d; } key, next;
	void *prev = NULL;
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (!g.json)
		printf(flows ? "%-20s %-5s %-21s %-21s %s\n" : "%-20s %-15s %8s %6s %s\n",
		       "SITE", flows ? "PROTO" : "ENDPOINT", flows ? "SOURCE" : "TUNNEL",
		       flows ? "DESTINATION" : "MOVES", "IDLE");
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		union { struct eg_flow f; struct eg_dev d; } v;
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], src[40], dst[40];
		__u32 slot;
		__u64 seen;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		slot = flows ? key.f.slot : key.d.slot;
		seen = flows ? v.f.last_seen : v.d.last_seen;
		if (g.json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "site", json_object_new_string(slot_name(nm, ids, slot)));
			json_object_object_add(o, "slot", json_object_new_int64(slot));
			if (flows) {
				json_object_object_add(o, "proto", json_object_new_int(key.f.proto));
				json_object_object_add(o, "src", json_object_new_string(ip4(key.f.saddr, a)));
				json_object_object_add(o, "sport", json_object_new_int(ntohs(key.f.sport)));
				json_object_object_add(o, "dst", json_object_new_string(ip4(key.f.daddr, b)));
				json_object_object_add(o, "dport", json_object_new_int(ntohs(key.f.dport)));
				json_object_object_add(o, "class", json_object_new_int(v.f.tclass));
			} else {
				json_object_object_add(o, "endpoint", json_object_new_string(ip4(key.d.saddr, a)));
				json_object_object_add(o, "tunnel", json_object_new_int64(v.d.tunnel));
				json_object_object_add(o, "moves", json_object_new_int64(v.d.moves));
			}
			json_object_object_add(o, "idle_ns",
					       json_object_new_uint64(now > seen ? now - seen : 0));
			json_object_array_add(arr, o);
		} else if (flows) {
			snprintf(src, sizeof(src), "%s:%u", ip4(key.f.saddr, a), ntohs(key.f.sport));
			snprintf(dst, sizeof(dst), "%s:%u", ip4(key.f.daddr, b), ntohs(key.f.dport));
			printf("%-20s %-5u %-21s %-21s %llus\n", slot_name(nm, ids, slot),
			       key.f.proto, src, dst,
			       (unsigned long long)(now > seen ? (now - seen) / 1000000000ULL : 0));
		} else {
			printf("%-20s %-15s %8u %6u %llus\n", slot_name(nm, ids, slot),
			       ip4(key.d.saddr, a), v.d.tunnel, v.d.moves,
			       (unsigned long long)(now > seen ? (now - seen) / 1000000000ULL : 0));
		}
	}
	if (g.json)
		print_json(arr);
	json_object_put(arr);
	free(ids);
	return EXIT_SUCCESS;
}

/* eg_in_cnt (exact counts) and eg_in_ctr (per-CPU counters), per site. */
static int dump_inner_counts(bool cnt, struct names *nm)
{
	struct json_object *arr = json_object_new_array();
	struct bpf_map_info info;
	__u32 *ids = slot_sites(), slot;
	int fd = open_map(cnt ? EG_MAP_IN_CNT : EG_MAP_IN_CTR, &info);

	if (fd < 0 || !ids) {
		free(ids);
		json_object_put(arr);
		return ctl_err("open %s: %s", cnt ? EG_MAP_IN_CNT : EG_MAP_IN_CTR,
			       strerror(fd < 0 ? -fd : ENOMEM));
	}
	if (!g.json)
		printf(cnt ? "%-20s %6s %10s %10s\n" : "%-20s %6s %10s %12s %9s %9s %6s %7s\n",
		       "SITE", "SLOT", cnt ? "FLOWS" : "PKTS", cnt ? "ENDPOINTS" : "BYTES",
		       "NEWFLOWS", "NEWDEVS", "MOVES", "PROBES");
	for (slot = 0; slot < EG_MAX_SITES; slot++) {
		struct eg_in_cnt c;
		struct eg_in_ctr r;
		struct json_object *o;

		if (!ids[slot])
			continue;
		if (cnt ? bpf_map_lookup_elem(fd, &slot, &c) : eg_in_ctr_sum(fd, slot, &r))
			continue;
		if (!g.json) {
			if (cnt)
				printf("%-20s %6u %10llu %10llu\n", slot_name(nm, ids, slot), slot,
				       (unsigned long long)c.flows, (unsigned long long)c.devs);
			else
				printf("%-20s %6u %10llu %12llu %9llu %9llu %6llu %7llu\n",
				       slot_name(nm, ids, slot), slot,
				       (unsigned long long)r.pkts, (unsigned long long)r.bytes,
				       (unsigned long long)r.new_flows, (unsigned long long)r.new_devs,
				       (unsigned long long)r.moves, (unsigned long long)r.probes);
			continue;
		}
		o = json_object_new_object();
		json_object_object_add(o, "site", json_object_new_string(slot_name(nm, ids, slot)));
		json_object_object_add(o, "slot", json_object_new_int64(slot));
		if (cnt) {
			json_object_object_add(o, "flows", json_object_new_uint64(c.flows));
			json_object_object_add(o, "endpoints", json_object_new_uint64(c.devs));
		} else {
			json_object_object_add(o, "pkts", json_object_new_uint64(r.pkts));
			json_object_object_add(o, "bytes", json_object_new_uint64(r.bytes));
			json_object_object_add(o, "new_flows", json_object_new_uint64(r.new_flows));
			json_object_object_add(o, "new_devices", json_object_new_uint64(r.new_devs));
			json_object_object_add(o, "moves", json_object_new_uint64(r.moves));
			json_object_object_add(o, "probes", json_object_new_uint64(r.probes));
		}
		json_object_array_add(arr, o);
	}
	if (g.json)
		print_json(arr);
	json_object_put(arr);
	free(ids);
	close(fd);
	return EXIT_SUCCESS;
}

static int map_dump(int argc, char **argv)
{
	struct bpf_map_info info;
	struct names nm;
	int fd, rc;

	if (argc != 1)
		return ctl_err("usage: ipsecctl map dump NAME   (names: ipsecctl map list)");
	fd = open_map(argv[0], &info);
	if (fd < 0)
		return ctl_err("no map '%s' pinned under %s: %s", argv[0], g.pin_root,
			       strerror(-fd));
	names_open(&nm);
	if (!strcmp(argv[0], EG_MAP_SITES))
		rc = dump_sites(fd, false, &nm);
	else if (!strcmp(argv[0], EG_MAP_SITE_CTR))
		rc = dump_sites(open_map(EG_MAP_SITES, &info), true, &nm);
	else if (!strcmp(argv[0], EG_MAP_SPIS))
		rc = dump_spis(fd, &nm);
	else if (!strcmp(argv[0], EG_MAP_SRC))
		rc = dump_src(fd, &nm);
	else if (!strcmp(argv[0], EG_MAP_STATS))
		rc = dump_stats(fd);
	else if (!strcmp(argv[0], EG_MAP_IN_STATS)) {
		static const char *const in_names[] = EG_IN_REASON_NAMES;

		rc = dump_reasons(fd, in_names, EG_IN_REASON_MAX, EG_IN_FIRST_DROP);
	} else if (!strcmp(argv[0], EG_MAP_IFSITE))
		rc = dump_ifsite(fd, &nm);
	else if (!strcmp(argv[0], EG_MAP_FLOWS) || !strcmp(argv[0], EG_MAP_DEVS))
		rc = dump_flows_devs(fd, !strcmp(argv[0], EG_MAP_FLOWS), &nm);
	else if (!strcmp(argv[0], EG_MAP_IN_CNT) || !strcmp(argv[0], EG_MAP_IN_CTR))
		rc = dump_inner_counts(!strcmp(argv[0], EG_MAP_IN_CNT), &nm);
	else
		rc = ctl_err("no decoder for map '%s'", argv[0]);
	names_close(&nm);
	close(fd);
	return rc;
}

static const struct cmd map_cmds[] = {
	{ "list", map_list, "list" },
	{ "dump", map_dump, "dump NAME" },
	{ 0 }
};

int do_map(int argc, char **argv)
{
	return cmd_dispatch(map_cmds, "map", argc, argv);
}
