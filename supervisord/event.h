/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Lifecycle events: the one record of what happened to the tree. The engine
 * produces them (as ACTION_EVENT); the runtime adds the pid, writes them to
 * the log (text or JSON lines) and hands them to control subscribers. Tests
 * assert on them, so their fields and names are part of the interface: see
 * EVENTS in arbord(8).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "time-util.h"

typedef enum EventKind {
        EVENT_START,    /* a service was spawned / a supervisor began starting its children */
        EVENT_READY,    /* a service is up (exec or READY=1) / a supervisor has all children up */
        EVENT_EXIT,     /* ended on its own: code or signal, normal or not */
        EVENT_STOP,     /* ended because its supervisor stopped it */
        EVENT_RESTART,  /* its supervisor is restarting it */
        EVENT_GIVEUP,   /* a supervisor passed its restart intensity */
        EVENT_SHUTDOWN, /* the whole tree ended; code is arbord's exit status */
        _EVENT_KIND_MAX,
        _EVENT_KIND_INVALID = -EINVAL,
} EventKind;

typedef struct Event {
        EventKind kind;
        usec_t ts;        /* CLOCK_MONOTONIC */
        const char *path; /* "root/web/api"; owned by the spec tree */
        pid_t pid;        /* 0: none or not known */
        int code;         /* exit code; -1: none */
        int signal;       /* terminating signal; 0: none */
        int normal;       /* 1 normal, 0 abnormal, -1: does not apply */
        const char *error; /* why a start failed; NULL: none. Owned by the producer. */
} Event;

const char *event_kind_to_string(EventKind k);
EventKind event_kind_from_string(const char *s);

/* One JSON object, no newline: {"ts": 12, "event": "exit", "path": "root/a", ...} */
void event_write_json(const Event *ev, FILE *f);

/* One line for people: "root/web/api: exit code=1 (abnormal) pid=42" */
void event_write_text(const Event *ev, FILE *f);
