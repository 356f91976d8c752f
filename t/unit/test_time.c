/*
 * Unit tests for src/cxb_time.c.
 *
 * glibc (timegm, gmtime_r, localtime_r with $TZ) serves as an independent
 * oracle here only; the library itself uses none of it.  Set $TZDIR to run
 * against another zoneinfo tree (e.g. one built with "zic -b slim"), and
 * $CXB_SEED to change the random seed.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "cxb_time.h"


#define N_ELEMS(a)  (sizeof(a) / sizeof((a)[0]))


static uint64_t  rng_state = 0x9e3779b97f4a7c15ULL;


static uint64_t
rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;

    return rng_state * 2685821657736338717ULL;
}


static int64_t
rng_range(int64_t lo, int64_t hi)
{
    return lo + (int64_t) (rng() % (uint64_t) (hi - lo));
}


static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;

    return (int64_t) timegm(&tm);
}


static const char *
zone_dir(void)
{
    const char  *d;

    d = getenv("TZDIR");

    return d && d[0] ? d : "/usr/share/zoneinfo";
}


static const cxb_tz_t *
zone(const char *name)
{
    return cxb_tz_get(name, strlen(name));
}


static int
read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE           *f;
    long            n;
    unsigned char  *p;

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return -1;
    }

    p = malloc(n ? (size_t) n : 1);
    if (p == NULL || fread(p, 1, (size_t) n, f) != (size_t) n) {
        free(p);
        fclose(f);
        return -1;
    }

    fclose(f);
    *data = p;
    *len = (size_t) n;

    return 0;
}


static int
write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char   path[512];
    FILE  *f;
    int    rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }

    rc = (len == 0 || fwrite(data, 1, len, f) == len) ? 0 : -1;

    return fclose(f) == 0 ? rc : -1;
}


/* civil-date arithmetic against gmtime_r */

static void
test_civil(void)
{
    int        m, d, bad;
    int64_t    days, y;
    time_t     t;
    struct tm  tm;

    TAP_OK(cxb_time_days_from_civil(1970, 1, 1) == 0, "1970-01-01 is day 0");
    TAP_OK(cxb_time_days_from_civil(2000, 3, 1) == 11017,
           "2000-03-01 is day 11017");
    TAP_OK(cxb_time_days_from_civil(1900, 1, 1) == -25567,
           "1900-01-01 is day -25567");
    TAP_OK(cxb_time_weekday(0) == 4, "1970-01-01 was a Thursday");
    TAP_OK(cxb_time_weekday(-1) == 3, "1969-12-31 was a Wednesday");
    TAP_OK(cxb_time_days_in_month(2000, 2) == 29
           && cxb_time_days_in_month(1900, 2) == 28
           && cxb_time_days_in_month(2024, 2) == 29
           && cxb_time_days_in_month(2026, 2) == 28
           && cxb_time_days_in_month(2026, 4) == 30
           && cxb_time_days_in_month(2026, 13) == 0,
           "days in month, Gregorian leap years");

    /* every day from 1800 to 2300 */
    bad = 0;

    for (days = -62091; days <= 120894; days++) {
        t = (time_t) (days * 86400);

        if (gmtime_r(&t, &tm) == NULL) {
            bad++;
            continue;
        }

        cxb_time_civil_from_days(days, &y, &m, &d);

        if (y != tm.tm_year + 1900 || m != tm.tm_mon + 1 || d != tm.tm_mday
            || cxb_time_days_from_civil(y, m, d) != days
            || cxb_time_weekday(days) != tm.tm_wday)
        {
            if (bad++ < 5) {
                printf("# day %" PRId64 ": %" PRId64 "-%d-%d\n",
                       days, y, m, d);
            }
        }
    }

    TAP_OK(bad == 0, "civil <-> days matches gmtime_r for 1800-2300 (%d bad)",
           bad);

    cxb_time_civil_from_days(cxb_time_days_from_civil(-4713, 11, 24),
                             &y, &m, &d);
    TAP_OK(y == -4713 && m == 11 && d == 24, "negative years round-trip");
}


/* ISO 8601 parsing */

typedef struct {
    const char  *s;
    int64_t      ms;
} iso_good_t;


