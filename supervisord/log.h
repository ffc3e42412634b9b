/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * arbord's log: messages and lifecycle events on stderr, as readable text
 * (the default) or as one JSON object per line (--log-format json).
 * Logging functions that take an error return it negated, so that
 * `return log_error_errno(r, "...: %m")` both logs and propagates.
 */

#include <stdbool.h>

#include "event.h"
#include "macro.h"

typedef enum LogFormat {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
        _LOG_FORMAT_MAX,
        _LOG_FORMAT_INVALID = -EINVAL,
} LogFormat;

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
} LogLevel;

LogFormat log_format_from_string(const char *s);
const char *log_format_to_string(LogFormat f);
void log_set_format(LogFormat f);
LogFormat log_get_format(void);
void log_set_max_level(LogLevel l);

/* Logs with errno set to error (>= 0) for %m; returns -error. */
int log_full_errno(LogLevel level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, (e) < 0 ? -(e) : (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, (e) < 0 ? -(e) : (e), __VA_ARGS__)

/* Writes one lifecycle event in the current format. */
void log_event(const Event *ev);
