/* SPDX-License-Identifier: MIT */
/* The strategy planner: which children a restart stops and starts. */
#include <criterion/criterion.h>

#include "macro.h"
#include "strategy.h"

#define N 5

static void check_plan(Strategy s, size_t failed, const char *want_stop, const char *want_start) {
        bool stop[N], start[N];
        char got_stop[N + 1] = {}, got_start[N + 1] = {};

        plan_restart(s, N, failed, stop, start);
        for (size_t i = 0; i < N; i++) {
                got_stop[i] = stop[i] ? 'x' : '.';
                got_start[i] = start[i] ? 'x' : '.';
        }
        cr_assert_str_eq(got_stop, want_stop, "%s failed=%zu stop", strategy_to_string(s), failed);
        cr_assert_str_eq(got_start, want_start, "%s failed=%zu start", strategy_to_string(s), failed);
}

Test(strategy, one_for_one_touches_only_the_dead_child) {
        check_plan(STRATEGY_ONE_FOR_ONE, 2, ".....", "..x..");
}

Test(strategy, one_for_all_stops_the_others_and_starts_all) {
        check_plan(STRATEGY_ONE_FOR_ALL, 2, "xx.xx", "xxxxx");
        check_plan(STRATEGY_ONE_FOR_ALL, 0, ".xxxx", "xxxxx");
}

Test(strategy, rest_for_one_takes_those_started_after) {
        check_plan(STRATEGY_REST_FOR_ONE, 2, "...xx", "..xxx");
        check_plan(STRATEGY_REST_FOR_ONE, 4, ".....", "....x");
        check_plan(STRATEGY_REST_FOR_ONE, 0, ".xxxx", "xxxxx");
}
