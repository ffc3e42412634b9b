/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Restart planning, pure: which siblings a strategy touches when child
 * `failed` (index in start order) died.
 *
 *   one_for_one   stop: -                        start: failed
 *   one_for_all   stop: all others               start: all
 *   rest_for_one  stop: those after failed       start: failed..n-1
 *
 * The caller stops the stop set in reverse start order and starts the start
 * set in start order, skipping children that must stay down.
 */

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

/* Fills stop[] and start[] (n entries each) with membership flags. */
void plan_restart(Strategy s, size_t n, size_t failed, bool *stop, bool *start);
