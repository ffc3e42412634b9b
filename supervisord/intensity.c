/* SPDX-License-Identifier: MIT */
#include "intensity.h"

#include <errno.h>
#include <stdlib.h>

int restart_window_init(RestartWindow *w, unsigned intensity, usec_t period) {
        *w = (RestartWindow) {
                .capacity = intensity + 1,
                .intensity = intensity,
                .period = period,
        };
        w->stamps = calloc(w->capacity, sizeof(usec_t));
        return w->stamps ? 0 : -ENOMEM;
}

void restart_window_done(RestartWindow *w) {
        free(w->stamps);
        w->stamps = NULL;
}

void restart_window_reset(RestartWindow *w) {
        w->head = w->count = 0;
}

static bool in_window(const RestartWindow *w, usec_t stamp, usec_t now) {
        return now - stamp <= w->period;
}

/* Drops restarts that slid out of the window. Stamps are in time order. */
static void expire(RestartWindow *w, usec_t now) {
        while (w->count > 0 && !in_window(w, w->stamps[w->head], now)) {
                w->head = (w->head + 1) % w->capacity;
                w->count--;
        }
}

bool restart_window_add(RestartWindow *w, usec_t now) {
        expire(w, now);
        if (w->count == w->capacity) {
                /* full means already past the intensity: keep the newest ones */
                w->head = (w->head + 1) % w->capacity;
                w->count--;
        }
        w->stamps[(w->head + w->count) % w->capacity] = now;
        w->count++;
        return w->count <= w->intensity;
}

unsigned restart_window_count(const RestartWindow *w, usec_t now) {
        unsigned n = 0;

        for (unsigned i = 0; i < w->count; i++)
                if (in_window(w, w->stamps[(w->head + i) % w->capacity], now))
                        n++;
        return n;
}
