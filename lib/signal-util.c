/* SPDX-License-Identifier: MIT */
#include "signal-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"

/* glibc's sigabbrev_np() gives "TERM"; we want the "SIG" form people grep logs for. */
static char signal_names[NSIG][16];

const char *signal_to_string(int sig) {
        const char *abbrev;

        if (sig <= 0 || sig >= NSIG)
                return NULL;
        abbrev = sigabbrev_np(sig);
        if (!abbrev)
                return NULL;
        if (!signal_names[sig][0])
                (void) snprintf(signal_names[sig], sizeof(signal_names[sig]), "SIG%s", abbrev);
        return signal_names[sig];
}

int signal_from_string(const char *s) {
        const char *name = s;
        char *end;
        long n;

        if (!s || !*s)
                return -EINVAL;

        errno = 0;
        n = strtol(s, &end, 10);
        if (*end == 0 && errno == 0)
                return n > 0 && n < NSIG && sigabbrev_np((int) n) ? (int) n : -EINVAL;

        if (strncasecmp(name, "SIG", 3) == 0)
                name += 3;
        for (int sig = 1; sig < NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        return -EINVAL;
}