static void
test_iso(void)
{
    size_t    i;
    int64_t   ms, base;
    char      buf[64];

    static const char  *bad[] = {
        "",
        "2026",
        "2026-11-23",
        "2026-11-23T10:00Z",
        "2026-11-23T10:00:00ZZ",
        "2026-11-23T10:00:00Z ",
        " 2026-11-23T10:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-11-32T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-23T25:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T10:60:00Z",
        "2026-11-23T10:00:60Z",
        "26-11-23T10:00:00Z",
        "02026-11-23T10:00:00Z",
        "-2026-11-23T10:00:00Z",
        "2026-1-23T10:00:00Z",
        "2026/11/23T10:00:00Z",
        "2026-11-23X10:00:00Z",
        "2026-11-23T1a:00:00Z",
        "2026-11-23T10:0b:00Z",
        "2026-11-23T10:00:0cZ",
        "2O26-11-23T10:00:00Z",
        "2026-11-23T10:00:00.Z",
        "2026-11-23T10:00:00.25.Z",
        "2026-11-23T10:00:00,25Z",
        "2026-11-23T10:00:00 Z",
        "2026-11-23T10:00:00 +05:00",
        "2026-11-23T10:00:00+5:30",
        "2026-11-23T10:00:00+05:3",
        "2026-11-23T10:00:00+05:",
        "2026-11-23T10:00:00+053",
        "2026-11-23T10:00:00+24:00",
        "2026-11-23T10:00:00+05:60",
        "2026-11-23T10:00:00+05:30:00",
        "2026-11-23T10:00:00+",
        "2026-11-23T10:00:00UTC",
        "2026-11-23T10:00:00-",
        "2026-11-23T10:00:00+-5:00",
        "2026-11-23TT10:00:00Z",
        "2026-11-23T10:00:00Z\t",
    };

    base = (int64_t) 1795428000 * 1000;   /* 2026-11-23T10:00:00Z */

    const iso_good_t  good[] = {
        { "2026-11-23T10:00:00Z", base },
        { "2026-11-23T15:30:00+05:30", base },
        { "2026-11-23T15:30:00+0530", base },
        { "2026-11-23T15:00:00+05", base },
        { "2026-11-23T05:00:00-05:00", base },
        { "2026-11-23T05:00:00-0500", base },
        { "2026-11-23T10:00:00+00:00", base },
        { "2026-11-23T10:00:00-00:00", base },
        { "2026-11-23T10:00:00.250Z", base + 250 },
        { "2026-11-23T10:00:00.5Z", base + 500 },
        { "2026-11-23T10:00:00.123456789Z", base + 123 },
        { "2026-11-23T15:30:00.999+05:30", base + 999 },
        { "2026-11-23 10:00:00Z", base },
        { "2026-11-23t10:00:00z", base },
        { "2026-11-23T10:00:00", base },
        { "2026-11-23 10:00:00.001", base + 1 },
        { "2026-11-24T09:59:00+23:59", base },
        { "2026-11-22T10:01:00-23:59", base },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59.999Z", -1 },
        { "1970-01-01T05:30:00+05:30", 0 },
        { "1900-01-01T00:00:00Z", (int64_t) -2208988800 * 1000 },
        { "2200-12-31T23:59:59Z", (int64_t) 7289654399 * 1000 },
        { "2000-02-29T12:00:00Z", (int64_t) 951825600 * 1000 },
        { "2024-02-29T00:00:00Z", (int64_t) 1709164800 * 1000 },
        { "0000-01-01T00:00:00Z", (int64_t) -62167219200 * 1000 },
        { "9999-12-31T23:59:59Z", (int64_t) 253402300799 * 1000 },
    };

    for (i = 0; i < N_ELEMS(good); i++) {
        ms = 0x5a5a;
        TAP_OK(cxb_time_parse_iso(good[i].s, strlen(good[i].s), &ms) == 0
               && ms == good[i].ms,
               "parse \"%s\" = %" PRId64, good[i].s, good[i].ms);

        if (ms != good[i].ms) {
            printf("#   got %" PRId64 "\n", ms);
        }
    }

    for (i = 0; i < N_ELEMS(bad); i++) {
        TAP_OK(cxb_time_parse_iso(bad[i], strlen(bad[i]), &ms) == -1,
               "reject \"%s\"", bad[i]);
    }

    TAP_OK(cxb_time_parse_iso("2026-11-23T10:00:00Z\0", 21, &ms) == -1,
           "reject embedded NUL");
    TAP_OK(cxb_time_parse_iso(NULL, 0, &ms) == -1, "reject NULL");
    TAP_OK(cxb_time_parse_iso("2026-11-23T10:00:00Z", 19, &ms) == 0
           && ms == base, "only len bytes are read (no zone = UTC)");
    TAP_OK(cxb_time_parse_iso("2026-11-23T10:00:00Zjunk", 20, &ms) == 0
           && ms == base, "string need not be NUL-terminated");
    TAP_OK(cxb_time_parse_iso("2026-11-23T10:00:00+05:30", 24, &ms) == -1,
           "truncated offset by len");

    /* independent check of many dates against timegm */
    for (i = 0; i < 2000; i++) {
        int64_t  t;

        t = rng_range(utc(1900, 1, 1, 0, 0, 0), utc(2200, 12, 31, 23, 59, 59));
        cxb_time_format_utc(buf, t);

        if (cxb_time_parse_iso(buf, strlen(buf), &ms) != 0
            || ms != t * 1000)
        {
            break;
        }
    }

    TAP_OK(i == 2000, "format_utc/parse round-trip, 2000 random 1900-2200");
}


/* formatting */

static void
test_format(void)
{
    char             buf[CXB_TIME_FORMAT_LEN];
    size_t           n;
    int64_t          ms;
    const cxb_tz_t  *tz;

    n = cxb_time_format_utc(buf, 0);
    TAP_IS_STR(buf, "1970-01-01T00:00:00Z", "format_utc epoch");
    TAP_OK(n == 20, "format_utc length 20");

    cxb_time_format_utc(buf, -1);
    TAP_IS_STR(buf, "1969-12-31T23:59:59Z", "format_utc -1");

    cxb_time_format_utc(buf, utc(1900, 1, 1, 0, 0, 0));
    TAP_IS_STR(buf, "1900-01-01T00:00:00Z", "format_utc 1900");

    cxb_time_format_utc(buf, utc(2200, 12, 31, 23, 59, 59));
    TAP_IS_STR(buf, "2200-12-31T23:59:59Z", "format_utc 2200");

    cxb_time_format_utc(buf, 1795428000);
    TAP_IS_STR(buf, "2026-11-23T10:00:00Z", "format_utc 2026");

    cxb_time_format_utc(buf, (int64_t) 253402300800);
    TAP_IS_STR(buf, "10000-01-01T00:00:00Z", "format_utc year 10000");

    cxb_time_format_utc(buf, cxb_time_days_from_civil(-1, 1, 1) * 86400);
    TAP_IS_STR(buf, "-0001-01-01T00:00:00Z", "format_utc year -1");

    n = cxb_time_format_utc(buf, INT64_MAX);
    TAP_OK(n < CXB_TIME_FORMAT_LEN && strlen(buf) == n,
           "format_utc INT64_MAX fits (%s)", buf);

    n = cxb_time_format(buf, INT64_MIN, cxb_tz_utc());
    TAP_OK(n < CXB_TIME_FORMAT_LEN && strlen(buf) == n,
           "format INT64_MIN fits (%s)", buf);

    n = cxb_time_format(buf, 1795428000, cxb_tz_utc());
    TAP_IS_STR(buf, "2026-11-23T10:00:00+00:00", "format UTC zone");
    TAP_OK(n == 25, "format length 25");

    tz = zone("Asia/Kolkata");
    if (tz) {
        cxb_time_format(buf, 1795428000, tz);
        TAP_IS_STR(buf, "2026-11-23T15:30:00+05:30", "format Kolkata");
    } else {
        TAP_OK(0, "format Kolkata: zone missing");
    }

    tz = zone("America/New_York");
    if (tz) {
        cxb_time_format(buf, 1795428000, tz);
        TAP_IS_STR(buf, "2026-11-23T05:00:00-05:00", "format New York");

        cxb_time_format(buf, utc(2026, 7, 4, 16, 0, 0), tz);
        TAP_IS_STR(buf, "2026-07-04T12:00:00-04:00", "format New York EDT");
    } else {
        TAP_OK(0, "format New York: zone missing");
    }

    tz = zone("America/St_Johns");
    if (tz) {
        cxb_time_format(buf, 1795428000, tz);
        TAP_IS_STR(buf, "2026-11-23T06:30:00-03:30", "format St John's");
    } else {
        TAP_OK(0, "format St John's: zone missing");
    }

    /* Monrovia was at -0:44:30 until 1972: offset rounded to a minute */
    tz = zone("Africa/Monrovia");
    if (tz) {
        TAP_OK(cxb_tz_offset(tz, 0) == -2670, "Monrovia 1970 is -0:44:30");
        cxb_time_format(buf, 0, tz);
        TAP_IS_STR(buf, "1969-12-31T23:15:00-00:45",
                   "sub-minute offset rounded, instant kept");
        TAP_OK(cxb_time_parse_iso(buf, strlen(buf), &ms) == 0 && ms == 0,
               "rounded format parses back to the same instant");
    } else {
        TAP_OK(0, "Monrovia: zone missing");
    }
}


