/* SPDX-License-Identifier: MIT */
/*
 * The sd_notify(3) datagram parser (supervisord/notify.c): its bytes come from
 * any process that can reach $NOTIFY_SOCKET. The input is the datagram, in a
 * block of exactly its size. Oracle: a naive second reading, which copies each
 * line out as a string.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "notify.h"

static bool reference_is_ready(const uint8_t *data, size_t size) {
        size_t start = 0;

        for (size_t i = 0; i <= size; i++) {
                if (i < size && data[i] != '\n')
                        continue;
                if (i - start == 7) {
                        char line[8];

                        memcpy(line, data + start, 7);
                        line[7] = '\0';
                        /* strcmp: a NUL in the line ends it early, and then it differs */
                        if (strlen(line) == 7 && strcmp(line, "READY=1") == 0)
                                return true;
                }
                start = i + 1;
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FUZZ_CHECK(notify_message_is_ready((const char *) data, size) == reference_is_ready(data, size));
        return 0;
}
