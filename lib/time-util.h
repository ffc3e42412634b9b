/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Durations. Everything in arbor counts time in microseconds of
 * CLOCK_MONOTONIC; USEC_INFINITY means "never" (shutdown = infinity).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)

/* Longest text duration_format() produces, including the NUL. */
#define DURATION_MAX 32

/*
 * Parses "500ms", "5s", "2m", "1h", "1m30s", or a bare number of seconds.
 * "infinity" is accepted only when allow_infinity is set.
 * Returns 0, or -EINVAL for bad syntax, -ERANGE on overflow.
 */
int duration_parse(const char *s, bool allow_infinity, usec_t *ret);

/* Writes the shortest exact form ("1m30s", "500ms", "infinity") into buf. */
const char *duration_format(usec_t u, char buf[static DURATION_MAX]);
