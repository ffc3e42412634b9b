/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The control server: arbord's side of arborctl.
 *
 * Model
 * - One listening unix stream socket (mode 0600, or 0660 with a control
 *   group), watched by the manager's sd-event loop. Each accepted connection
 *   is checked with SO_PEERCRED/SO_PEERGROUPS before anything is read from
 *   it (root, arbord's own uid, or a member of the control group), then
 *   becomes a peer-to-peer sd-bus server connection: a Client. sd-bus does
 *   all framing, marshalling and validation of messages.
 * - Method calls turn into manager calls (commands, signals, shutdown) and
 *   answer at once; nothing waits for the tree. Refusals are D-Bus errors
 *   with a message for people (see lib/control-api.h, docs/control.md).
 * - The server holds the manager's one event-listener slot and fans each
 *   lifecycle event out as a D-Bus signal to the clients that subscribed.
 * - Never block, never let a client slow the supervision: at most
 *   CONTROL_MAX_CLIENTS connections; a client whose unsent messages pass
 *   CONTROL_MAX_QUEUED is dropped; control sources run at a lower priority
 *   than the manager's. Clients are freed from a deferred source, never
 *   from inside their own callbacks.
 * - Idle, it costs nothing: no timer, no polling (sd-bus arms a time source
 *   only while a connection authenticates).
 */

#include <stdbool.h>
#include <sys/types.h>

#include "manager.h"

/* Connections open at once; more are accepted and closed at once. */
#define CONTROL_MAX_CLIENTS 256
/* Messages queued for one client past the kernel buffer: past this, it is dropped. */
#define CONTROL_MAX_QUEUED 1024
/* Kernel send buffer of one client connection (sd-bus asks for 8 MiB). */
#define CONTROL_SNDBUF (128 * 1024)

typedef struct ControlServer ControlServer;

typedef struct ControlOptions {
        const char *path;    /* the socket; NULL: $ARBOR_SOCKET, else the default for our uid (lib/control-api.h) */
        gid_t group;         /* the group also granted access */
        bool group_set;      /* false: no group (0600) */
        const char *group_name; /* for messages; may be NULL */
} ControlOptions;

/*
 * Creates the socket (and its directory) and starts serving on the
 * manager's loop. Logs its failures. Returns 0 and *ret; *ret is NULL (and
 * 0 returned) when neither control= nor $ARBOR_SOCKET names a socket, we
 * are not root and $XDG_RUNTIME_DIR is unset (a warning is logged: arbord runs
 * without control). Returns
 * -EADDRINUSE when another live process holds the socket (the log names
 * it), other -errno on failure.
 */
int control_server_new(Manager *m, const ControlOptions *opts, ControlServer **ret);

/* Closes every connection, removes the socket (if still ours) and frees. NULL-safe; returns NULL. */
ControlServer *control_server_free(ControlServer *s);
static inline void control_server_freep(ControlServer **s) {
        *s = control_server_free(*s);
}

/* The socket's path. */
const char *control_server_path(const ControlServer *s);
