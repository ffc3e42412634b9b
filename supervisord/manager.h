/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The manager: the imperative shell around the engine. It owns the sd-event
 * loop, turns what the kernel says (SIGCHLD, exec reports, timers, signals to
 * arbord, READY=1 datagrams) into engine inputs, and carries out the engine's
 * actions (fork+exec, signals through pidfds, timers, the log). It is the
 * only part of arbord that reaps: one SIGCHLD source loops waitid(P_ALL).
 */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "engine.h"
#include "spec.h"

typedef struct Manager Manager;

/* What the control server hears from the manager. */
typedef struct ManagerListener {
        void (*event)(const Event *ev, void *userdata);
        /* the command engine_command() accepted with cookie is over (result as ACTION_COMMAND_DONE's) */
        void (*command_done)(uint64_t cookie, NodeId node, int result, void *userdata);
        void *userdata;
} ManagerListener;

/* Takes ownership of config on success. Signals must already be blocked (see manager_block_signals). */
int manager_new(Config *config, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        *m = manager_free(*m);
}

/*
 * Blocks the signals arbord handles, and ignores SIGPIPE, SIGTTOU and SIGTTIN
 * (a log reader that went away, or a terminal handed to `-- COMMAND`, must
 * not end or stop arbord); call first thing in main(), before any fork.
 */
int manager_block_signals(void);

/* Starts the tree and runs until it has ended; *ret_status is arbord's exit status. */
int manager_run(Manager *m, int *ret_status);

/* For the control server. */
sd_event *manager_get_event(Manager *m);
const Config *manager_get_config(Manager *m);
const Engine *manager_get_engine(Manager *m);
usec_t manager_now(Manager *m);
pid_t manager_node_pid(Manager *m, NodeId id); /* 0: not running */
/* As engine_command(): 0 accepted (the listener hears command_done later, or already did), or a refusal. */
int manager_command(Manager *m, EngineCommand cmd, NodeId id, uint64_t cookie);
int manager_signal_node(Manager *m, NodeId id, int sig); /* to every running service of the subtree */
int manager_request_shutdown(Manager *m);
void manager_set_listener(Manager *m, const ManagerListener *l); /* NULL: nobody listens */
