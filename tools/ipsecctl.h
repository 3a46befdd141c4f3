/* SPDX-License-Identifier: GPL-2.0 */
/* ipsecctl.h - shared between ipsecctl's command files. */
#ifndef EG_IPSECCTL_H
#define EG_IPSECCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

struct ctl_opts {
	bool json;		/* -j */
	bool pretty;		/* -p (implies -j) */
	const char *sock;	/* -s */
	const char *pin_root;	/* -P */
	const char *db;		/* -d, only to name sites in map dumps */
};

extern struct ctl_opts g;

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;	/* one usage line */
};

/* Find argv[0] in cmds by unique prefix and run it; usage on failure. */
int cmd_dispatch(const struct cmd *cmds, const char *group, int argc,
		 char **argv);
/* Print an error (JSON on stderr with -j) and return EXIT_FAILURE. */
int ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an object as JSON per -j/-p. */
void print_json(struct json_object *o);

/* Send cmd to ipsecd; on success *data is the answer (owned by *resp). */
int call(const char *cmd, struct json_object *args, struct json_object **resp,
	 struct json_object **data);
/* The end most commands share: send cmd with args (freed here), print the
 * answer as JSON with -j, or else "WHAT NAME DONE" ("site hq added"), NAME
 * the one in the answer (a rename's new one) or else the one asked for. */
int call_done(const char *cmd, struct json_object *args, const char *what,
	      const char *done);
/* A member as a string ("" if absent) or a number (0). */
const char *jstr(struct json_object *o, const char *key);
int64_t jint(struct json_object *o, const char *key);

int do_map(int argc, char **argv);
int do_health(int argc, char **argv);

#endif /* EG_IPSECCTL_H */
