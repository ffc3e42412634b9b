/* SPDX-License-Identifier: MIT */
/* Signal names as users write them in INI files and on arborctl's command line. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "macro.h"
#include "signal-util.h"

Test(signal_from_string, names_with_or_without_sig_in_any_case) {
        static const struct {
                const char *text;
                int sig;
        } cases[] = {
                { "SIGTERM", SIGTERM }, { "TERM", SIGTERM },   { "term", SIGTERM },  { "SigTerm", SIGTERM },
                { "SIGKILL", SIGKILL }, { "HUP", SIGHUP },     { "SIGINT", SIGINT }, { "SIGUSR1", SIGUSR1 },
                { "SIGWINCH", SIGWINCH }, { "SIGSYS", SIGSYS }, { "SIGPWR", SIGPWR }, { "SIGIO", SIGIO },
                /* other names of the same numbers */
                { "SIGIOT", SIGABRT }, { "SIGPOLL", SIGIO }, { "CLD", SIGCHLD },
                /* numbers */
                { "15", SIGTERM }, { "9", SIGKILL }, { "1", SIGHUP }, { "31", SIGSYS }, { "015", SIGTERM },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_assert_eq(signal_from_string(cases[i].text), cases[i].sig, "'%s'", cases[i].text);
}

Test(signal_from_string, not_signals) {
        static const char *const invalid[] = {
                "", "0", "-15", "+15", " 15", "15 ", "0x0f", "SIG", "SIGFOO", "SIGTERMX", "TERM ", "65", "1000",
                "99999999999999999999", "SIG15", "SIGRTMIN",
        };

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
                cr_assert_eq(signal_from_string(invalid[i]), -EINVAL, "'%s'", invalid[i]);
        cr_assert_eq(signal_from_string(NULL), -EINVAL);
}

Test(signal_to_string, sig_names) {
        cr_assert_str_eq(signal_to_string(SIGTERM), "SIGTERM");
        cr_assert_str_eq(signal_to_string(SIGKILL), "SIGKILL");
        cr_assert_str_eq(signal_to_string(SIGHUP), "SIGHUP");
        cr_assert_str_eq(signal_to_string(SIGCHLD), "SIGCHLD");
        cr_assert_str_eq(signal_to_string(SIGIO), "SIGIO");
        cr_assert_null(signal_to_string(0));
        cr_assert_null(signal_to_string(-1));
        cr_assert_null(signal_to_string(NSIG));
        cr_assert_null(signal_to_string(SIGRTMIN), "real-time signals have no name");
}

Test(signal_to_string, every_named_signal_reads_back) {
        unsigned named = 0;

        for (int sig = 1; sig < NSIG; sig++) {
                const char *name = signal_to_string(sig);

                if (!name)
                        continue;
                named++;
                cr_assert_eq(strncmp(name, "SIG", 3), 0, "%d: %s", sig, name);
                cr_assert_eq(signal_from_string(name), sig, "%s", name);
                cr_assert_eq(signal_from_string(name + 3), sig, "%s", name + 3);
        }
        /* every classic Linux signal, 1 to 31 */
        cr_assert_eq(named, 31);
}
