/* SPDX-License-Identifier: MIT */
#include "spec.h"

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "string-table.h"

static const char *const strategy_table[_STRATEGY_MAX] = {
        [STRATEGY_ONE_FOR_ONE] = "one_for_one",
        [STRATEGY_ONE_FOR_ALL] = "one_for_all",
        [STRATEGY_REST_FOR_ONE] = "rest_for_one",
};
static const char *const restart_table[_RESTART_MAX] = {
        [RESTART_PERMANENT] = "permanent",
        [RESTART_TRANSIENT] = "transient",
        [RESTART_TEMPORARY] = "temporary",
};
static const char *const auto_shutdown_table[_AUTO_SHUTDOWN_MAX] = {
        [AUTO_SHUTDOWN_NEVER] = "never",
        [AUTO_SHUTDOWN_ANY_SIGNIFICANT] = "any_significant",
        [AUTO_SHUTDOWN_ALL_SIGNIFICANT] = "all_significant",
};
static const char *const node_kind_table[_NODE_KIND_MAX] = {
        [NODE_SUPERVISOR] = "supervisor",
        [NODE_SERVICE] = "service",
};
static const char *const ready_kind_table[_READY_KIND_MAX] = {
        [READY_EXEC] = "exec",
        [READY_NOTIFY] = "notify",
};

DEFINE_STRING_TABLE(strategy, Strategy, strategy_table)
DEFINE_STRING_TABLE(restart_policy, RestartPolicy, restart_table)
DEFINE_STRING_TABLE(auto_shutdown, AutoShutdown, auto_shutdown_table)
DEFINE_STRING_TABLE_TO_STRING(node_kind, NodeKind, node_kind_table)
DEFINE_STRING_TABLE(ready_kind, ReadyKind, ready_kind_table)

bool node_exit_code_is_success(const NodeSpec *n, int code) {
        if (code == 0)
                return true;
        for (size_t i = 0; i < n->n_success_exit_codes; i++)
                if (n->success_exit_codes[i] == code)
                        return true;
        return false;
}

const NodeSpec *config_find_node(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_nodes; i++)
                if (streq(c->nodes[i]->path, name) || streq(c->nodes[i]->name, name))
                        return c->nodes[i];
        return NULL;
}

static void node_spec_free(NodeSpec *n) {
        if (!n)
                return;
        free(n->name);
        free(n->path);
        free(n->children);
        strv_free(n->argv);
        strv_free(n->environment);
        free(n->working_directory);
        free(n->success_exit_codes);
        free(n);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_nodes; i++)
                node_spec_free(c->nodes[i]);
        free(c->nodes);
        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);
        free(c->control);
        free(c->control_group);
        free(c);
        return NULL;
}
