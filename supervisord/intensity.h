/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * OTP's restart intensity: a supervisor may restart at most `intensity`
 * children within any `period`. The window remembers the times of recent
 * restarts; a restart at time t is still inside the window at `now` when
 * now - t <= period (OTP's add_restart keeps R >= Now - Period). Pure.
 */

#include <stdbool.h>

#include "time-util.h"

typedef struct RestartWindow {
        usec_t *stamps;    /* ring of the most recent restarts, oldest at head */
        size_t capacity;   /* grows up to intensity + 1: one more can never be admitted */
        size_t head, count;
        unsigned intensity;
        usec_t period;
} RestartWindow;

int restart_window_init(RestartWindow *w, unsigned intensity, usec_t period);
void restart_window_done(RestartWindow *w);

/* Forgets every restart: a new incarnation of the supervisor starts afresh. */
void restart_window_reset(RestartWindow *w);

/*
 * Records a restart at now. Returns true while the supervisor stays within its
 * intensity, false when this restart exceeds it (the supervisor must give up).
 */
bool restart_window_add(RestartWindow *w, usec_t now);

/* Restarts recorded within the window at now. */
unsigned restart_window_count(const RestartWindow *w, usec_t now);
