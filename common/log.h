/* log.h — leveled logging to stderr (journald picks stderr up under systemd).
 *
 * The *_errno() forms take a positive or negative errno, print it for %m and
 * return it negative, so a caller logs once and propagates:
 *         return log_error_errno(r, "Failed to bind %s: %m", path);
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Process-wide settings, set once at start-up. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Prefix lines with "<N>" syslog priorities (for journald's stderr parsing). */
void log_set_kernel_style_prefix(bool b);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...)                                       \
        ({                                                                      \
                int _l_ = (level), _e_ = (error);                               \
                _l_ <= log_get_max_level() ? log_internal(_l_, _e_, __VA_ARGS__) \
                                           : -(_e_ < 0 ? -_e_ : _e_);           \
        })

#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* For out-of-memory paths: logs and returns -ENOMEM. */
#define log_oom() log_full_errno(LOG_ERR, ENOMEM, "Out of memory.")
