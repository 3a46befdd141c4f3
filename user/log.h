/* SPDX-License-Identifier: GPL-2.0 */
/* log.h - ipsecd's logging: one line per event on stderr, level-filtered. */
#ifndef EG_LOG_H
#define EG_LOG_H

enum eg_log_level { EG_LOG_ERR, EG_LOG_WARN, EG_LOG_INFO, EG_LOG_DEBUG };

extern enum eg_log_level eg_log_level;

void eg_log(enum eg_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Every line carries the function that logged it. */
#define pr_err(fmt, ...)   eg_log(EG_LOG_ERR, "%s: " fmt, __func__, ##__VA_ARGS__)
#define pr_warn(fmt, ...)  eg_log(EG_LOG_WARN, "%s: " fmt, __func__, ##__VA_ARGS__)
#define pr_info(fmt, ...)  eg_log(EG_LOG_INFO, "%s: " fmt, __func__, ##__VA_ARGS__)
#define pr_debug(fmt, ...) eg_log(EG_LOG_DEBUG, "%s: " fmt, __func__, ##__VA_ARGS__)

#endif /* EG_LOG_H */