/* named zones */

typedef struct {
    const char  *zone;
    int64_t      t;
    int          off;
    const char  *fmt;
} zone_case_t;


static void
test_zones(void)
{
    size_t           i;
    char             buf[CXB_TIME_FORMAT_LEN], name[100];
    const cxb_tz_t  *tz, *tz2;

    const zone_case_t  cases[] = {
        { "Asia/Kolkata", utc(2026, 1, 15, 12, 0, 0), 19800,
          "2026-01-15T17:30:00+05:30" },
        { "Asia/Kolkata", utc(2026, 7, 15, 12, 0, 0), 19800,
          "2026-07-15T17:30:00+05:30" },
        { "Asia/Kolkata", utc(2150, 7, 15, 12, 0, 0), 19800,
          "2150-07-15T17:30:00+05:30" },
        { "America/New_York", utc(2026, 1, 15, 12, 0, 0), -18000,
          "2026-01-15T07:00:00-05:00" },
        { "America/New_York", utc(2026, 7, 15, 12, 0, 0), -14400,
          "2026-07-15T08:00:00-04:00" },
        { "America/New_York", utc(2055, 1, 15, 12, 0, 0), -18000,
          "2055-01-15T07:00:00-05:00" },
        { "America/New_York", utc(2055, 7, 15, 12, 0, 0), -14400,
          "2055-07-15T08:00:00-04:00" },
        /* 2055: second Sunday of March is the 14th, first of Nov the 7th */
        { "America/New_York", utc(2055, 3, 14, 6, 59, 59), -18000,
          "2055-03-14T01:59:59-05:00" },
        { "America/New_York", utc(2055, 3, 14, 7, 0, 0), -14400,
          "2055-03-14T03:00:00-04:00" },
        { "America/New_York", utc(2055, 11, 7, 5, 59, 59), -14400,
          "2055-11-07T01:59:59-04:00" },
        { "America/New_York", utc(2055, 11, 7, 6, 0, 0), -18000,
          "2055-11-07T01:00:00-05:00" },
        { "America/New_York", utc(1900, 6, 1, 0, 0, 0), -18000,
          "1900-05-31T19:00:00-05:00" },
        { "America/New_York", utc(1960, 7, 1, 0, 0, 0), -14400,
          "1960-06-30T20:00:00-04:00" },
        { "Europe/London", utc(2026, 3, 29, 0, 59, 59), 0,
          "2026-03-29T00:59:59+00:00" },
        { "Europe/London", utc(2026, 3, 29, 1, 0, 0), 3600,
          "2026-03-29T02:00:00+01:00" },
        { "Europe/London", utc(2026, 10, 25, 0, 59, 59), 3600,
          "2026-10-25T01:59:59+01:00" },
        { "Europe/London", utc(2026, 10, 25, 1, 0, 0), 0,
          "2026-10-25T01:00:00+00:00" },
        { "Europe/London", utc(1970, 1, 1, 0, 0, 0), 3600,
          "1970-01-01T01:00:00+01:00" },    /* British Standard Time */
        { "Australia/Lord_Howe", utc(2026, 1, 15, 0, 0, 0), 39600,
          "2026-01-15T11:00:00+11:00" },
        { "Australia/Lord_Howe", utc(2026, 7, 15, 0, 0, 0), 37800,
          "2026-07-15T10:30:00+10:30" },
        { "Australia/Lord_Howe", utc(2026, 4, 4, 14, 59, 59), 39600,
          "2026-04-05T01:59:59+11:00" },
        { "Australia/Lord_Howe", utc(2026, 4, 4, 15, 0, 0), 37800,
          "2026-04-05T01:30:00+10:30" },
        { "Australia/Lord_Howe", utc(2026, 10, 3, 15, 29, 59), 37800,
          "2026-10-04T01:59:59+10:30" },
        { "Australia/Lord_Howe", utc(2026, 10, 3, 15, 30, 0), 39600,
          "2026-10-04T02:30:00+11:00" },
        { "Australia/Lord_Howe", utc(2060, 1, 1, 0, 0, 0), 39600,
          "2060-01-01T11:00:00+11:00" },
        { "America/Sao_Paulo", utc(2018, 1, 15, 12, 0, 0), -7200,
          "2018-01-15T10:00:00-02:00" },
        { "America/Sao_Paulo", utc(2018, 2, 18, 1, 59, 59), -7200,
          "2018-02-17T23:59:59-02:00" },
        { "America/Sao_Paulo", utc(2018, 2, 18, 2, 0, 0), -10800,
          "2018-02-17T23:00:00-03:00" },
        { "America/Sao_Paulo", utc(2026, 1, 15, 12, 0, 0), -10800,
          "2026-01-15T09:00:00-03:00" },
        { "America/Sao_Paulo", utc(2026, 12, 15, 12, 0, 0), -10800,
          "2026-12-15T09:00:00-03:00" },
        { "America/Sao_Paulo", utc(2080, 1, 15, 12, 0, 0), -10800,
          "2080-01-15T09:00:00-03:00" },
        { "Etc/GMT+5", utc(2026, 7, 15, 12, 0, 0), -18000,
          "2026-07-15T07:00:00-05:00" },
        { "Etc/GMT-14", utc(2026, 7, 15, 12, 0, 0), 50400,
          "2026-07-16T02:00:00+14:00" },
        { "UTC", utc(2026, 7, 15, 12, 0, 0), 0,
          "2026-07-15T12:00:00+00:00" },
        { "Etc/UTC", -1, 0, "1969-12-31T23:59:59+00:00" },
        { "Europe/Dublin", utc(2026, 1, 15, 12, 0, 0), 0,
          "2026-01-15T12:00:00+00:00" },    /* negative DST */
        { "Europe/Dublin", utc(2026, 7, 15, 12, 0, 0), 3600,
          "2026-07-15T13:00:00+01:00" },
        { "Europe/Dublin", utc(2070, 1, 15, 12, 0, 0), 0,
          "2070-01-15T12:00:00+00:00" },
        { "Europe/Dublin", utc(2070, 7, 15, 12, 0, 0), 3600,
          "2070-07-15T13:00:00+01:00" },
        /* Nuuk: v3 footer <-02>2<-01>,M3.5.0/-1,M10.5.0/0 */
        { "America/Nuuk", utc(2060, 3, 27, 23, 59, 59), -7200,
          "2060-03-27T21:59:59-02:00" },
        { "America/Nuuk", utc(2060, 3, 28, 1, 0, 0), -3600,
          "2060-03-28T00:00:00-01:00" },
    };

    for (i = 0; i < N_ELEMS(cases); i++) {
        tz = zone(cases[i].zone);

        if (tz == NULL) {
            TAP_OK(0, "%s: zone not found", cases[i].zone);
            continue;
        }

        TAP_OK(cxb_tz_offset(tz, cases[i].t) == cases[i].off,
               "%s offset at %" PRId64 " is %d", cases[i].zone, cases[i].t,
               cases[i].off);

        if (cxb_tz_offset(tz, cases[i].t) != cases[i].off) {
            printf("#   got %d\n", cxb_tz_offset(tz, cases[i].t));
        }

        cxb_time_format(buf, cases[i].t, tz);
        TAP_IS_STR(buf, cases[i].fmt, "%s format", cases[i].zone);
    }

    /* cache and names */
    tz = zone("Asia/Kolkata");
    tz2 = cxb_tz_get("Asia/KolkataXYZ", 12);
    TAP_OK(tz != NULL && tz == tz2, "cached, name need not be NUL-terminated");
    TAP_IS_STR(tz ? cxb_tz_name(tz) : NULL, "Asia/Kolkata", "cxb_tz_name");
    TAP_OK(zone("UTC") == cxb_tz_utc() && zone("Etc/UTC") == cxb_tz_utc(),
           "UTC and Etc/UTC are the built-in zone");
    TAP_IS_STR(cxb_tz_name(cxb_tz_utc()), "UTC", "UTC name");
    TAP_OK(cxb_tz_offset(NULL, 1795428000) == 0
           && strcmp(cxb_tz_name(NULL), "UTC") == 0
           && cxb_tz_from_local(NULL, 42) == 42,
           "a NULL zone is UTC");
    TAP_OK(cxb_tz_offset(cxb_tz_utc(), INT64_MIN) == 0
           && cxb_tz_offset(cxb_tz_utc(), INT64_MAX) == 0,
           "UTC offset at the extremes");

    tz = zone("America/New_York");
    TAP_OK(tz != NULL && cxb_tz_offset(tz, INT64_MIN) == -17762
           && cxb_tz_offset(tz, INT64_MAX) == -14400,
           "New York at INT64_MIN (LMT) and INT64_MAX (clamped, June: EDT)");

    /* unsafe and unknown names */
    TAP_OK(zone("../etc/passwd") == NULL, "reject ../etc/passwd");
    TAP_OK(zone("/etc/passwd") == NULL, "reject /etc/passwd");
    TAP_OK(zone("Nope/Zone") == NULL, "reject Nope/Zone");
    TAP_OK(cxb_tz_get("", 0) == NULL, "reject empty name");
    TAP_OK(cxb_tz_get(NULL, 0) == NULL, "reject NULL name");
    TAP_OK(zone("America/../America/New_York") == NULL, "reject ..");
    TAP_OK(zone("./UTC") == NULL, "reject .");
    TAP_OK(zone("America//New_York") == NULL, "reject //");
    TAP_OK(zone("America/New_York/") == NULL, "reject trailing /");
    TAP_OK(zone("America/New York") == NULL, "reject space");
    TAP_OK(zone("America/New_York\n") == NULL, "reject newline");
    TAP_OK(cxb_tz_get("UTC\0/../../etc/passwd", 21) == NULL,
           "reject embedded NUL");
    TAP_OK(zone("zone.tab") == NULL, "reject zone.tab (dot)");
    TAP_OK(zone("America") == NULL, "reject a directory");
    TAP_OK(zone("right/UTC") == NULL, "reject leap-second zone right/UTC");

    memset(name, 'A', 65);
    name[65] = '\0';
    TAP_OK(cxb_tz_get(name, 65) == NULL, "reject 65-byte name");
    TAP_OK(cxb_tz_get(name, 64) == NULL, "64-byte unknown name: NULL");
}


