/* SPDX-License-Identifier: MIT */
#include "event.h"

#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "signal-util.h"
#include "string-table.h"

static const char *const event_kind_table[_EVENT_KIND_MAX] = {
        [EVENT_START] = "start",
        [EVENT_READY] = "ready",
        [EVENT_EXIT] = "exit",
        [EVENT_STOP] = "stop",
        [EVENT_RESTART] = "restart",
        [EVENT_GIVEUP] = "giveup",
        [EVENT_SHUTDOWN] = "shutdown",
};

DEFINE_STRING_TABLE(event_kind, EventKind, event_kind_table)

/* Events that report how a process ended carry code/signal/normal. */
static bool event_has_status(const Event *ev) {
        return ev->kind == EVENT_EXIT || ev->kind == EVENT_STOP || ev->kind == EVENT_SHUTDOWN;
}

void event_write_json(const Event *ev, FILE *f) {
        fprintf(f, "{\"ts\": %llu, \"event\": \"%s\", \"path\": ",
                (unsigned long long) (ev->ts / USEC_PER_MSEC), event_kind_to_string(ev->kind));
        json_write_string(f, ev->path);
        if (ev->pid > 0)
                fprintf(f, ", \"pid\": %d", (int) ev->pid);
        if (event_has_status(ev)) {
                if (ev->code >= 0)
                        fprintf(f, ", \"code\": %d", ev->code);
                else
                        fputs(", \"code\": null", f);
                /* the tree's end has a status, never a signal */
                if (ev->kind != EVENT_SHUTDOWN) {
                        fputs(", \"signal\": ", f);
                        json_write_string(f, ev->signal > 0 ? signal_to_string(ev->signal) : NULL);
                }
        }
        if (ev->normal >= 0)
                fprintf(f, ", \"normal\": %s", ev->normal ? "true" : "false");
        if (ev->error) {
                fputs(", \"error\": ", f);
                json_write_string(f, ev->error);
        }
        fputc('}', f);
}

void event_write_text(const Event *ev, FILE *f) {
        fprintf(f, "%s: %s", ev->path, event_kind_to_string(ev->kind));
        if (ev->pid > 0)
                fprintf(f, " pid=%d", (int) ev->pid);
        if (event_has_status(ev)) {
                if (ev->signal > 0)
                        fprintf(f, " signal=%s", signal_to_string(ev->signal));
                else if (ev->code >= 0)
                        fprintf(f, " code=%d", ev->code);
        }
        if (ev->normal >= 0)
                fputs(ev->normal ? " (normal)" : " (abnormal)", f);
        if (ev->error)
                fprintf(f, ": %s", ev->error);
}
