/* SPDX-License-Identifier: MIT */
/*
 * The small parsers of outside input shared by arbord and arborctl: durations
 * (INI values, e.g. `period`, `shutdown`) and signal names (INI `stop_signal`,
 * the control API's Signal method, arborctl's command line).
 *
 * The input, cut at its first NUL as a C string would be, goes to both parsers.
 * Oracles: what parses, formats back to text that parses to the same value, and
 * the first 8 bytes, read as a number of microseconds, survive
 * duration_format() -> duration_parse().
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "signal-util.h"
#include "time-util.h"

static void check_duration_round_trip(usec_t u) {
        char buf[DURATION_MAX];
        usec_t back = 0;
        const char *text = duration_format(u, buf);

        FUZZ_CHECK(text == buf);
        FUZZ_CHECK(strlen(buf) < DURATION_MAX);
        FUZZ_CHECK(duration_parse(buf, true, &back) == 0);
        FUZZ_CHECK(back == u);
}

static void fuzz_duration(const char *s) {
        usec_t u = 0, v = 0;
        int r, q;

        r = duration_parse(s, true, &u);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
        q = duration_parse(s, false, &v);
        FUZZ_CHECK(q == 0 || q == -EINVAL || q == -ERANGE);
        if (r == 0)
                check_duration_round_trip(u);
        if (q == 0) {
                /* only "infinity" differs with allow_infinity, and it is never a finite value */
                FUZZ_CHECK(r == 0 && u == v);
                FUZZ_CHECK(v != USEC_INFINITY);
        }
}

static void fuzz_signal(const char *s) {
        int sig = signal_from_string(s);

        FUZZ_CHECK(sig > 0 || sig == -EINVAL);
        if (sig > 0) {
                const char *name = signal_to_string(sig);

                FUZZ_CHECK(name);
                FUZZ_CHECK(signal_from_string(name) == sig);
                FUZZ_CHECK(signal_from_string(name + strlen("SIG")) == sig);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        usec_t u = 0;

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        fuzz_duration(s);
        fuzz_signal(s);

        memcpy(&u, data, size < sizeof(u) ? size : sizeof(u));
        check_duration_round_trip(u);

        free(s);
        return 0;
}