/* zones from files we control */

static void
test_dir(void)
{
    char             tmpl[] = "/tmp/cxb_time_XXXXXX", path[600];
    char            *dir;
    size_t           len;
    unsigned char   *data;
    const cxb_tz_t  *tz;

    dir = mkdtemp(tmpl);
    if (dir == NULL) {
        TAP_OK(0, "mkdtemp: %s", strerror(errno));
        return;
    }

    snprintf(path, sizeof(path), "%s/Asia/Kolkata", zone_dir());

    if (read_file(path, &data, &len) != 0) {
        TAP_OK(0, "read %s", path);
        return;
    }

    write_file(dir, "Good", data, len);
    write_file(dir, "Trunc", data, len - 1);
    write_file(dir, "Junk", "hello, world\n", 13);
    write_file(dir, "Empty", "", 0);
    free(data);

    snprintf(path, sizeof(path), "%s/Fifo", dir);
    mkfifo(path, 0600);

    cxb_tz_set_dir(dir);

    tz = zone("Good");
    TAP_OK(tz != NULL && cxb_tz_offset(tz, 0) == 19800,
           "cxb_tz_set_dir: zone read from the new directory");
    TAP_OK(zone("Trunc") == NULL, "truncated file: NULL");
    TAP_OK(zone("Junk") == NULL, "not TZif: NULL");
    TAP_OK(zone("Empty") == NULL, "empty file: NULL");
    TAP_OK(zone("Fifo") == NULL, "FIFO: NULL, without blocking");
    TAP_OK(zone("Asia/Kolkata") != NULL, "already cached zone still there");
    TAP_OK(zone("Europe/Paris") == NULL, "uncached zone not in new dir");

    cxb_tz_set_dir(zone_dir());

    TAP_OK(zone("Europe/Paris") != NULL, "directory restored");

    snprintf(path, sizeof(path), "%s/Fifo", dir);
    unlink(path);

    for (len = 0; len < 4; len++) {
        static const char  *names[] = { "Good", "Trunc", "Junk", "Empty" };

        snprintf(path, sizeof(path), "%s/%s", dir, names[len]);
        unlink(path);
    }

    rmdir(dir);
}


