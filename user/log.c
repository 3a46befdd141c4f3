// SPDX-License-Identifier: GPL-2.0
/* log.c - timestamped, level-filtered lines on stderr (journald adds the rest). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

enum eg_log_level eg_log_level = EG_LOG_INFO;

void eg_log(enum eg_log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (lvl > eg_log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s: ", tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, tag[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
