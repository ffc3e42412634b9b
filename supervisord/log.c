/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "string-table.h"

/* The one piece of global state in arbord: set once from argv. */
static LogFormat log_format = LOG_FORMAT_TEXT;
static LogLevel log_max_level = LOG_LEVEL_INFO;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

static const char *const log_format_table[_LOG_FORMAT_MAX] = {
        [LOG_FORMAT_TEXT] = "text",
        [LOG_FORMAT_JSON] = "json",
};

DEFINE_STRING_TABLE(log_format, LogFormat, log_format_table)

void log_set_format(LogFormat f) {
        log_format = f;
}

LogFormat log_get_format(void) {
        return log_format;
}

void log_set_max_level(LogLevel l) {
        log_max_level = l;
}

int log_full_errno(LogLevel level, int error, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        if (level > log_max_level)
                return -error;
        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_format == LOG_FORMAT_JSON) {
                /* messages are JSON too, so that the stream stays parseable; they carry "level", events don't */
                fprintf(stderr, "{\"level\": \"%s\", \"message\": ", level_names[level]);
                json_write_string(stderr, msg);
                fputs("}\n", stderr);
        } else if (level == LOG_LEVEL_INFO)
                fprintf(stderr, "arbord: %s\n", msg);
        else
                fprintf(stderr, "arbord: %s: %s\n", level_names[level], msg);
        (void) fflush(stderr);
        return -error;
}

void log_event(const Event *ev) {
        if (log_format == LOG_FORMAT_JSON)
                event_write_json(ev, stderr);
        else {
                fputs("arbord: ", stderr);
                event_write_text(ev, stderr);
        }
        fputc('\n', stderr);
        (void) fflush(stderr);
}
