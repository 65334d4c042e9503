/*
 * test_chat_remind.c — the wall-clock arithmetic of repeating reminders
 * (chat_remind_next, ICU ucal): the same local time the next day across
 * both daylight-saving changes, workdays skipping the weekend, weekly,
 * a long downtime, one-offs, unknown zones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chat/chat_remind.h"

#define H (3600LL * 1000)
#define D (24 * H)

/* 2026-12-06 09:00 in Asia/Shanghai (01:00Z), a Sunday. */
static const int64_t SUN_0900_SH = 1796518800000LL;
/* 2026-12-04 09:00 Asia/Shanghai, a Friday. */
static const int64_t FRI_0900_SH = 1796346000000LL;

static int64_t next(int64_t at, store_remind_repeat rep, const char *tz, int64_t after)
{
    int64_t n = -1;

    assert_int_equal(chat_remind_next(at, rep, tz, after, &n), 0);
    return n;
}

static void daily_same_local_time(void **state)
{
    (void)state;
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_DAILY, "Asia/Shanghai", SUN_0900_SH),
                     SUN_0900_SH + D);
    /* not yet due: the first time itself */
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_DAILY, "Asia/Shanghai", SUN_0900_SH - 1),
                     SUN_0900_SH);
}

static void daily_across_daylight_saving(void **state)
{
    (void)state;
    /* Europe/Berlin 2026-03-28 09:00 CET (08:00Z); the clocks go forward
     * that night: 09:00 CEST on the 29th is 07:00Z, 23 hours later. */
    assert_int_equal(next(1774684800000LL, STORE_REMIND_DAILY, "Europe/Berlin", 1774684800000LL),
                     1774767600000LL);
    /* 2026-10-24 09:00 CEST (07:00Z) → the 25th 09:00 CET (08:00Z): 25 h */
    assert_int_equal(next(1792825200000LL, STORE_REMIND_DAILY, "Europe/Berlin", 1792825200000LL),
                     1792915200000LL);
}

static void workdays_skip_the_weekend(void **state)
{
    (void)state;
    /* Friday → Monday */
    assert_int_equal(next(FRI_0900_SH, STORE_REMIND_WORKDAYS, "Asia/Shanghai", FRI_0900_SH),
                     FRI_0900_SH + 3 * D);
    /* a first time on a Saturday or Sunday starts on Monday */
    assert_int_equal(next(FRI_0900_SH + D, STORE_REMIND_WORKDAYS, "Asia/Shanghai", FRI_0900_SH),
                     FRI_0900_SH + 3 * D);
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_WORKDAYS, "Asia/Shanghai", SUN_0900_SH - 1),
                     SUN_0900_SH + D);
}

static void weekly_and_long_downtime(void **state)
{
    (void)state;
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_WEEKLY, "Asia/Shanghai", SUN_0900_SH),
                     SUN_0900_SH + 7 * D);
    /* down for 30 days and an hour: the next occurrence after now, once */
    assert_int_equal(
        next(SUN_0900_SH, STORE_REMIND_DAILY, "Asia/Shanghai", SUN_0900_SH + 30 * D + H),
        SUN_0900_SH + 31 * D);
    assert_int_equal(
        next(SUN_0900_SH, STORE_REMIND_WEEKLY, "Asia/Shanghai", SUN_0900_SH + 30 * D + H),
        SUN_0900_SH + 35 * D);
}

static void once_and_unknown_zones(void **state)
{
    int64_t n = 7;

    (void)state;
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_ONCE, "UTC", SUN_0900_SH - 1), SUN_0900_SH);
    assert_int_equal(next(SUN_0900_SH, STORE_REMIND_ONCE, "UTC", SUN_0900_SH), 0);
    assert_true(chat_remind_tz_valid("Asia/Shanghai"));
    assert_true(chat_remind_tz_valid("UTC"));
    assert_false(chat_remind_tz_valid("Mars/Olympus"));
    assert_false(chat_remind_tz_valid(""));
    assert_false(chat_remind_tz_valid(NULL));
    assert_int_equal(chat_remind_next(SUN_0900_SH, STORE_REMIND_DAILY, "Mars/Olympus", 0, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daily_same_local_time),     cmocka_unit_test(daily_across_daylight_saving),
        cmocka_unit_test(workdays_skip_the_weekend), cmocka_unit_test(weekly_and_long_downtime),
        cmocka_unit_test(once_and_unknown_zones),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