/* POSIX TZ strings */

typedef struct {
    const char  *spec;
    int64_t      t;
    int          off;
} posix_case_t;


static void
test_posix(void)
{
    size_t     i;
    cxb_tz_t  *tz;

    static const char  *bad[] = {
        "",
        "E5",
        "EST",
        "5",
        "EST5EDT,",
        "EST5EDT,M3.2.0",
        "EST5EDT,M3.2.0,",
        "EST5EDT,M3.2.0,M11.1.0,",
        "EST5EDT,M3.2.0,M11.1.0junk",
        "EST5EDT,M13.1.0,M11.1.0",
        "EST5EDT,M0.1.0,M11.1.0",
        "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,M3.0.0,M11.1.0",
        "EST5EDT,M3.2.7,M11.1.0",
        "EST5EDT,M3.2,M11.1.0",
        "EST5EDT,J0,J365",
        "EST5EDT,J366,J1",
        "EST5EDT,366,1",
        "EST5EDT,M3.2.0/168,M11.1.0",
        "EST5EDT,M3.2.0/-168,M11.1.0",
        "EST5EDT,M3.2.0/2:60,M11.1.0",
        "EST25",
        "EST5:60",
        "EST5ED",
        "<+05",
        "<+05>",
        "<+0530>-5:60",
        "<+05 30>-5",
        "<ab>5",
        "EST5EDT4x",
        "EST 5",
    };

    const posix_case_t  good[] = {
        { "EST5EDT,M3.2.0,M11.1.0", utc(2026, 3, 8, 6, 59, 59), -18000 },
        { "EST5EDT,M3.2.0,M11.1.0", utc(2026, 3, 8, 7, 0, 0), -14400 },
        { "EST5EDT,M3.2.0,M11.1.0", utc(2026, 11, 1, 5, 59, 59), -14400 },
        { "EST5EDT,M3.2.0,M11.1.0", utc(2026, 11, 1, 6, 0, 0), -18000 },
        { "EST5EDT", utc(2026, 3, 8, 7, 0, 0), -14400 },
        { "EST5EDT", utc(2026, 11, 1, 6, 0, 0), -18000 },
        { "EST5EDT4,M3.2.0/2:00:00,M11.1.0/2", utc(2026, 7, 1, 0, 0, 0),
          -14400 },
        { "<+0530>-5:30", utc(2026, 7, 1, 0, 0, 0), 19800 },
        { "IST-5:30", utc(2026, 7, 1, 0, 0, 0), 19800 },
        { "<-0330>3:30", 0, -12600 },
        { "<+05>-5", 0, 18000 },
        { "GMT0", 0, 0 },
        { "ABC+0:00:01", 0, -1 },
        /* Sydney: ends Apr 5 03:00 AEDT, starts Oct 4 02:00 AEST */
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 1, 1, 0, 0, 0), 39600 },
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 4, 4, 15, 59, 59),
          39600 },
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 4, 4, 16, 0, 0), 36000 },
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 10, 3, 15, 59, 59),
          36000 },
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 10, 3, 16, 0, 0), 39600 },
        { "AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2026, 12, 31, 23, 0, 0),
          39600 },
        /* Jn never counts February 29, n does */
        { "AAA0BBB,J60/0,J300/0", utc(2024, 2, 29, 12, 0, 0), 0 },
        { "AAA0BBB,J60/0,J300/0", utc(2024, 3, 1, 0, 0, 0), 3600 },
        { "AAA0BBB,59/0,299/0", utc(2024, 2, 28, 23, 59, 59), 0 },
        { "AAA0BBB,59/0,299/0", utc(2024, 2, 29, 0, 0, 0), 3600 },
        { "AAA0BBB,59/0,299/0", utc(2026, 2, 28, 23, 59, 59), 0 },
        { "AAA0BBB,59/0,299/0", utc(2026, 3, 1, 0, 0, 0), 3600 },
        /* J300 = Oct 27, n299 = Oct 26 in a leap year (DST ends at
         * 00:00 DST = 23:00 UTC the day before) */
        { "AAA0BBB,J60/0,J300/0", utc(2024, 10, 26, 22, 59, 59), 3600 },
        { "AAA0BBB,J60/0,J300/0", utc(2024, 10, 26, 23, 0, 0), 0 },
        { "AAA0BBB,59/0,299/0", utc(2024, 10, 25, 22, 59, 59), 3600 },
        { "AAA0BBB,59/0,299/0", utc(2024, 10, 25, 23, 0, 0), 0 },
        /* version 3: hours up to 167 and negative */
        { "AAA0BBB-1,M3.1.0/167,M10.1.0/-167", utc(2026, 3, 7, 22, 59, 59),
          0 },
        { "AAA0BBB-1,M3.1.0/167,M10.1.0/-167", utc(2026, 3, 7, 23, 0, 0),
          3600 },
        { "AAA0BBB-1,M3.1.0/167,M10.1.0/-167", utc(2026, 9, 26, 23, 59, 59),
          3600 },
        { "AAA0BBB-1,M3.1.0/167,M10.1.0/-167", utc(2026, 9, 27, 0, 0, 0),
          0 },
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 3, 29, 0, 59, 59),
          -7200 },
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 3, 29, 1, 0, 0),
          -3600 },
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 10, 25, 0, 59, 59),
          -3600 },
        { "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2026, 10, 25, 1, 0, 0),
          -7200 },
        /* Santiago: 24:00 on the first Saturday */
        { "<-04>4<-03>,M9.1.6/24,M4.1.6/24", utc(2026, 4, 5, 2, 59, 59),
          -10800 },
        { "<-04>4<-03>,M9.1.6/24,M4.1.6/24", utc(2026, 4, 5, 3, 0, 0),
          -14400 },
        { "<-04>4<-03>,M9.1.6/24,M4.1.6/24", utc(2026, 9, 6, 3, 59, 59),
          -14400 },
        { "<-04>4<-03>,M9.1.6/24,M4.1.6/24", utc(2026, 9, 6, 4, 0, 0),
          -10800 },
        /* Chatham: 45-minute zone, 2:45 and 3:45 */
        { "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
          utc(2026, 7, 1, 0, 0, 0), 45900 },
        { "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
          utc(2026, 1, 1, 0, 0, 0), 49500 },
        /* all-year DST, as zic writes it */
        { "EST5EDT4,0/0,J365/25", utc(2026, 1, 1, 4, 30, 0), -14400 },
        { "EST5EDT4,0/0,J365/25", utc(2026, 1, 1, 5, 30, 0), -14400 },
        { "EST5EDT4,0/0,J365/25", utc(2026, 7, 1, 0, 0, 0), -14400 },
        { "EST5EDT4,0/0,J365/25", utc(2024, 12, 31, 23, 0, 0), -14400 },
        /* M.5 = last week: Feb 2026 has four Sundays, 2032 five */
        { "AAA0BBB-1,M2.5.0/0,M12.1.0/0", utc(2026, 2, 21, 23, 59, 59), 0 },
        { "AAA0BBB-1,M2.5.0/0,M12.1.0/0", utc(2026, 2, 22, 0, 0, 0), 3600 },
        { "AAA0BBB-1,M2.5.0/0,M12.1.0/0", utc(2032, 2, 28, 23, 59, 59), 0 },
        { "AAA0BBB-1,M2.5.0/0,M12.1.0/0", utc(2032, 2, 29, 0, 0, 0), 3600 },
        /* footer far away */
        { "EST5EDT,M3.2.0,M11.1.0", utc(2200, 7, 1, 0, 0, 0), -14400 },
        { "EST5EDT,M3.2.0,M11.1.0", utc(1800, 7, 1, 0, 0, 0), -14400 },
        { "EST5EDT,M3.2.0,M11.1.0", utc(1800, 1, 1, 0, 0, 0), -18000 },
    };

    for (i = 0; i < N_ELEMS(good); i++) {
        tz = cxb_tz_from_posix(good[i].spec, strlen(good[i].spec));

        TAP_OK(tz != NULL && cxb_tz_offset(tz, good[i].t) == good[i].off,
               "TZ \"%s\" at %" PRId64 " is %d", good[i].spec, good[i].t,
               good[i].off);

        if (tz && cxb_tz_offset(tz, good[i].t) != good[i].off) {
            printf("#   got %d\n", cxb_tz_offset(tz, good[i].t));
        }

        cxb_tz_free(tz);
    }

    for (i = 0; i < N_ELEMS(bad); i++) {
        tz = cxb_tz_from_posix(bad[i], strlen(bad[i]));
        TAP_OK(tz == NULL, "reject TZ \"%s\"", bad[i]);
        cxb_tz_free(tz);
    }
}


