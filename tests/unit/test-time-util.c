/* SPDX-License-Identifier: MIT */
/* Durations as users write them ("1m30s") and as arbor prints them. */
#include <criterion/criterion.h>
#include <errno.h>

#include "macro.h"
#include "time-util.h"

static const struct {
        const char *text;
        usec_t usec;
} valid[] = {
        { "0", 0 },
        { "5", 5 * USEC_PER_SEC }, /* a bare number is seconds */
        { "90", 90 * USEC_PER_SEC },
        { "500ms", 500 * USEC_PER_MSEC },
        { "5s", 5 * USEC_PER_SEC },
        { "2m", 2 * USEC_PER_MINUTE },
        { "1h", USEC_PER_HOUR },
        { "1m30s", 90 * USEC_PER_SEC },
        { "1h2m3s4ms5us", USEC_PER_HOUR + 2 * USEC_PER_MINUTE + 3 * USEC_PER_SEC + 4 * USEC_PER_MSEC + 5 },
        { "10us", 10 },
        { "0s", 0 },
        { "007s", 7 * USEC_PER_SEC },
        { "1500ms", 1500 * USEC_PER_MSEC },
        { "18446744073709551614us", USEC_INFINITY - 1 }, /* the longest finite duration */
        { "5124095576h", 5124095576ULL * USEC_PER_HOUR },
};

Test(duration_parse, valid) {
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                usec_t u = 12345;

                cr_assert_eq(duration_parse(valid[i].text, false, &u), 0, "'%s'", valid[i].text);
                cr_assert_eq(u, valid[i].usec, "'%s' gave %llu", valid[i].text, (unsigned long long) u);
        }
}

Test(duration_parse, invalid) {
        static const char *const invalid[] = {
                "", "s", "ms", "-1", "+1", " 5", "5 ", "5 s", "1.5s", "0x10", "5x", "5sec", "1m30", "infinit",
                "Infinity", "5S", "1s 2s", "1,5s",
        };

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                usec_t u = 12345;

                cr_assert_eq(duration_parse(invalid[i], true, &u), -EINVAL, "'%s'", invalid[i]);
                cr_assert_eq(u, 12345, "'%s' changed the result", invalid[i]);
        }
        cr_assert_eq(duration_parse(NULL, true, &(usec_t) { 0 }), -EINVAL);
}

Test(duration_parse, infinity_only_when_allowed) {
        usec_t u = 0;

        cr_assert_eq(duration_parse("infinity", false, &u), -EINVAL);
        cr_assert_eq(u, 0);
        cr_assert_eq(duration_parse("infinity", true, &u), 0);
        cr_assert_eq(u, USEC_INFINITY);
}

Test(duration_parse, overflow_is_erange_never_a_wrap) {
        static const char *const too_long[] = {
                "18446744073709551615us", /* USEC_INFINITY itself is not a finite duration */
                "18446744073709551616us",
                "18446744073709551619",   /* the last digit overflows, not the multiplication */
                "99999999999999999999999",
                "5124095577h",
                "5124095576h1h",          /* each part fits, the sum does not */
                "18446744073709551s",
        };

        for (size_t i = 0; i < ELEMENTSOF(too_long); i++) {
                usec_t u = 12345;

                cr_assert_eq(duration_parse(too_long[i], false, &u), -ERANGE, "'%s'", too_long[i]);
                cr_assert_eq(u, 12345);
        }
}

Test(duration_format, shortest_exact_form) {
        static const struct {
                usec_t usec;
                const char *text;
        } cases[] = {
                { 0, "0" },
                { 1, "1us" },
                { 500 * USEC_PER_MSEC, "500ms" },
                { 5 * USEC_PER_SEC, "5s" },
                { 90 * USEC_PER_SEC, "1m30s" },
                { USEC_PER_HOUR, "1h" },
                { 25 * USEC_PER_HOUR, "25h" },
                { USEC_PER_HOUR + 2 * USEC_PER_MINUTE + 3 * USEC_PER_SEC + 4 * USEC_PER_MSEC + 5, "1h2m3s4ms5us" },
                { 1500 * USEC_PER_MSEC, "1s500ms" },
                { USEC_INFINITY, "infinity" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[DURATION_MAX];

                cr_assert_str_eq(duration_format(cases[i].usec, buf), cases[i].text);
        }
}

Test(duration_format, reads_back) {
        static const usec_t values[] = {
                0, 1, 999, 1000, 1001, 59 * USEC_PER_SEC, 61 * USEC_PER_SEC, 3 * USEC_PER_HOUR + 7,
                USEC_INFINITY - 1, USEC_INFINITY / 3,
        };

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                char buf[DURATION_MAX];
                usec_t back = 0;

                duration_format(values[i], buf);
                cr_assert_lt(strlen(buf), DURATION_MAX);
                cr_assert_eq(duration_parse(buf, false, &back), 0, "'%s'", buf);
                cr_assert_eq(back, values[i], "'%s'", buf);
        }
}
