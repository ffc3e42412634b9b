/* SPDX-License-Identifier: MIT */
#include "time-util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"

static const struct {
        const char *suffix;
        usec_t usec;
} duration_units[] = {
        /* largest first: duration_format() walks them in this order */
        { "h", USEC_PER_HOUR },
        { "m", USEC_PER_MINUTE },
        { "s", USEC_PER_SEC },
        { "ms", USEC_PER_MSEC },
        { "us", 1 },
};

/* Takes the longest suffix that matches, so that "ms" is not read as "m". */
static int parse_unit(const char **p, usec_t *ret) {
        size_t best = ELEMENTSOF(duration_units), best_len = 0;

        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                size_t l = strlen(duration_units[i].suffix);
                if (l > best_len && strncmp(*p, duration_units[i].suffix, l) == 0) {
                        best = i;
                        best_len = l;
                }
        }
        if (best == ELEMENTSOF(duration_units))
                return -EINVAL;
        *p += best_len;
        *ret = duration_units[best].usec;
        return 0;
}

int duration_parse(const char *s, bool allow_infinity, usec_t *ret) {
        usec_t total = 0;
        unsigned components = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        if (streq(s, "infinity")) {
                if (!allow_infinity)
                        return -EINVAL;
                *ret = USEC_INFINITY;
                return 0;
        }

        while (*p) {
                usec_t n = 0, unit = USEC_PER_SEC;

                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                while (isdigit((unsigned char) *p)) {
                        usec_t digit = (usec_t) (*p - '0');

                        /* the digit counts too: n*10 alone may fit while n*10+digit wraps */
                        if (n > (USEC_INFINITY - 1 - digit) / 10)
                                return -ERANGE;
                        n = n * 10 + digit;
                        p++;
                }
                if (*p) {
                        if (parse_unit(&p, &unit) < 0)
                                return -EINVAL;
                } else if (components > 0)
                        return -EINVAL; /* "1m30" is ambiguous: insist on a unit */
                components++;

                if (n != 0 && unit > (USEC_INFINITY - 1 - total) / n)
                        return -ERANGE;
                total += n * unit;
        }

        *ret = total;
        return 0;
}

const char *duration_format(usec_t u, char buf[static DURATION_MAX]) {
        size_t off = 0;

        if (u == USEC_INFINITY)
                return strcpy(buf, "infinity");
        if (u == 0)
                return strcpy(buf, "0");

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(duration_units) && u > 0; i++) {
                usec_t unit = duration_units[i].usec;
                if (u >= unit) {
                        int n = snprintf(buf + off, DURATION_MAX - off, "%llu%s",
                                         (unsigned long long) (u / unit), duration_units[i].suffix);
                        if (n < 0 || (size_t) n >= DURATION_MAX - off)
                                break;
                        off += (size_t) n;
                        u %= unit;
                }
        }
        return buf;
}
