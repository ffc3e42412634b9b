/* SPDX-License-Identifier: MIT */
#include "signal-util.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

/*
 * The "SIG" form people grep logs for. A constant table rather than a cache
 * filled from sigabbrev_np(): no mutable global state, and the names do not
 * depend on the C library's version.
 */
#define SIGNAL_NAME(s) [s] = #s
static const char *const signal_names[] = {
        SIGNAL_NAME(SIGHUP),    SIGNAL_NAME(SIGINT),    SIGNAL_NAME(SIGQUIT),
        SIGNAL_NAME(SIGILL),    SIGNAL_NAME(SIGTRAP),   SIGNAL_NAME(SIGABRT),
        SIGNAL_NAME(SIGBUS),    SIGNAL_NAME(SIGFPE),    SIGNAL_NAME(SIGKILL),
        SIGNAL_NAME(SIGUSR1),   SIGNAL_NAME(SIGSEGV),   SIGNAL_NAME(SIGUSR2),
        SIGNAL_NAME(SIGPIPE),   SIGNAL_NAME(SIGALRM),   SIGNAL_NAME(SIGTERM),
        SIGNAL_NAME(SIGSTKFLT), SIGNAL_NAME(SIGCHLD),   SIGNAL_NAME(SIGCONT),
        SIGNAL_NAME(SIGSTOP),   SIGNAL_NAME(SIGTSTP),   SIGNAL_NAME(SIGTTIN),
        SIGNAL_NAME(SIGTTOU),   SIGNAL_NAME(SIGURG),    SIGNAL_NAME(SIGXCPU),
        SIGNAL_NAME(SIGXFSZ),   SIGNAL_NAME(SIGVTALRM), SIGNAL_NAME(SIGPROF),
        SIGNAL_NAME(SIGWINCH),  SIGNAL_NAME(SIGIO),     SIGNAL_NAME(SIGPWR),
        SIGNAL_NAME(SIGSYS),
};
#undef SIGNAL_NAME

/* Other names Linux and the shells accept for the same numbers. */
static const struct {
        const char *name;
        int sig;
} signal_aliases[] = {
        { "SIGIOT", SIGABRT },
        { "SIGCLD", SIGCHLD },
        { "SIGPOLL", SIGIO },
};

const char *signal_to_string(int sig) {
        if (sig <= 0 || (size_t) sig >= ELEMENTSOF(signal_names))
                return NULL;
        return signal_names[sig];
}

/* Only plain decimal digits: strtol() would also take " 15", "+15" and "0x0f". */
static int parse_signal_number(const char *s) {
        int n = 0;

        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                n = n * 10 + (*s - '0');
                if (n >= NSIG)
                        return -EINVAL;
        }
        return n;
}

/* Compares name with a table entry, with or without the entry's "SIG" prefix. */
static bool signal_name_matches(const char *name, const char *entry) {
        return strcasecmp(name, entry) == 0 || strcasecmp(name, entry + strlen("SIG")) == 0;
}

int signal_from_string(const char *s) {
        int n;

        if (!s || !*s)
                return -EINVAL;

        if (*s >= '0' && *s <= '9') {
                n = parse_signal_number(s);
                if (n < 0 || !signal_to_string(n))
                        return -EINVAL;
                return n;
        }

        for (size_t sig = 1; sig < ELEMENTSOF(signal_names); sig++)
                if (signal_names[sig] && signal_name_matches(s, signal_names[sig]))
                        return (int) sig;
        for (size_t i = 0; i < ELEMENTSOF(signal_aliases); i++)
                if (signal_name_matches(s, signal_aliases[i].name))
                        return signal_aliases[i].sig;
        return -EINVAL;
}
