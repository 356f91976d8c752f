/*
 * libFuzzer target: ISO 8601 times, formatting and time zones
 * (src/cxb_time.c).
 *
 * Input: an ISO 8601 date-time; when it starts with "TZif" also a TZif
 * file (cxb_tz_load_mem), otherwise also a POSIX TZ string
 * (cxb_tz_from_posix).
 *
 * Checks:
 *   - cxb_time_parse_iso() accepts exactly what an independent parser of the
 *     grammar in cxb_time.h accepts, with the same value (that parser uses
 *     glibc's timegm() for the calendar);
 *   - a parsed time formats with cxb_time_format_utc() and, in UTC and
 *     eight real zones (half-hour and 45-minute offsets, a negative DST, a
 *     30-minute DST, local mean time), with cxb_time_format(); every string
 *     of a year 0000-9999 parses back to the same second;
 *   - the offset written is the zone's offset at that instant, rounded to
 *     whole minutes, and the wall clock is the instant plus that offset;
 *   - cxb_tz_from_local() of that wall clock gives an instant whose own
 *     wall clock is the same, no later than the instant;
 *   - a zone loaded from the input satisfies the same round trip (offset
 *     and wall clock) at fixed instants and around every transition found
 *     in a few sampled years (at most 64).
 */

#include <time.h>

#include "cxb_time.h"
#include "fuzz_common.h"


#define NZONES  9


static const char  *zone_names[NZONES] = {
    "UTC", "Asia/Kolkata", "America/New_York", "America/St_Johns",
    "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Dublin",
    "Africa/Monrovia", "Pacific/Chatham"
};

static const cxb_tz_t  *zones[NZONES];
static int              initialized;


static void
init(void)
{
    int  i;

    for (i = 0; i < NZONES; i++) {
        /* a missing zoneinfo file only leaves that zone out */
        zones[i] = cxb_tz_get(zone_names[i], strlen(zone_names[i]));
    }

    initialized = 1;
}


static int64_t
floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}


/* sec formatted in tz parses back to sec, with the right offset */
static void
check_format(int64_t sec, const cxb_tz_t *tz, int from_local)
{
    int      off, a, sign, hh, mm;
    char     buf[CXB_TIME_FORMAT_LEN];
    size_t   n;
    int64_t  ms, local, t;

    n = cxb_time_format(buf, sec, tz);
    FUZZ_CHECK(n < CXB_TIME_FORMAT_LEN && strlen(buf) == n,
               "format length %zu", n);

    off = cxb_tz_offset(tz, sec);
    a = (off < 0 ? -off : off);
    a = (a + 30) / 60 * 60;

    /* "...+HH:MM": the rounded offset */
    FUZZ_CHECK(n >= 6 && (buf[n - 6] == '+' || buf[n - 6] == '-')
               && buf[n - 3] == ':', "no offset in %s", buf);
    sign = buf[n - 6] == '-' ? -1 : 1;
    hh = (buf[n - 5] - '0') * 10 + (buf[n - 4] - '0');
    mm = (buf[n - 2] - '0') * 10 + (buf[n - 1] - '0');
    FUZZ_CHECK(hh * 3600 + mm * 60 == a
               && (a == 0 || sign == (off < 0 ? -1 : 1)),
               "%s in %s: offset %d s", buf, cxb_tz_name(tz), off);

    if (n == 25 && hh <= 23) {
        FUZZ_CHECK(cxb_time_parse_iso(buf, n, &ms) == 0,
                   "%s (%s) does not parse", buf, cxb_tz_name(tz));
        FUZZ_CHECK(ms == sec * 1000, "%s (%s) parses to %lld ms, not %lld s",
                   buf, cxb_tz_name(tz), (long long) ms, (long long) sec);
    }

    /* the earliest instant showing the same wall clock */

    if (from_local) {
        local = sec + off;
        t = cxb_tz_from_local(tz, local);

        FUZZ_CHECK(t <= sec && t + cxb_tz_offset(tz, t) == local,
                   "from_local(%lld) in %s gives %lld for instant %lld",
                   (long long) local, cxb_tz_name(tz), (long long) t,
                   (long long) sec);
    }
}


static void
check_utc(int64_t sec)
{
    char     buf[CXB_TIME_FORMAT_LEN];
    size_t   n;
    int64_t  ms;

    n = cxb_time_format_utc(buf, sec);
    FUZZ_CHECK(n < CXB_TIME_FORMAT_LEN && strlen(buf) == n && buf[n - 1] == 'Z',
               "format_utc %s", buf);

    if (n == 20) {
        FUZZ_CHECK(cxb_time_parse_iso(buf, n, &ms) == 0 && ms == sec * 1000,
                   "%s does not parse back to %lld", buf, (long long) sec);
    }
}


/* the transition in (lo, hi] where the offset changes (lo's differs) */
static int64_t
bisect(const cxb_tz_t *tz, int64_t lo, int64_t hi)
{
    int      off;
    int64_t  mid;

    off = cxb_tz_offset(tz, lo);

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (cxb_tz_offset(tz, mid) == off) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return hi;
}


/*
 * A zone from the input: fixed instants, and the instants around every
 * transition found by sampling a few years day by day.  from_local is only
 * exercised (its documented method looks at the offsets one day around the
 * wall clock, which arbitrary zones with transitions less than a day apart
 * defeat), the format round trip is checked.
 */
