/* SPDX-License-Identifier: MIT */
#include "intensity.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

/*
 * The ring starts small and grows towards intensity + 1 only as restarts
 * pile up inside one period: a supervisor with a large intensity (benchmarks
 * use a million) costs memory in proportion to its actual crash rate, not to
 * what it would tolerate.
 */
#define WINDOW_INITIAL_CAPACITY 8

static size_t window_limit(const RestartWindow *w) {
        return (size_t) w->intensity + 1; /* never more are kept: one more always exceeds */
}

int restart_window_init(RestartWindow *w, unsigned intensity, usec_t period) {
        *w = (RestartWindow) {
                .intensity = intensity,
                .period = period,
        };
        w->capacity = MIN(window_limit(w), (size_t) WINDOW_INITIAL_CAPACITY);
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

/* Doubles the ring (up to the limit), oldest stamp first. -ENOMEM leaves it as it was. */
static int grow(RestartWindow *w) {
        size_t n = MIN(w->capacity * 2, window_limit(w));
        usec_t *stamps = calloc(n, sizeof(usec_t));

        if (!stamps)
                return -ENOMEM;
        for (size_t i = 0; i < w->count; i++)
                stamps[i] = w->stamps[(w->head + i) % w->capacity];
        free(w->stamps);
        w->stamps = stamps;
        w->capacity = n;
        w->head = 0;
        return 0;
}

bool restart_window_add(RestartWindow *w, usec_t now) {
        expire(w, now);
        if (w->count == w->capacity && (w->capacity == window_limit(w) || grow(w) < 0)) {
                /*
                 * Full at the limit means already past the intensity: keep the
                 * newest. (Full because growing failed undercounts by one: the
                 * least harmful answer to OOM.)
                 */
                w->head = (w->head + 1) % w->capacity;
                w->count--;
        }
        w->stamps[(w->head + w->count) % w->capacity] = now;
        w->count++;
        return w->count <= w->intensity;
}

unsigned restart_window_count(const RestartWindow *w, usec_t now) {
        unsigned n = 0;

        for (size_t i = 0; i < w->count; i++)
                if (in_window(w, w->stamps[(w->head + i) % w->capacity], now))
                        n++;
        return n;
}