/* hand-built TZif data */

typedef struct {
    unsigned char  b[4096];
    size_t         n;
} tzif_t;


static void
put8(tzif_t *f, unsigned v)
{
    f->b[f->n++] = (unsigned char) v;
}


static void
put32(tzif_t *f, uint32_t v)
{
    put8(f, v >> 24);
    put8(f, (v >> 16) & 0xff);
    put8(f, (v >> 8) & 0xff);
    put8(f, v & 0xff);
}


static void
put64(tzif_t *f, int64_t v)
{
    put32(f, (uint32_t) ((uint64_t) v >> 32));
    put32(f, (uint32_t) v);
}


static void
put_hdr(tzif_t *f, int version, uint32_t isut, uint32_t isstd,
    uint32_t leap, uint32_t time, uint32_t type, uint32_t chars)
{
    int  i;

    memcpy(f->b + f->n, "TZif", 4);
    f->n += 4;
    put8(f, version);

    for (i = 0; i < 15; i++) {
        put8(f, 0);
    }

    put32(f, isut);
    put32(f, isstd);
    put32(f, leap);
    put32(f, time);
    put32(f, type);
    put32(f, chars);
}


/*
 * A zone at +01:00 until 2000-01-01T00:00:00Z, then +02:00, and from
 * 2030-01-01 the footer.  version 1 data only when footer is NULL.
 */

static void
build_tzif(tzif_t *f, int version, const char *footer)
{
    memset(f, 0, sizeof(tzif_t));

    if (version == 0) {
        put_hdr(f, 0, 2, 2, 0, 2, 2, 8);
        put32(f, 946684800);
        put32(f, 1893456000);
        put8(f, 1);
        put8(f, 0);
        put32(f, 3600);
        put8(f, 0);
        put8(f, 0);
        put32(f, 7200);
        put8(f, 0);
        put8(f, 4);
        memcpy(f->b + f->n, "AAA\0BBB\0", 8);
        f->n += 8;
        put8(f, 0);
        put8(f, 0);
        put8(f, 0);
        put8(f, 0);
        return;
    }

    /* slim-style minimal version 1 block */
    put_hdr(f, version, 0, 0, 0, 0, 1, 1);
    put32(f, 0);
    put8(f, 0);
    put8(f, 0);
    put8(f, 0);

    put_hdr(f, version, 0, 0, 0, 2, 2, 8);
    put64(f, 946684800);
    put64(f, 1893456000);
    put8(f, 1);
    put8(f, 0);
    put32(f, 3600);
    put8(f, 0);
    put8(f, 0);
    put32(f, 7200);
    put8(f, 0);
    put8(f, 4);
    memcpy(f->b + f->n, "AAA\0BBB\0", 8);
    f->n += 8;
    put8(f, '\n');
    memcpy(f->b + f->n, footer, strlen(footer));
    f->n += strlen(footer);
    put8(f, '\n');
}