static void
check_zone(const cxb_tz_t *tz)
{
    int       k, prev, off, ntrans;
    size_t    i, y;
    int64_t   t, t0, start, end;

    static const int64_t  fixed[] = {
        INT64_C(-62167219200), INT64_C(-2208988800), -1, 0,
        INT64_C(1795428000), INT64_C(2147483647), INT64_C(4102444800),
        INT64_C(253402300799)
    };

    static const int64_t  years[] = { 1900, 1969, 2026, 2038, 2400, 9999 };

    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_format(fixed[i], tz, 0);
    }

    ntrans = 0;

    for (y = 0; y < sizeof(years) / sizeof(years[0]); y++) {
        start = cxb_time_days_from_civil(years[y], 1, 1) * 86400 - 86400;
        end = cxb_time_days_from_civil(years[y], 12, 31) * 86400 + 86400;

        prev = cxb_tz_offset(tz, start);

        for (t = start + 86400; t <= end && ntrans < 64; t += 86400) {
            off = cxb_tz_offset(tz, t);

            if (off == prev) {
                continue;
            }

            t0 = bisect(tz, t - 86400, t);
            ntrans++;

            for (k = -1; k <= 1; k++) {
                check_format(t0 + k, tz, 0);
            }

            (void) cxb_tz_from_local(tz, t0 + off);
            (void) cxb_tz_from_local(tz, t0 + prev);

            prev = off;
        }
    }
}


/*
 * An independent parser of the grammar documented in cxb_time.h:
 *   YYYY-MM-DD('T'|'t'|' ')HH:MM:SS[.f+][Z|z|+HH:MM|-HH:MM|+HHMM|-HHMM|+HH|-HH]
 */

static int
ref_digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int  r = 0;

    if (len - *i < (size_t) n) {
        return -1;
    }

    for ( /* void */ ; n; n--, (*i)++) {
        if (s[*i] < '0' || s[*i] > '9') {
            return -1;
        }

        r = r * 10 + (s[*i] - '0');
    }

    *v = r;

    return 0;
}


static int
ref_parse(const char *s, size_t len, int64_t *ms)
{
    int        Y, M, D, h, m, sec, frac, nf, oh, om, sign, leap;
    size_t     i;
    time_t     t;
    struct tm  tm;

    static const int  dim[12] = { 31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31 };

    i = 0;

    if (ref_digits(s, len, &i, 4, &Y) || i == len || s[i++] != '-'
        || ref_digits(s, len, &i, 2, &M) || i == len || s[i++] != '-'
        || ref_digits(s, len, &i, 2, &D) || i == len
        || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
    {
        return -1;
    }

    i++;

    if (ref_digits(s, len, &i, 2, &h) || i == len || s[i++] != ':'
        || ref_digits(s, len, &i, 2, &m) || i == len || s[i++] != ':'
        || ref_digits(s, len, &i, 2, &sec))
    {
        return -1;
    }

    frac = 0;

    if (i < len && s[i] == '.') {
        for (i++, nf = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++, nf++) {
            if (nf < 3) {
                frac = frac * 10 + (s[i] - '0');
            }
        }

        if (nf == 0) {
            return -1;
        }

        for ( /* void */ ; nf < 3; nf++) {
            frac *= 10;
        }
    }

    oh = 0;
    om = 0;
    sign = 1;

    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;

    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i++] == '-' ? -1 : 1;

        if (ref_digits(s, len, &i, 2, &oh)) {
            return -1;
        }

        if (i < len && s[i] == ':') {
            i++;

            if (ref_digits(s, len, &i, 2, &om)) {
                return -1;
            }

        } else if (i < len && ref_digits(s, len, &i, 2, &om)) {
            return -1;
        }
    }

    if (i != len) {
        return -1;
    }

    leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;

    if (M < 1 || M > 12 || D < 1 || D > dim[M - 1] + (M == 2 && leap)
        || h > 23 || m > 59 || sec > 59 || oh > 23 || om > 59)
    {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;

    t = timegm(&tm);

    *ms = ((int64_t) t - sign * (oh * 3600 + om * 60)) * 1000 + frac;

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int        i;
    int64_t    ms, sec;
    cxb_tz_t  *tz;

    if (!initialized) {
        init();
    }

    {
        int      ok, rok;
        int64_t  rms = 0;

        ms = 0;
        ok = cxb_time_parse_iso((const char *) data, size, &ms) == 0;
        rok = ref_parse((const char *) data, size, &rms) == 0;

        FUZZ_CHECK(ok == rok && (!ok || ms == rms),
                   "\"%s\": cxb_time_parse_iso %s %lld, reference %s %lld",
                   fuzz_show((const char *) data, size), ok ? "ok" : "fails",
                   (long long) ms, rok ? "ok" : "fails", (long long) rms);
    }

    if (cxb_time_parse_iso((const char *) data, size, &ms) == 0) {
        sec = floor_div(ms, 1000);

        FUZZ_CHECK(ms - sec * 1000 >= 0 && ms - sec * 1000 < 1000,
                   "floor");

        check_utc(sec);

        for (i = 0; i < NZONES; i++) {
            if (zones[i]) {
                check_format(sec, zones[i], 1);
            }
        }

        check_format(sec, NULL, 1);
    }

    /* the input as a zone */

    if (fuzz_has_prefix((const char *) data, size, "TZif")) {
        tz = cxb_tz_load_mem("fuzz", data, size);

    } else {
        tz = cxb_tz_from_posix((const char *) data, size);
    }

    if (tz != NULL) {
        check_zone(tz);
        cxb_tz_free(tz);
    }

    return 0;
}
