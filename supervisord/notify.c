/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <string.h>

#define NOTIFY_READY "READY=1"

bool notify_message_is_ready(const char *msg, size_t len) {
        /* offsets, not pointers: a step past the last line must not leave the buffer */
        for (size_t at = 0; at < len;) {
                const char *end = memchr(msg + at, '\n', len - at);
                size_t l = end ? (size_t) (end - (msg + at)) : len - at;

                if (l == strlen(NOTIFY_READY) && memcmp(msg + at, NOTIFY_READY, l) == 0)
                        return true;
                at += l + 1;
        }
        return false;
}