static void
test_tzif(void)
{
    int             ok;
    size_t          i, len;
    tzif_t          f, g;
    int64_t         t;
    cxb_tz_t       *tz;
    unsigned char  *data, *copy;
    char            path[600];

    /* version 1 */
    build_tzif(&f, 0, NULL);
    tz = cxb_tz_load_mem("v1", f.b, f.n);
    TAP_OK(tz != NULL, "version 1 file loads");

    if (tz) {
        TAP_OK(cxb_tz_offset(tz, 946684799) == 3600
               && cxb_tz_offset(tz, 946684800) == 7200
               && cxb_tz_offset(tz, 1893455999) == 7200
               && cxb_tz_offset(tz, 1893456000) == 3600
               && cxb_tz_offset(tz, 4102444800LL) == 3600
               && cxb_tz_offset(tz, -5000000000LL) == 3600,
               "version 1: transitions, type 0 before, last type after");
        TAP_IS_STR(cxb_tz_name(tz), "v1", "load_mem name");
    }

    cxb_tz_free(tz);

    for (len = 0, ok = 1; len < f.n; len++) {
        tz = cxb_tz_load_mem("x", f.b, len);
        ok &= tz == NULL;
        cxb_tz_free(tz);
    }

    TAP_OK(ok, "version 1: every truncation rejected");

    /* version 2 with a footer (slim-style: footer does the future) */
    build_tzif(&f, '2', "EST5EDT,M3.2.0,M11.1.0");
    tz = cxb_tz_load_mem("v2", f.b, f.n);
    TAP_OK(tz != NULL, "version 2 file loads");

    if (tz) {
        TAP_OK(cxb_tz_offset(tz, 946684799) == 3600
               && cxb_tz_offset(tz, 946684800) == 7200
               && cxb_tz_offset(tz, 1893455999) == 7200
               && cxb_tz_offset(tz, 1893456000) == -18000
               && cxb_tz_offset(tz, utc(2030, 7, 1, 0, 0, 0)) == -14400
               && cxb_tz_offset(tz, utc(2100, 3, 14, 6, 59, 59)) == -18000
               && cxb_tz_offset(tz, utc(2100, 3, 14, 7, 0, 0)) == -14400,
               "version 2: footer used from the last transition on");
    }

    cxb_tz_free(tz);

    for (len = 0, ok = 1; len < f.n; len++) {
        tz = cxb_tz_load_mem("x", f.b, len);
        ok &= tz == NULL;
        cxb_tz_free(tz);
    }

    TAP_OK(ok, "version 2: every truncation rejected");

    build_tzif(&f, '3', "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    tz = cxb_tz_load_mem("v3", f.b, f.n);
    TAP_OK(tz != NULL
           && cxb_tz_offset(tz, utc(2040, 3, 25, 0, 59, 59)) == -7200
           && cxb_tz_offset(tz, utc(2040, 3, 25, 1, 0, 0)) == -3600,
           "version 3 footer with negative rule time");
    cxb_tz_free(tz);

    build_tzif(&f, '4', "<+00>0");
    tz = cxb_tz_load_mem("v4", f.b, f.n);
    TAP_OK(tz != NULL && cxb_tz_offset(tz, utc(2040, 1, 1, 0, 0, 0)) == 0,
           "version 4 accepted");
    cxb_tz_free(tz);

    build_tzif(&f, '2', "");
    tz = cxb_tz_load_mem("v2e", f.b, f.n);
    TAP_OK(tz != NULL && cxb_tz_offset(tz, utc(2040, 1, 1, 0, 0, 0)) == 3600,
           "empty footer: last type continues");
    cxb_tz_free(tz);

    /* corruptions */
    {
        struct {
            const char  *what;
            size_t       at;
            int          val;
        }  bad[] = {
            { "bad magic", 0, 'X' },
            { "bad version", 4, '5' },
            { "second header bad magic", 44 + 7, 'X' },
            { "type index out of range", 51 + 44 + 16, 2 },
            { "isdst > 1", 51 + 44 + 18 + 4, 2 },
            { "abbreviation index out of range", 51 + 44 + 18 + 5, 8 },
            { "descending transitions", 51 + 44 + 8, 0x80 },
            { "typecnt 0", 51 + 39, 0 },
            { "leap seconds", 51 + 31, 1 },
            { "isutcnt != typecnt", 51 + 23, 1 },
            { "utoff out of range", 51 + 44 + 18, 0x7f },
            { "footer without newline", 51 + 44 + 38, 'x' },
        };

        build_tzif(&f, '2', "EST5EDT,M3.2.0,M11.1.0");

        for (i = 0; i < N_ELEMS(bad); i++) {
            g = f;
            g.b[bad[i].at] = (unsigned char) bad[i].val;
            tz = cxb_tz_load_mem("x", g.b, g.n);
            TAP_OK(tz == NULL, "reject TZif: %s", bad[i].what);
            cxb_tz_free(tz);
        }

        build_tzif(&f, '2', "EST5EDT,M3.2.0,M13.1.0");
        tz = cxb_tz_load_mem("x", f.b, f.n);
        TAP_OK(tz == NULL, "reject TZif: invalid footer");
        cxb_tz_free(tz);

        f.n--;
        tz = cxb_tz_load_mem("x", f.b, f.n);
        TAP_OK(tz == NULL, "reject TZif: unterminated footer");
        cxb_tz_free(tz);

        TAP_OK(cxb_tz_load_mem("x", NULL, 0) == NULL, "NULL data");
    }

    /* truncations and random corruption of a real file: no crash */
    snprintf(path, sizeof(path), "%s/America/New_York", zone_dir());

    if (read_file(path, &data, &len) != 0) {
        TAP_OK(0, "read %s", path);
        return;
    }

    tz = cxb_tz_load_mem("ny", data, len);
    TAP_OK(tz != NULL, "America/New_York loads from memory");
    cxb_tz_free(tz);

    for (i = 0, ok = 1; i < len; i++) {
        tz = cxb_tz_load_mem("x", data, i);
        ok &= tz == NULL;
        cxb_tz_free(tz);
    }

    TAP_OK(ok, "America/New_York: every truncation rejected");

    copy = malloc(len);

    for (i = 0; copy && i < 3000; i++) {
        size_t  k, nflip;

        memcpy(copy, data, len);
        nflip = 1 + rng() % 4;

        for (k = 0; k < nflip; k++) {
            copy[rng() % len] = (unsigned char) rng();
        }

        tz = cxb_tz_load_mem("x", copy, len);

        if (tz) {
            t = rng_range(-CXB_TIME_LIMIT, CXB_TIME_LIMIT);
            (void) cxb_tz_offset(tz, t);
            (void) cxb_tz_offset(tz, rng_range(0, 5000000000LL));
        }

        cxb_tz_free(tz);
    }

    TAP_OK(copy != NULL, "3000 randomly corrupted files survived");

    free(copy);
    free(data);
}


/* local time -> instant */

static void
test_from_local(void)
{
    int              i, bad, off;
    int64_t          t, local, r;
    const cxb_tz_t  *tz;

    tz = zone("America/New_York");
    if (tz == NULL) {
        TAP_OK(0, "New York missing");
        return;
    }

    TAP_OK(cxb_tz_from_local(tz, utc(2026, 7, 1, 10, 0, 0))
           == utc(2026, 7, 1, 14, 0, 0), "from_local: plain EDT");
    TAP_OK(cxb_tz_from_local(tz, utc(2026, 3, 8, 2, 30, 0))
           == utc(2026, 3, 8, 7, 30, 0), "from_local: gap -> 03:30 EDT");
    TAP_OK(cxb_tz_from_local(tz, utc(2026, 3, 8, 1, 59, 59))
           == utc(2026, 3, 8, 6, 59, 59), "from_local: before gap");
    TAP_OK(cxb_tz_from_local(tz, utc(2026, 3, 8, 3, 0, 0))
           == utc(2026, 3, 8, 7, 0, 0), "from_local: after gap");
    TAP_OK(cxb_tz_from_local(tz, utc(2026, 11, 1, 1, 30, 0))
           == utc(2026, 11, 1, 5, 30, 0), "from_local: fold -> earlier EDT");
    TAP_OK(cxb_tz_from_local(tz, utc(2026, 11, 1, 2, 0, 0))
           == utc(2026, 11, 1, 7, 0, 0), "from_local: after fold");
    TAP_OK(cxb_tz_from_local(cxb_tz_utc(), 12345) == 12345,
           "from_local: UTC");

    tz = zone("Australia/Lord_Howe");
    TAP_OK(tz && cxb_tz_from_local(tz, utc(2026, 10, 4, 2, 15, 0))
                 == utc(2026, 10, 3, 15, 45, 0),
           "from_local: Lord Howe 30-minute gap");
    TAP_OK(tz && cxb_tz_from_local(tz, utc(2026, 4, 5, 1, 45, 0))
                 == utc(2026, 4, 4, 14, 45, 0),
           "from_local: Lord Howe 30-minute fold -> earlier");

    tz = zone("Europe/London");
    bad = 0;

    for (i = 0; tz && i < 5000; i++) {
        t = rng_range(0, 4102444800LL);
        off = cxb_tz_offset(tz, t);
        local = t + off;
        r = cxb_tz_from_local(tz, local);

        if (r > t || r + cxb_tz_offset(tz, r) != local) {
            bad++;
        }
    }

    TAP_OK(tz && bad == 0, "from_local inverts offset, 5000 random London");
}


/* glibc oracle */

static int
glibc_format(char *buf, size_t size, int64_t t, long *gmtoff)
{
    long       a;
    time_t     tt;
    struct tm  tm;

    tt = (time_t) t;

    if (localtime_r(&tt, &tm) == NULL) {
        return -1;
    }

    a = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
    *gmtoff = tm.tm_gmtoff;

    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, tm.tm_gmtoff < 0 ? '-' : '+',
             a / 3600, a % 3600 / 60);

    return 0;
}


