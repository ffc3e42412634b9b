/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The spec tree: what the INI files declare, validated and immutable.
 *
 * config.c builds it; nothing changes it afterwards (reload builds a new one).
 * Every node, supervisor or service, lives in Config.nodes in pre-order (a
 * parent before its children, siblings in declaration order), and is named
 * by its index there: the engine keeps its run-time state in a parallel
 * array. nodes[0] is always the root supervisor.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "time-util.h"

typedef enum NodeKind {
        NODE_SUPERVISOR,
        NODE_SERVICE,
        _NODE_KIND_MAX,
        _NODE_KIND_INVALID = -EINVAL,
} NodeKind;

typedef enum Strategy {
        STRATEGY_ONE_FOR_ONE,
        STRATEGY_ONE_FOR_ALL,
        STRATEGY_REST_FOR_ONE,
        _STRATEGY_MAX,
        _STRATEGY_INVALID = -EINVAL,
} Strategy;

typedef enum RestartPolicy {
        RESTART_PERMANENT,
        RESTART_TRANSIENT,
        RESTART_TEMPORARY,
        _RESTART_MAX,
        _RESTART_INVALID = -EINVAL,
} RestartPolicy;

typedef enum AutoShutdown {
        AUTO_SHUTDOWN_NEVER,
        AUTO_SHUTDOWN_ANY_SIGNIFICANT,
        AUTO_SHUTDOWN_ALL_SIGNIFICANT,
        _AUTO_SHUTDOWN_MAX,
        _AUTO_SHUTDOWN_INVALID = -EINVAL,
} AutoShutdown;

typedef enum ShutdownKind {
        SHUTDOWN_BRUTAL_KILL, /* SIGKILL at once */
        SHUTDOWN_TIMEOUT,     /* stop signal, then SIGKILL after .timeout */
        SHUTDOWN_INFINITY,    /* stop signal, then wait for as long as it takes */
        _SHUTDOWN_KIND_MAX,
        _SHUTDOWN_KIND_INVALID = -EINVAL,
} ShutdownKind;

typedef enum ReadyKind {
        READY_EXEC,   /* started as soon as exec() succeeded */
        READY_NOTIFY, /* started when it sends READY=1 on $NOTIFY_SOCKET */
        _READY_KIND_MAX,
        _READY_KIND_INVALID = -EINVAL,
} ReadyKind;

typedef struct ShutdownSpec {
        ShutdownKind kind;
        usec_t timeout; /* only for SHUTDOWN_TIMEOUT */
} ShutdownSpec;

/* Where in the INI files a node was declared, for error messages. */
typedef struct SourceLocation {
        const char *file; /* owned by Config.files */
        unsigned line;
} SourceLocation;

typedef struct NodeSpec NodeSpec;

struct NodeSpec {
        NodeKind kind;
        char *name;  /* unique in the tree */
        char *path;  /* "root/web/api" */
        size_t index;        /* in Config.nodes */
        size_t child_index;  /* position among the parent's children (start order) */
        NodeSpec *parent;    /* NULL for the root */
        NodeSpec **children; /* start order */
        size_t n_children;
        SourceLocation where;

        /* as a child of its parent (meaningless for the root) */
        RestartPolicy restart;
        ShutdownSpec shutdown;
        bool significant;

        /* NODE_SUPERVISOR */
        Strategy strategy;
        unsigned intensity;
        usec_t period;
        AutoShutdown auto_shutdown;

        /* NODE_SERVICE */
        char **argv;            /* argv[0] is the program; searched in $PATH if it has no '/' */
        char **environment;     /* "KEY=VALUE" entries added to what arbord passes on */
        char *working_directory; /* NULL: arbord's own */
        int stop_signal;
        int *success_exit_codes; /* besides 0, which is always a success */
        size_t n_success_exit_codes;
        ReadyKind ready;
        usec_t ready_timeout;    /* READY_NOTIFY only; USEC_INFINITY waits forever */
        /*
         * The `arbord -- COMMAND` command: inherits stdin and the terminal, as
         * under tini. Only config_new_single_command() sets it; it is no INI
         * key, so the tree printout leaves it out.
         */
        bool foreground;
};

typedef struct Config {
        NodeSpec **nodes; /* pre-order; nodes[0] is the root */
        size_t n_nodes;
        char **files;     /* every file read, main file first */
        size_t n_files;

        /* [arbor] */
        char *control;        /* control socket path; NULL: the default for our uid */
        char *control_group;  /* NULL: none */
} Config;

const char *strategy_to_string(Strategy s);
Strategy strategy_from_string(const char *s);
const char *restart_policy_to_string(RestartPolicy r);
RestartPolicy restart_policy_from_string(const char *s);
const char *auto_shutdown_to_string(AutoShutdown a);
AutoShutdown auto_shutdown_from_string(const char *s);
const char *node_kind_to_string(NodeKind k);
const char *ready_kind_to_string(ReadyKind k);
ReadyKind ready_kind_from_string(const char *s);

/* Exit code 0 or one of success_exit_codes. */
bool node_exit_code_is_success(const NodeSpec *n, int code);

/* Finds a node by full path ("root/web/api") or by its unique name. */
const NodeSpec *config_find_node(const Config *c, const char *name);

Config *config_free(Config *c);
static inline void config_freep(Config **c) {
        *c = config_free(*c);
}
