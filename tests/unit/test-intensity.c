/* SPDX-License-Identifier: MIT */
/* OTP's restart intensity: MaxR restarts within MaxT, as a sliding window. */
#include <criterion/criterion.h>

#include "intensity.h"

static RestartWindow w;

static void window_setup(unsigned intensity, usec_t period) {
        cr_assert_eq(restart_window_init(&w, intensity, period), 0);
}

static void teardown(void) {
        restart_window_done(&w);
}

TestSuite(intensity, .fini = teardown);

Test(intensity, admits_up_to_intensity_within_period) {
        window_setup(3, 10 * USEC_PER_SEC);
        cr_assert(restart_window_add(&w, 1 * USEC_PER_SEC));
        cr_assert(restart_window_add(&w, 2 * USEC_PER_SEC));
        cr_assert(restart_window_add(&w, 3 * USEC_PER_SEC));
        cr_assert_not(restart_window_add(&w, 4 * USEC_PER_SEC), "a 4th restart within 10s exceeds intensity 3");
}

Test(intensity, zero_intensity_refuses_the_first_restart) {
        window_setup(0, 5 * USEC_PER_SEC);
        cr_assert_not(restart_window_add(&w, 1));
}

Test(intensity, old_restarts_slide_out) {
        window_setup(1, 5 * USEC_PER_SEC);
        cr_assert(restart_window_add(&w, 0));
        /* 5s + 1us later the first restart no longer counts */
        cr_assert(restart_window_add(&w, 5 * USEC_PER_SEC + 1));
        cr_assert(restart_window_add(&w, 10 * USEC_PER_SEC + 2));
}

Test(intensity, boundary_is_inclusive_like_otp) {
        /* OTP's add_restart keeps R when R >= Now - Period */
        window_setup(1, 5 * USEC_PER_SEC);
        cr_assert(restart_window_add(&w, 0));
        cr_assert_not(restart_window_add(&w, 5 * USEC_PER_SEC));
}

Test(intensity, count_reports_restarts_in_window) {
        window_setup(5, 10 * USEC_PER_SEC);
        cr_assert(restart_window_add(&w, 1 * USEC_PER_SEC));
        cr_assert(restart_window_add(&w, 8 * USEC_PER_SEC));
        cr_assert_eq(restart_window_count(&w, 9 * USEC_PER_SEC), 2);
        cr_assert_eq(restart_window_count(&w, 12 * USEC_PER_SEC), 1);
        cr_assert_eq(restart_window_count(&w, 30 * USEC_PER_SEC), 0);
}

Test(intensity, reset_forgets_everything) {
        window_setup(1, 5 * USEC_PER_SEC);
        cr_assert(restart_window_add(&w, 1));
        restart_window_reset(&w);
        cr_assert(restart_window_add(&w, 2));
}

Test(intensity, keeps_counting_after_exceeding) {
        /* a supervisor that exceeded stays exceeded while the burst goes on */
        window_setup(2, 10 * USEC_PER_SEC);
        for (usec_t t = 1; t <= 2; t++)
                cr_assert(restart_window_add(&w, t));
        for (usec_t t = 3; t <= 10; t++)
                cr_assert_not(restart_window_add(&w, t));
}

/* The largest intensity the config accepts must neither overflow nor allocate up front. */
Test(intensity, huge_intensity_grows_as_needed) {
        window_setup(UINT32_MAX, 10 * USEC_PER_SEC);
        cr_assert_lt(w.capacity, (size_t) 64, "allocated %zu slots up front", w.capacity);
        for (usec_t t = 1; t <= 1000; t++)
                cr_assert(restart_window_add(&w, t));
        cr_assert_eq(restart_window_count(&w, 1000), 1000);
}

/* Growing keeps the stamps in order, so that they still slide out oldest first. */
Test(intensity, growth_keeps_time_order) {
        window_setup(100, 100);
        for (usec_t t = 0; t < 20; t++)
                cr_assert(restart_window_add(&w, t * 10));
        /* at 250, the stamps 0..140 are older than the period of 100 */
        cr_assert_eq(restart_window_count(&w, 250), 5);
        cr_assert(restart_window_add(&w, 250));
        cr_assert_eq(w.count, 6);
}
