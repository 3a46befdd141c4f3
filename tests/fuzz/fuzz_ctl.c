// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ctl.c - libFuzzer harness for the control protocol: every input is
 * one request line as ipsecctl would send it, answered by eg_ctl_answer()
 * (the JSON framing of ctl.c) and eg_cmd_dispatch() (every command's
 * argument checks, cmds.c) against a real SQLite store, as ipsecd without
 * an interface or IKE address runs (no data path, no tunnels). The store
 * is made anew every 64 inputs (opening one costs ~20 ms): a crash that
 * needs the sites of earlier inputs replays with -runs over the corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "ctl.h"
#include "ipsecd.h"
#include "log.h"
#include "store.h"

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void forget(void)
{
	static const char *const ext[] = { "", "-wal", "-shm", "-journal" };
	char p[80];
	unsigned i;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, ext[i]);
		unlink(p);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	eg_log_level = EG_LOG_ERR;
	snprintf(path, sizeof(path), "/dev/shm/fuzz_ctl.%d.db", (int)getpid());
	atexit(forget);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipsecd d = { .epfd = -1, .ike_cfg = IKE_CFG_DEFAULT,
				   .db_path = path, .sock_path = "/nonexistent",
				   .pin_root = "/nonexistent", .keep_default = true,
				   .ike_fd = { -1, -1 } };
	static unsigned runs;
	struct json_object *resp, *ok;
	struct eg_err err;

	if (!(runs++ % 64)) {
		eg_store_close(d.st);
		forget();
		if (eg_store_open(&d.st, path, &err)) {
			fprintf(stderr, "store %s: %s\n", path, err.msg);
			abort();
		}
	}
	resp = eg_ctl_answer(eg_cmd_dispatch, &d, (const char *)data, size);
	/* every answer says ok or not, and why not */
	if (!resp || !json_object_object_get_ex(resp, "ok", &ok) ||
	    (!json_object_get_boolean(ok) && !json_object_object_get_ex(resp, "error", NULL)))
		abort();
	json_object_put(resp);
	d.stop = false;		/* "shutdown" asks the loop to stop: no loop here */
	return 0;
}
