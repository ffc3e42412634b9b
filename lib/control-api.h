/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The control API: the names arbord's control server (supervisord/control.c)
 * and arborctl (ctl/arborctl.c) share. docs/control.md documents each
 * method, signal and error; arborctl(8) the exit codes. Names here are an
 * interface: never rename or reuse one, add new ones.
 *
 * Protocol: D-Bus peer to peer (no bus daemon, no Hello) over a unix stream
 * socket; sd-bus frames and marshals. One object, one interface.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARBOR_CONTROL_PATH "/org/arbor/manager"
#define ARBOR_CONTROL_INTERFACE "org.arbor.Manager1"

/* Methods (arguments -> results, D-Bus signatures) */
#define ARBOR_METHOD_VERSION "Version"         /* () -> (s version) */
#define ARBOR_METHOD_STATUS "Status"           /* (s name) -> (t now, a(NODE) nodes); name "": the whole tree */
#define ARBOR_METHOD_START "Start"             /* (s name) -> (s path) */
#define ARBOR_METHOD_STOP "Stop"               /* (s name) -> (s path) */
#define ARBOR_METHOD_RESTART "Restart"         /* (s name) -> (s path) */
#define ARBOR_METHOD_SIGNAL "Signal"           /* (s name, s signal) -> (s path, u processes) */
#define ARBOR_METHOD_SHUTDOWN "Shutdown"       /* () -> () */
#define ARBOR_METHOD_SUBSCRIBE "Subscribe"     /* () -> () */
#define ARBOR_METHOD_UNSUBSCRIBE "Unsubscribe" /* () -> () */

/*
 * One node of Status, in pre-order (a parent before its children):
 * path, kind, strategy ("" for services), restart ("" for the root), state,
 * pid (0: none), since (CLOCK_MONOTONIC usec when it entered its state),
 * restarts (since arbord started), exited (has last exit), exit code (-1:
 * none or killed by a signal), exit signal ("" none), window restarts
 * (supervisors: restarts within the intensity period), intensity, period
 * (usec), removed (a temporary child that ended).
 */
#define ARBOR_NODE_SIGNATURE "sssssutubisuutb"

/* Signals */
/* (s event, t ts, s path, u pid, i code, s signal, i normal, s error): the fields of a JSON event */
#define ARBOR_SIGNAL_EVENT "Event"
#define ARBOR_EVENT_SIGNATURE "stsuisis"

/* Errors: each carries a message for people. */
#define ARBOR_ERROR_NO_SUCH_CHILD "org.arbor.Error.NoSuchChild"
#define ARBOR_ERROR_ALREADY_RUNNING "org.arbor.Error.AlreadyRunning"
#define ARBOR_ERROR_ALREADY_STOPPED "org.arbor.Error.AlreadyStopped"
#define ARBOR_ERROR_BUSY "org.arbor.Error.Busy"
#define ARBOR_ERROR_NOT_RUNNING "org.arbor.Error.NotRunning"
#define ARBOR_ERROR_INVALID_SIGNAL "org.arbor.Error.InvalidSignal"
#define ARBOR_ERROR_NOT_SUPPORTED "org.arbor.Error.NotSupported"
#define ARBOR_ERROR_START_FAILED "org.arbor.Error.StartFailed"
#define ARBOR_ERROR_CANCELLED "org.arbor.Error.Cancelled"
#define ARBOR_ERROR_FAILED "org.arbor.Error.Failed"

/*
 * A connection arbord refuses (peer credentials) is answered with this line
 * (a D-Bus auth refusal), three times, then closed; one over the connection
 * limit is closed without a word.
 */
#define ARBOR_REFUSED "REJECTED\r\n"

/* The environment variable naming the socket, for arborctl. */
#define ARBOR_SOCKET_ENV "ARBOR_SOCKET"
#define ARBOR_SOCKET_SYSTEM "/run/arbor/arbor.sock"
#define ARBOR_SOCKET_NAME "arbor.sock" /* under $XDG_RUNTIME_DIR */

/* arborctl's exit codes: documented in `arborctl --help` and arborctl(8). */
typedef enum ArborctlExit {
        ARBORCTL_EXIT_OK = 0,
        ARBORCTL_EXIT_FAILED = 1,        /* arbord refused or the operation failed; check: not healthy */
        ARBORCTL_EXIT_USAGE = 2,         /* bad command line */
        ARBORCTL_EXIT_UNREACHABLE = 3,   /* no arbord answers on the socket */
        ARBORCTL_EXIT_NO_SUCH_CHILD = 4, /* the name matches no node of the tree */
        ARBORCTL_EXIT_PERMISSION = 5,    /* the socket or arbord refused us */
} ArborctlExit;

/*
 * The default socket of arbord running as uid: /run/arbor/arbor.sock for
 * root, $XDG_RUNTIME_DIR/arbor.sock otherwise. Returns a malloc'd path,
 * -ENXIO when not root and $XDG_RUNTIME_DIR is unset or not absolute, or
 * -ENOMEM.
 */
static inline int control_default_socket(uid_t uid, char **ret) {
        const char *dir;
        char *p;

        if (uid == 0)
                p = strdup(ARBOR_SOCKET_SYSTEM);
        else {
                dir = getenv("XDG_RUNTIME_DIR");
                if (!dir || dir[0] != '/')
                        return -ENXIO;
                if (asprintf(&p, "%s/%s", dir, ARBOR_SOCKET_NAME) < 0)
                        p = NULL;
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}
