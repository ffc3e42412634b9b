/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * INI files -> validated Config.
 *
 * Reading is done through inih's ini_parse_stream() with our own line reader,
 * which counts lines (Debian's inih passes no line numbers) and notices lines
 * longer than inih's 199-byte limit. The inih handler only records
 * (section, key, value, file, line) into a draft; validation then runs over the
 * whole draft and collects every error, so a user fixes all of them in one go.
 * Nothing is applied until the whole tree validates.
 *
 * Includes: the globs of the main file's `[arbor] include` are read in byte
 * order and their sections placed right after that [arbor] section, as if
 * written there. Only the main file may include (one level, no loops).
 * Errors come sorted by file (in reading order) and line.
 */

#include <stdio.h>

#include "spec.h"

typedef struct ConfigError {
        char *file;    /* NULL when the error is not tied to a file */
        unsigned line; /* 0 when not tied to a line */
        char *message; /* "[service:api] restart: 'sometimes' is not valid; expected permanent, transient or temporary" */
} ConfigError;

typedef struct ConfigErrors {
        ConfigError *items;
        size_t n;
} ConfigErrors;

/*
 * Loads path (and what it includes). On success returns 0 and *ret. On invalid
 * input returns -EINVAL and fills errors with every problem found; on other
 * failures returns -errno (then errors may hold a message too).
 */
int config_load(const char *path, Config **ret, ConfigErrors *errors);

/* The same, from a string; name stands for the file name in messages, and its
 * directory is where relative include patterns are looked up. */
int config_load_string(const char *text, const char *name, Config **ret, ConfigErrors *errors);

/*
 * The tini drop-in case (`arbord -- CMD ARGS...`): a root supervisor with
 * auto_shutdown = any_significant and one temporary significant service "main".
 */
int config_new_single_command(char *const *argv, Config **ret);

/* "FILE:LINE: message", one per line. */
void config_errors_print(const ConfigErrors *errors, FILE *f);
void config_errors_done(ConfigErrors *errors);

/* The tree as `arbord --check` shows it. */
void config_print_tree(const Config *c, FILE *f);
