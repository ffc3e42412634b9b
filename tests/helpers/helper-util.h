/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared bits of the test helper programs (tests/helpers/): strict number and
 * signal-name parsing, fatal error reporting, and waiting with a deadline
 * while listening for signals. Header-only so that every helper stays one
 * self-contained program with no library besides libc.
 *
 * Conventions of every helper: errors go to stderr prefixed with the program
 * name and end the program with status 1 (2 for usage errors), so a broken
 * helper is never mistaken for the behaviour under test.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HELPER_EXIT_FAILURE 1
#define HELPER_EXIT_USAGE 2

/* Wait forever: the value of "-t forever" / "-t -1". */
#define HELPER_MS_INFINITY (-1LL)

static const char *helper_name = "helper";

__attribute__((format(printf, 1, 2), noreturn)) static inline void helper_die(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", helper_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        _exit(HELPER_EXIT_FAILURE);
}

__attribute__((format(printf, 2, 3), noreturn)) static inline void helper_usage(const char *usage, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", helper_name);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nusage: %s %s\n", helper_name, usage);
        _exit(HELPER_EXIT_USAGE);
}

/* Parses a decimal integer in [min, max]. Returns 0 or -EINVAL/-ERANGE. */
static inline int helper_parse_ll(const char *s, long long min, long long max, long long *ret) {
        char *end;
        long long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0' || end == s)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* Milliseconds: a non-negative number, or "forever"/"infinity"/-1 for no end. */
static inline int helper_parse_ms(const char *s, long long *ret) {
        if (s && (strcmp(s, "forever") == 0 || strcmp(s, "infinity") == 0 || strcmp(s, "-1") == 0)) {
                *ret = HELPER_MS_INFINITY;
                return 0;
        }
        return helper_parse_ll(s, 0, LLONG_MAX / 1000000, ret);
}

/* "SIGTERM", "TERM", "term" or "15" -> 15. Returns -EINVAL when not a signal. */
static inline int helper_parse_signal(const char *s) {
        long long n;

        if (!s)
                return -EINVAL;
        if (helper_parse_ll(s, 1, NSIG - 1, &n) == 0)
                return (int) n;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(abbrev, s) == 0)
                        return sig;
        }
        return -EINVAL;
}

static inline int64_t helper_now_ms(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                helper_die("clock_gettime: %s", strerror(errno));
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits up to ms milliseconds (HELPER_MS_INFINITY: forever) for one of the
 * signals in set, which the caller has blocked. Returns the signal, or 0 when
 * the time ran out. Restarts after EINTR (SIGSTOP/SIGCONT) without extending
 * the deadline.
 */
static inline int helper_wait_signal(const sigset_t *set, long long ms) {
        int64_t deadline = ms == HELPER_MS_INFINITY ? INT64_MAX : helper_now_ms() + ms;

        for (;;) {
                struct timespec ts, *tsp = NULL;
                int sig;

                if (ms != HELPER_MS_INFINITY) {
                        int64_t left = deadline - helper_now_ms();
                        if (left < 0)
                                left = 0;
                        ts = (struct timespec) { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
                        tsp = &ts;
                }
                sig = sigtimedwait(set, NULL, tsp);
                if (sig > 0)
                        return sig;
                if (errno == EAGAIN)
                        return 0;
                if (errno != EINTR)
                        helper_die("sigtimedwait: %s", strerror(errno));
        }
}

/* Blocks the signals in set (so helper_wait_signal() can take them). */
static inline void helper_block(const sigset_t *set) {
        int r = sigprocmask(SIG_BLOCK, set, NULL);
        if (r < 0)
                helper_die("sigprocmask: %s", strerror(errno));
}

/* Writes a whole line to stdout and flushes it: tests wait for these lines. */
__attribute__((format(printf, 1, 2))) static inline void helper_say(const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vprintf(fmt, ap);
        va_end(ap);
        if (r < 0 || fflush(stdout) == EOF)
                helper_die("writing to stdout: %s", strerror(errno));
}

/* Creates (or truncates) an empty marker file; tests wait for it. */
static inline void helper_touch(const char *path) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0)
                helper_die("creating %s: %s", path, strerror(errno));
        if (close(fd) < 0)
                helper_die("closing %s: %s", path, strerror(errno));
}
