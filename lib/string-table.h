/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Enum <-> name tables. Every enum that users see by name (in INI files, on
 * arborctl's command line, in events) has a designated-initializer table
 * sized by its _X_MAX, and these macros make its x_to_string() and
 * x_from_string() from it, so that no two lists of names can drift apart.
 */

#include <errno.h>
#include <stddef.h>

#include "macro.h"

/* Index of s in table, or -EINVAL. NULL entries never match. */
int string_table_lookup(const char *const *table, size_t n, const char *s);

#define DEFINE_STRING_TABLE_TO_STRING(name, type, table)                                  \
        const char *name##_to_string(type v) {                                            \
                return (int) v >= 0 && (size_t) v < ELEMENTSOF(table) ? table[v] : NULL;  \
        }

#define DEFINE_STRING_TABLE(name, type, table)                                            \
        DEFINE_STRING_TABLE_TO_STRING(name, type, table)                                  \
        type name##_from_string(const char *s) {                                          \
                return (type) string_table_lookup(table, ELEMENTSOF(table), s);           \
        }
