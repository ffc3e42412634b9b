/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "log-sink.h"
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

/* A line is formatted into memory, then handed whole to the sink, which never blocks arbord. */
static FILE *line_open(char **buf, size_t *len) {
        FILE *f = open_memstream(buf, len);

        if (!f)
                log_sink_drop();
        return f;
}

/* open_memstream() sets *buf and *len at fclose(). */
static void line_send(FILE *f, char **buf, const size_t *len) {
        if (fclose(f) == 0)
                log_sink_write(*buf, *len);
        else
                log_sink_drop();
        free(*buf);
        *buf = NULL;
}

int log_full_errno(LogLevel level, int error, const char *fmt, ...) {
        char msg[1024], *line = NULL;
        size_t len = 0;
        va_list ap;
        FILE *f;

        if (level > log_max_level)
                return -error;
        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        f = line_open(&line, &len);
        if (!f)
                return -error;
        if (log_format == LOG_FORMAT_JSON) {
                /* messages are JSON too, so that the stream stays parseable; they carry "level", events don't */
                fprintf(f, "{\"level\": \"%s\", \"message\": ", level_names[level]);
                json_write_string(f, msg);
                fputs("}\n", f);
        } else if (level == LOG_LEVEL_INFO)
                fprintf(f, "arbord: %s\n", msg);
        else
                fprintf(f, "arbord: %s: %s\n", level_names[level], msg);
        line_send(f, &line, &len);
        return -error;
}

void log_event(const Event *ev) {
        char *line = NULL;
        size_t len = 0;
        FILE *f = line_open(&line, &len);

        if (!f)
                return;
        if (log_format == LOG_FORMAT_JSON)
                event_write_json(ev, f);
        else {
                fputs("arbord: ", f);
                event_write_text(ev, f);
        }
        fputc('\n', f);
        line_send(f, &line, &len);
}
