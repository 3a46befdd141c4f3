// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_csv.c - libFuzzer harness for the site CSV importer (csv.c and
 * import.c): every input is a whole file, imported as a dry run into a
 * real SQLite store (validation, duplicate checks against the store and
 * within the file, the error list), so the store never changes and a
 * crash replays from its input alone. The store holds two POPs and a site,
 * so that references and duplicates resolve both ways.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import.h"
#include "log.h"
#include "store.h"

static struct eg_store *st;
static char path[64];

static void gone(void)
{
	char p[80];

	eg_store_close(st);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char csv[] =
		"tunnel name,source identity,source ip address,primary pop,"
		"failover pop,encryption cipher,psk,maximum bandwidth,enabled\n"
		"branch1,branch1.example.com,198.51.100.7,NYC1,ATL1,AES256-GCM,"
		"branch1-secret-0123456789,50,true\n";
	struct eg_import_result res;
	struct eg_pop_rec p[2] = {
		{ .name = "NYC1", .gateway_ip = 0x0100000a, .probe_ip = 0x01004064,
		  .location = "Lab", .accepting = true },
		{ .name = "ATL1", .gateway_ip = 0x0200000a, .probe_ip = 0x02004064,
		  .location = "Lab", .accepting = true },
	};
	struct eg_err err;
	unsigned i;

	(void)argc;
	(void)argv;
	eg_log_level = EG_LOG_ERR;
	snprintf(path, sizeof(path), "/dev/shm/fuzz_csv.%d.db", (int)getpid());
	unlink(path);
	if (eg_store_open(&st, path, &err)) {
		fprintf(stderr, "store %s: %s\n", path, err.msg);
		exit(1);
	}
	for (i = 0; i < 2; i++)
		if (eg_pop_add(st, &p[i], &err)) {
			fprintf(stderr, "pop: %s\n", err.msg);
			exit(1);
		}
	if (eg_site_import_csv(st, csv, sizeof(csv) - 1, false, &res, &err)) {
		fprintf(stderr, "seed site: %s\n", err.msg);
		exit(1);
	}
	eg_import_result_free(&res);
	atexit(gone);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eg_import_result res;
	struct eg_err err;

	eg_site_import_csv(st, (const char *)data, size, true, &res, &err);
	if (res.imported)
		abort();	/* a dry run writes nothing */
	eg_import_result_free(&res);
	return 0;
}