static int
oracle_check(const cxb_tz_t *tz, int64_t t, int *shown)
{
    long  gmtoff;
    char  ours[CXB_TIME_FORMAT_LEN], theirs[64];

    if (glibc_format(theirs, sizeof(theirs), t, &gmtoff) != 0) {
        return 1;
    }

    cxb_time_format(ours, t, tz);

    if (cxb_tz_offset(tz, t) == gmtoff && strcmp(ours, theirs) == 0) {
        return 0;
    }

    if ((*shown)++ < 5) {
        printf("#   %s at %" PRId64 ": ours %s (%d), glibc %s (%ld)\n",
               cxb_tz_name(tz), t, ours, cxb_tz_offset(tz, t), theirs,
               gmtoff);
    }

    return 1;
}


static void
test_oracle(void)
{
    int              i, bad, shown, ntrans, o;
    size_t           z;
    int64_t          t, lo, hi, mid, start, end, step;
    const cxb_tz_t  *tz;

    static const char  *zones[] = {
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "America/Santiago",
        "America/Nuuk",
        "Europe/Dublin",
        "Pacific/Chatham",
        "Africa/Casablanca",
        "Asia/Jerusalem",
        "Asia/Gaza",
    };

    start = utc(1970, 1, 1, 0, 0, 0);
    end = utc(2100, 1, 1, 0, 0, 0);
    step = 6 * 3600;

    for (z = 0; z < N_ELEMS(zones); z++) {
        tz = zone(zones[z]);

        if (tz == NULL) {
            TAP_OK(0, "oracle %s: zone missing", zones[z]);
            continue;
        }

        if (setenv("TZ", zones[z], 1) != 0) {
            TAP_OK(0, "setenv TZ");
            continue;
        }

        tzset();

        bad = 0;
        shown = 0;

        for (i = 0; i < 5000; i++) {
            bad += oracle_check(tz, rng_range(start, end), &shown);
        }

        TAP_OK(bad == 0, "oracle %s: 5000 random instants 1970-2100 "
               "(%d differ)", zones[z], bad);

        /* every 6 hours, and both sides of each transition we find */
        bad = 0;
        ntrans = 0;
        o = cxb_tz_offset(tz, start);

        for (t = start; t < end; t += step) {
            bad += oracle_check(tz, t, &shown);

            if (cxb_tz_offset(tz, t + step) == o) {
                continue;
            }

            lo = t;
            hi = t + step;

            while (hi - lo > 1) {
                mid = lo + (hi - lo) / 2;

                if (cxb_tz_offset(tz, mid) == o) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }

            bad += oracle_check(tz, lo, &shown);
            bad += oracle_check(tz, hi, &shown);
            ntrans++;
            o = cxb_tz_offset(tz, t + step);
        }

        TAP_OK(bad == 0, "oracle %s: 6-hourly scan and %d transitions "
               "+-1s (%d differ)", zones[z], ntrans, bad);
    }

    unsetenv("TZ");
    tzset();
}


int
main(void)
{
    const char  *seed;

    seed = getenv("CXB_SEED");
    if (seed && seed[0]) {
        rng_state = strtoull(seed, NULL, 0) | 1;
    }

    printf("# seed 0x%" PRIx64 ", zoneinfo %s\n", rng_state, zone_dir());

    test_civil();
    test_iso();
    test_format();
    test_zones();
    test_dir();
    test_posix();
    test_tzif();
    test_from_local();
    test_oracle();

    cxb_tz_cleanup();

    return TAP_DONE();
}
