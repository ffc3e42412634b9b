/* SPDX-License-Identifier: MIT */
/* The READY=1 test on sd_notify(3) datagrams: bytes from any process that reaches the socket. */
#include <criterion/criterion.h>
#include <string.h>

#include "macro.h"
#include "notify.h"

/* The text of a literal, without its terminating NUL: a datagram is not a C string. */
#define MSG(s) (s), (sizeof(s) - 1)

Test(notify_message_is_ready, ready_on_a_line_of_its_own) {
        static const struct {
                const char *msg;
                size_t len;
        } cases[] = {
                { MSG("READY=1") },
                { MSG("READY=1\n") },
                { MSG("STATUS=starting\nREADY=1") },
                { MSG("READY=1\nSTATUS=up\n") },
                { MSG("\n\nREADY=1\n\n") },
                { MSG("MAINPID=42\nREADY=1\nSTATUS=serving") },
                /* a NUL byte spoils only the line it is in */
                { MSG("STATUS=a\0b\nREADY=1") },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_assert(notify_message_is_ready(cases[i].msg, cases[i].len), "case %zu", i);
}

Test(notify_message_is_ready, anything_else_is_not_ready) {
        static const struct {
                const char *msg;
                size_t len;
        } cases[] = {
                { MSG("") },
                { MSG("\n") },
                { MSG("READY=0") },
                { MSG("READY=11") },
                { MSG("READY=") },
                { MSG("READY") },
                { MSG(" READY=1") },
                { MSG("READY=1 ") },
                { MSG("ready=1") },
                { MSG("READY=1\r\n") },
                { MSG("XREADY=1") },
                { MSG("STATUS=READY=1") },
                { MSG("STATUS=up\nWATCHDOG=1") },
                { MSG("READY=1\0") },
                { MSG("\0READY=1") },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                cr_assert(!notify_message_is_ready(cases[i].msg, cases[i].len), "case %zu", i);
}

Test(notify_message_is_ready, reads_only_len_bytes) {
        /* what follows the datagram in the receive buffer is not part of it */
        cr_assert(!notify_message_is_ready("READY=1", 6));
        cr_assert(!notify_message_is_ready("STATUS=x\nREADY=1", 9));
        cr_assert(notify_message_is_ready("READY=1\nSTATUS", 7));
        cr_assert(!notify_message_is_ready(NULL, 0));
}

Test(notify_message_is_ready, ready_at_the_very_end_of_a_full_buffer) {
        /* as large as the manager's receive buffer, READY=1 last and no newline after it */
        static char buf[4096];

        memset(buf, 'x', sizeof(buf));
        buf[sizeof(buf) - 9] = '\n';
        memcpy(buf + sizeof(buf) - 8, "\nREADY=1", 8);
        cr_assert(notify_message_is_ready(buf, sizeof(buf)));
        buf[sizeof(buf) - 1] = '2';
        cr_assert(!notify_message_is_ready(buf, sizeof(buf)));
}
