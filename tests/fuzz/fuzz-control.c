/* SPDX-License-Identifier: MIT */
/*
 * The control server's own reading of outside input (supervisord/control.c).
 * sd-bus frames, unmarshals and validates the messages; what is ours is what
 * the methods do with their string arguments: the child name every command
 * takes (resolve_node(): exact lookup, then the "did you mean" list built into
 * a fixed buffer) and the signal name of Signal (signal_from_string()).
 *
 * resolve_node() is static and wants a Client, so this file includes control.c
 * itself, with manager_get_config() renamed to a stand-in here that hands out a
 * fixed tree: no event loop, socket or Manager is needed. The input is
 * "NAME\0SIGNAL" (without a NUL, all of it is the name), and the name is
 * looked up in a small tree (every node a candidate) and in a big one (more
 * candidates than the list holds, paths long enough to fill its buffer).
 *
 * Oracles: a name is found exactly when config_find_node() finds it, and
 * otherwise the answer is a NoSuchChild error with a message.
 */
#include "fuzz.h"

#define manager_get_config fuzz_manager_get_config
#include "control.c"
#undef manager_get_config

#include "config.h"

static const char small_tree[] =
        "[supervisor:web]\n"
        "[service:api]\nparent = web\ncommand = /bin/api\n"
        "[service:worker]\nparent = web\ncommand = /bin/worker\n"
        "[service:db]\ncommand = /bin/db\n";

static Config *trees[2];
static Config *current;

/* Stands in for the manager's: the tree the fuzzed lookup runs in. */
const Config *fuzz_manager_get_config(Manager *m) {
        return current;
}

static int load_tree(const char *text, Config **ret) {
        ConfigErrors errors = {};
        int r = config_load_string(text, "fuzz-control.ini", ret, &errors);

        config_errors_print(&errors, stderr);
        config_errors_done(&errors);
        return r;
}

/* Supervisors three deep, each with services whose names are as long as a section allows. */
static char *big_tree_text(void) {
        static const char *const sups[] = { "frontend", "backend", "storage" };
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(sups); i++) {
                fprintf(f, "[supervisor:%s]\n", sups[i]);
                if (i > 0)
                        fprintf(f, "parent = %s\n", sups[i - 1]);
                for (unsigned k = 0; k < 6; k++)
                        fprintf(f, "[service:%s-service-with-a-long-name-%02u]\nparent = %s\ncommand = /bin/true\n",
                                sups[i], k, sups[i]);
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        _cleanup_free_ char *big = big_tree_text();

        FUZZ_CHECK(big);
        FUZZ_CHECK(load_tree(small_tree, &trees[0]) == 0);
        FUZZ_CHECK(load_tree(big, &trees[1]) == 0);
        FUZZ_CHECK(trees[0]->n_nodes <= CONTROL_CANDIDATES_MAX);
        FUZZ_CHECK(trees[1]->n_nodes > CONTROL_CANDIDATES_MAX);
        return 0;
}

static void fuzz_name(const char *name) {
        ControlServer server = {};
        Client client = { .server = &server };

        for (size_t t = 0; t < ELEMENTSOF(trees); t++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                const NodeSpec *n = NULL;
                int r;

                current = trees[t];
                r = resolve_node(&client, name, &error, &n);
                if (r == 0) {
                        FUZZ_CHECK(n);
                        FUZZ_CHECK(n == config_find_node(current, name));
                        FUZZ_CHECK(!sd_bus_error_is_set(&error));
                } else {
                        FUZZ_CHECK(r < 0);
                        FUZZ_CHECK(!config_find_node(current, name));
                        FUZZ_CHECK(sd_bus_error_has_name(&error, ARBOR_ERROR_NO_SUCH_CHILD));
                        FUZZ_CHECK(error.message);
                }
        }
        current = NULL;
}

static void fuzz_signal_name(const char *s) {
        int sig = signal_from_string(s);

        FUZZ_CHECK(sig == -EINVAL || signal_to_string(sig));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = malloc(size + 1);
        size_t name_len;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        name_len = strlen(text);

        fuzz_name(text);
        if (name_len < size)
                fuzz_signal_name(text + name_len + 1);
        return 0;
}
