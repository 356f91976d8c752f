/*
 * Time parsing, formatting and IANA time zones for the core.
 *
 * TZif: RFC 8536 (and RFC 9636, which only adds version 4).  POSIX TZ
 * strings: POSIX.1-2017 8.3 plus the RFC 8536 version 3 extensions (rule
 * times from -167 to 167 hours).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cxb_buf.h"
#include "cxb_time.h"


#define CXB_TZ_DEFAULT_DIR   "/usr/share/zoneinfo"
#define CXB_TZ_FILE_MAX      (256 * 1024)
#define CXB_TZ_BUCKETS       64

/* RFC 8536 3.2: utoff SHOULD be in [-89999, 93599] */
#define CXB_TZ_OFF_MIN       (-89999)
#define CXB_TZ_OFF_MAX       93599

#define CXB_TZ_RULE_J        1     /* Jn: 1-365, February 29 never counted */
#define CXB_TZ_RULE_N        2     /* n: 0-365, February 29 counted */
#define CXB_TZ_RULE_M        3     /* Mm.w.d */


typedef struct {
    int            kind;
    int            day;      /* J and N forms */
    int            mon;      /* M form: 1-12 */
    int            week;     /* M form: 1-5, 5 = last */
    int            wday;     /* M form: 0-6, 0 = Sunday */
    int32_t        time;     /* seconds after local midnight */
} cxb_tz_rule_t;


typedef struct {
    int32_t        std_off;  /* east of UTC */
    int32_t        dst_off;
    int            has_dst;
    cxb_tz_rule_t  start;    /* std -> dst, time in standard time */
    cxb_tz_rule_t  end;      /* dst -> std, time in daylight time */
} cxb_tz_posix_t;


/*
 * RFC 8536 3.1 header: "TZif", version, 15 unused bytes, then isutcnt,
 * isstdcnt, leapcnt, timecnt, typecnt, charcnt (32-bit big-endian).
 */

#define CXB_TZIF_HDR  44

typedef struct {
    int       version;
    uint32_t  isutcnt;
    uint32_t  isstdcnt;
    uint32_t  leapcnt;
    uint32_t  timecnt;
    uint32_t  typecnt;
    uint32_t  charcnt;
} cxb_tzif_hdr_t;


struct cxb_tz_s {
    cxb_tz_t        *next;   /* cache chain */
    int64_t         *trans;  /* transition instants, strictly ascending */
    uint8_t         *idx;    /* type index after each transition */
    int32_t         *offs;   /* utoff of each type */
    uint32_t         ntrans;
    uint32_t         ntypes;
    int              has_footer;
    cxb_tz_posix_t   footer;
    size_t           name_len;
    char             name[CXB_TZ_NAME_MAX + 1];
};


static cxb_tz_t  cxb_tz_utc_zone = {
    NULL, NULL, NULL, NULL, 0, 0, 1,
    { 0, 0, 0, { 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 } },
    3, "UTC"
};

/* the per-process zone cache */
static cxb_tz_t  *cxb_tz_cache[CXB_TZ_BUCKETS];
static char      *cxb_tz_dir;


static int64_t cxb_time_clamp(int64_t t);
static int64_t cxb_time_floor_div(int64_t a, int64_t b, int64_t *rem);
static int cxb_time_is_leap(int64_t y);
static size_t cxb_time_put_civil(char *buf, int64_t local_sec);
static char *cxb_time_put2(char *p, int v);
static int cxb_time_digits(const char **pp, const char *end, int n, int *v);

static int cxb_tz_posix_parse(const char *s, size_t len, cxb_tz_posix_t *tp);
static int cxb_tz_parse_name(const char **pp, const char *end);
static int cxb_tz_parse_hms(const char **pp, const char *end, int max_hours,
    int32_t *sec);
static int cxb_tz_parse_rule(const char **pp, const char *end,
    cxb_tz_rule_t *r);
static int cxb_tz_parse_num(const char **pp, const char *end, int max,
    int *v);
static int64_t cxb_tz_rule_instant(const cxb_tz_rule_t *r, int64_t y,
    int32_t off);
static int32_t cxb_tz_posix_offset(const cxb_tz_posix_t *tp, int64_t t);

static int cxb_tz_name_ok(const char *name, size_t len);
static uint32_t cxb_tz_hash(const char *name, size_t len);
static cxb_tz_t *cxb_tz_load_file(const char *name, size_t len);
static uint32_t cxb_tz_be32(const unsigned char *p);
static uint64_t cxb_tz_be64(const unsigned char *p);
static cxb_tz_t *cxb_tz_alloc(const char *name, size_t len);
static int cxb_tzif_header(const unsigned char *p, const unsigned char *end,
    cxb_tzif_hdr_t *h);
static uint64_t cxb_tzif_block_size(const cxb_tzif_hdr_t *h, int tsize);


/* civil-date arithmetic (H. Hinnant's algorithms, proleptic Gregorian) */

int64_t
cxb_time_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


void
cxb_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int      mm;
    int64_t  z, era, doe, yoe, doy, mp;

    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    mm = (int) (mp < 10 ? mp + 3 : mp - 9);

    if (y) {
        *y = yoe + era * 400 + (mm <= 2);
    }

    if (m) {
        *m = mm;
    }

    if (d) {
        *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    }
}


int
cxb_time_weekday(int64_t days)
{
    int64_t  rem;

    /* 1970-01-01 was a Thursday */
    (void) cxb_time_floor_div(days + 4, 7, &rem);

    return (int) rem;
}


int
cxb_time_days_in_month(int64_t y, int m)
{
    static const int  dim[12] = { 31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31 };

    if (m < 1 || m > 12) {
        return 0;
    }

    if (m == 2 && cxb_time_is_leap(y)) {
        return 29;
    }

    return dim[m - 1];
}


static int
cxb_time_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


static int64_t
cxb_time_clamp(int64_t t)
{
    if (t > CXB_TIME_LIMIT) {
        return CXB_TIME_LIMIT;
    }

    if (t < -CXB_TIME_LIMIT) {
        return -CXB_TIME_LIMIT;
    }

    return t;
}


static int64_t
cxb_time_floor_div(int64_t a, int64_t b, int64_t *rem)
{
    int64_t  q, r;

    q = a / b;
    r = a % b;

    if (r < 0) {
        r += b;
        q--;
    }

    if (rem) {
        *rem = r;
    }

    return q;
}


/* ISO 8601 parsing */

static int
cxb_time_digits(const char **pp, const char *end, int n, int *v)
{
    int          r;
    const char  *p;

    p = *pp;

    if (end - p < n) {
        return -1;
    }

    for (r = 0; n; n--, p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        r = r * 10 + (*p - '0');
    }

    *pp = p;
    *v = r;

    return 0;
}


int
cxb_time_parse_iso(const char *s, size_t len, int64_t *ms)
{
    int          year, mon, day, hour, min, sec, frac, nfrac, sign, oh, om;
    int64_t      days, off;
    const char  *p, *end;

    if (s == NULL) {
        return -1;
    }

    p = s;
    end = s + len;

    if (cxb_time_digits(&p, end, 4, &year) != 0
        || p == end || *p++ != '-'
        || cxb_time_digits(&p, end, 2, &mon) != 0
        || p == end || *p++ != '-'
        || cxb_time_digits(&p, end, 2, &day) != 0
        || p == end || (*p != 'T' && *p != 't' && *p != ' '))
    {
        return -1;
    }

    p++;

    if (cxb_time_digits(&p, end, 2, &hour) != 0
        || p == end || *p++ != ':'
        || cxb_time_digits(&p, end, 2, &min) != 0
        || p == end || *p++ != ':'
        || cxb_time_digits(&p, end, 2, &sec) != 0)
    {
        return -1;
    }

    frac = 0;

    if (p < end && *p == '.') {
        p++;

        for (nfrac = 0; p < end && *p >= '0' && *p <= '9'; p++, nfrac++) {
            if (nfrac < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }

        if (nfrac == 0) {
            return -1;
        }

        for ( /* void */ ; nfrac < 3; nfrac++) {
            frac *= 10;
        }
    }

    off = 0;

    if (p < end) {
        if (*p == 'Z' || *p == 'z') {
            p++;

        } else if (*p == '+' || *p == '-') {
            sign = (*p++ == '-') ? -1 : 1;
            om = 0;

            if (cxb_time_digits(&p, end, 2, &oh) != 0) {
                return -1;
            }

            if (p < end) {
                if (*p == ':') {
                    p++;
                }

                if (cxb_time_digits(&p, end, 2, &om) != 0) {
                    return -1;
                }
            }

            if (oh > 23 || om > 59) {
                return -1;
            }

            off = sign * (oh * 3600 + om * 60);

        } else {
            return -1;
        }
    }

    if (p != end) {
        return -1;
    }

    if (mon < 1 || mon > 12
        || day < 1 || day > cxb_time_days_in_month(year, mon)
        || hour > 23 || min > 59 || sec > 59)
    {
        return -1;
    }

    days = cxb_time_days_from_civil(year, mon, day);

    *ms = (days * 86400 + hour * 3600 + min * 60 + sec - off) * 1000 + frac;

    return 0;
}


/* formatting */

static char *
cxb_time_put2(char *p, int v)
{
    *p++ = (char) ('0' + v / 10);
    *p++ = (char) ('0' + v % 10);

    return p;
}


static size_t
cxb_time_put_civil(char *buf, int64_t local_sec)
{
    int       mon, day, n;
    char     *p, tmp[24];
    int64_t   days, rem, year;
    uint64_t  uy;

    days = cxb_time_floor_div(local_sec, 86400, &rem);
    cxb_time_civil_from_days(days, &year, &mon, &day);

    p = buf;

    if (year < 0) {
        *p++ = '-';
        uy = (uint64_t) -year;

    } else {
        uy = (uint64_t) year;
    }

    n = 0;

    do {
        tmp[n++] = (char) ('0' + uy % 10);
        uy /= 10;
    } while (uy);

    while (n < 4) {
        tmp[n++] = '0';
    }

    while (n) {
        *p++ = tmp[--n];
    }

    *p++ = '-';
    p = cxb_time_put2(p, mon);
    *p++ = '-';
    p = cxb_time_put2(p, day);
    *p++ = 'T';
    p = cxb_time_put2(p, (int) (rem / 3600));
    *p++ = ':';
    p = cxb_time_put2(p, (int) (rem % 3600 / 60));
    *p++ = ':';
    p = cxb_time_put2(p, (int) (rem % 60));

    return (size_t) (p - buf);
}


size_t
cxb_time_format(char *buf, int64_t epoch_sec, const cxb_tz_t *tz)
{
    int     off, a;
    char   *p;

    epoch_sec = cxb_time_clamp(epoch_sec);

    off = cxb_tz_offset(tz, epoch_sec);

    /* round to whole minutes, halves away from zero */
    a = off < 0 ? -off : off;
    a = (a + 30) / 60 * 60;

    p = buf + cxb_time_put_civil(buf, epoch_sec + (off < 0 ? -a : a));

    *p++ = off < 0 && a != 0 ? '-' : '+';
    p = cxb_time_put2(p, a / 3600);
    *p++ = ':';
    p = cxb_time_put2(p, a % 3600 / 60);
    *p = '\0';

    return (size_t) (p - buf);
}


size_t
cxb_time_format_utc(char *buf, int64_t epoch_sec)
{
    size_t  n;

    n = cxb_time_put_civil(buf, cxb_time_clamp(epoch_sec));
    buf[n++] = 'Z';
    buf[n] = '\0';

    return n;
}


/* POSIX TZ strings */

static int
cxb_tz_parse_name(const char **pp, const char *end)
{
    size_t       n;
    const char  *p;

    p = *pp;
    n = 0;

    if (p < end && *p == '<') {
        for (p++; p < end && *p != '>'; p++, n++) {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                  || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
            {
                return -1;
            }
        }

        if (p == end) {
            return -1;
        }

        p++;

    } else {
        for ( /* void */ ; p < end; p++, n++) {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))) {
                break;
            }
        }
    }

    if (n < 3) {
        return -1;
    }

    *pp = p;

    return 0;
}


static int
cxb_tz_parse_num(const char **pp, const char *end, int max, int *v)
{
    int          r, n;
    const char  *p;

    p = *pp;

    for (r = 0, n = 0; p < end && *p >= '0' && *p <= '9'; p++, n++) {
        r = r * 10 + (*p - '0');

        if (r > max) {
            return -1;
        }
    }

    if (n == 0) {
        return -1;
    }

    *pp = p;
    *v = r;

    return 0;
}


/* [+-]hh[:mm[:ss]], the sign is returned applied */

static int
cxb_tz_parse_hms(const char **pp, const char *end, int max_hours,
    int32_t *sec)
{
    int          sign, h, m, s;
    const char  *p;

    p = *pp;
    sign = 1;
    m = 0;
    s = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        sign = (*p++ == '-') ? -1 : 1;
    }

    if (cxb_tz_parse_num(&p, end, max_hours, &h) != 0) {
        return -1;
    }

    if (p < end && *p == ':') {
        p++;

        if (cxb_tz_parse_num(&p, end, 59, &m) != 0) {
            return -1;
        }

        if (p < end && *p == ':') {
            p++;

            if (cxb_tz_parse_num(&p, end, 59, &s) != 0) {
                return -1;
            }
        }
    }

    *pp = p;
    *sec = sign * (h * 3600 + m * 60 + s);

    return 0;
}


static int
cxb_tz_parse_rule(const char **pp, const char *end, cxb_tz_rule_t *r)
{
    const char  *p;

    p = *pp;

    if (p == end) {
        return -1;
    }

    if (*p == 'J') {
        p++;
        r->kind = CXB_TZ_RULE_J;

        if (cxb_tz_parse_num(&p, end, 365, &r->day) != 0 || r->day < 1) {
            return -1;
        }

    } else if (*p == 'M') {
        p++;
        r->kind = CXB_TZ_RULE_M;

        if (cxb_tz_parse_num(&p, end, 12, &r->mon) != 0 || r->mon < 1
            || p == end || *p++ != '.'
            || cxb_tz_parse_num(&p, end, 5, &r->week) != 0 || r->week < 1
            || p == end || *p++ != '.'
            || cxb_tz_parse_num(&p, end, 6, &r->wday) != 0)
        {
            return -1;
        }

    } else {
        r->kind = CXB_TZ_RULE_N;

        if (cxb_tz_parse_num(&p, end, 365, &r->day) != 0) {
            return -1;
        }
    }

    r->time = 2 * 3600;

    if (p < end && *p == '/') {
        p++;

        /* RFC 8536 3.3.1: -167 to 167 hours */
        if (cxb_tz_parse_hms(&p, end, 167, &r->time) != 0) {
            return -1;
        }
    }

    *pp = p;

    return 0;
}


static int
cxb_tz_posix_parse(const char *s, size_t len, cxb_tz_posix_t *tp)
{
    int32_t      off;
    const char  *p, *end;

    p = s;
    end = s + len;

    memset(tp, 0, sizeof(cxb_tz_posix_t));

    if (cxb_tz_parse_name(&p, end) != 0
        || cxb_tz_parse_hms(&p, end, 24, &off) != 0)
    {
        return -1;
    }

    /* POSIX offsets are positive west of Greenwich */
    tp->std_off = -off;

    if (p == end) {
        return 0;
    }

    if (cxb_tz_parse_name(&p, end) != 0) {
        return -1;
    }

    tp->has_dst = 1;
    tp->dst_off = tp->std_off + 3600;

    if (p < end && *p != ',') {
        if (cxb_tz_parse_hms(&p, end, 24, &off) != 0) {
            return -1;
        }

        tp->dst_off = -off;
    }

    if (p == end) {
        /* no rule: the US rules, as glibc and tzcode assume */
        tp->start.kind = CXB_TZ_RULE_M;
        tp->start.mon = 3;
        tp->start.week = 2;
        tp->start.wday = 0;
        tp->start.time = 2 * 3600;
        tp->end.kind = CXB_TZ_RULE_M;
        tp->end.mon = 11;
        tp->end.week = 1;
        tp->end.wday = 0;
        tp->end.time = 2 * 3600;

        return 0;
    }

    if (*p++ != ','
        || cxb_tz_parse_rule(&p, end, &tp->start) != 0
        || p == end || *p++ != ','
        || cxb_tz_parse_rule(&p, end, &tp->end) != 0
        || p != end)
    {
        return -1;
    }

    return 0;
}


/* UTC instant of rule r in year y, r's time being local with offset off */

static int64_t
cxb_tz_rule_instant(const cxb_tz_rule_t *r, int64_t y, int32_t off)
{
    int      d, dim;
    int64_t  days;

    switch (r->kind) {

    case CXB_TZ_RULE_J:
        days = cxb_time_days_from_civil(y, 1, 1) + r->day - 1;

        if (r->day >= 60 && cxb_time_is_leap(y)) {
            days++;
        }

        break;

    case CXB_TZ_RULE_N:
        days = cxb_time_days_from_civil(y, 1, 1) + r->day;
        break;

    default: /* CXB_TZ_RULE_M */
        days = cxb_time_days_from_civil(y, r->mon, 1);
        d = (r->wday - cxb_time_weekday(days) + 7) % 7 + 7 * (r->week - 1);
        dim = cxb_time_days_in_month(y, r->mon);

        while (d >= dim) {
            d -= 7;
        }

        days += d;
        break;
    }

    return days * 86400 + r->time - off;
}


/*
 * The most recent start or end transition at or before t decides.  Years
 * y - 2 .. y + 1 around t's UTC year cover rule times of +-167 hours and
 * rules whose transitions cross the new year; on a tie (all-year DST is
 * written as "start Jan 1 00:00, end Dec 31 25:00") daylight time wins.
 */

static int32_t
cxb_tz_posix_offset(const cxb_tz_posix_t *tp, int64_t t)
{
    int      dst;
    int64_t  y, yy, best, s, e;

    if (!tp->has_dst) {
        return tp->std_off;
    }

    cxb_time_civil_from_days(cxb_time_floor_div(t, 86400, NULL), &y,
                             NULL, NULL);

    best = INT64_MIN;
    dst = 0;

    for (yy = y - 2; yy <= y + 1; yy++) {
        s = cxb_tz_rule_instant(&tp->start, yy, tp->std_off);
        e = cxb_tz_rule_instant(&tp->end, yy, tp->dst_off);

        if (e <= t && e > best) {
            best = e;
            dst = 0;
        }

        if (s <= t && s >= best) {
            best = s;
            dst = 1;
        }
    }

    return dst ? tp->dst_off : tp->std_off;
}


/* zones */

const cxb_tz_t *
cxb_tz_utc(void)
{
    return &cxb_tz_utc_zone;
}


const char *
cxb_tz_name(const cxb_tz_t *tz)
{
    return tz ? tz->name : cxb_tz_utc_zone.name;
}


int
cxb_tz_offset(const cxb_tz_t *tz, int64_t epoch_sec)
{
    uint32_t  lo, hi, mid;

    if (tz == NULL) {
        return 0;
    }

    epoch_sec = cxb_time_clamp(epoch_sec);

    if (tz->ntrans == 0 || epoch_sec >= tz->trans[tz->ntrans - 1]) {
        if (tz->has_footer) {
            return cxb_tz_posix_offset(&tz->footer, epoch_sec);
        }

        if (tz->ntrans == 0) {
            return tz->offs[0];
        }

        return tz->offs[tz->idx[tz->ntrans - 1]];
    }

    /* RFC 8536 3.2: type 0 applies before the first transition */
    if (epoch_sec < tz->trans[0]) {
        return tz->offs[0];
    }

    /* trans[lo] <= epoch_sec < trans[hi] */
    lo = 0;
    hi = tz->ntrans - 1;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (tz->trans[mid] <= epoch_sec) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    return tz->offs[tz->idx[lo]];
}


int64_t
cxb_tz_from_local(const cxb_tz_t *tz, int64_t local_sec)
{
    int      i, n;
    int32_t  o[3];
    int64_t  t, best;

    local_sec = cxb_time_clamp(local_sec);

    /* offsets before and after, as Temporal's GetPossibleEpochNanoseconds */
    o[0] = cxb_tz_offset(tz, local_sec - 86400);
    o[1] = cxb_tz_offset(tz, local_sec + 86400);
    o[2] = cxb_tz_offset(tz, local_sec);

    best = 0;
    n = 0;

    for (i = 0; i < 3; i++) {
        t = local_sec - o[i];

        if (cxb_tz_offset(tz, t) == o[i] && (n == 0 || t < best)) {
            best = t;
            n++;
        }
    }

    if (n) {
        return best;
    }

    /* in a gap: use the offset from before it */
    return local_sec - o[0];
}


static uint32_t
cxb_tz_be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}


static uint64_t
cxb_tz_be64(const unsigned char *p)
{
    return (uint64_t) cxb_tz_be32(p) << 32 | cxb_tz_be32(p + 4);
}


void
cxb_tz_free(cxb_tz_t *tz)
{
    if (tz == NULL || tz == &cxb_tz_utc_zone) {
        return;
    }

    free(tz->trans);
    free(tz->idx);
    free(tz->offs);
    free(tz);
}


static cxb_tz_t *
cxb_tz_alloc(const char *name, size_t len)
{
    cxb_tz_t  *tz;

    tz = calloc(1, sizeof(cxb_tz_t));
    if (tz == NULL) {
        return NULL;
    }

    if (len > CXB_TZ_NAME_MAX) {
        len = CXB_TZ_NAME_MAX;
    }

    if (len) {
        memcpy(tz->name, name, len);
    }

    tz->name[len] = '\0';
    tz->name_len = len;

    return tz;
}


cxb_tz_t *
cxb_tz_from_posix(const char *spec, size_t len)
{
    cxb_tz_t        *tz;
    cxb_tz_posix_t   tp;

    if (spec == NULL || cxb_tz_posix_parse(spec, len, &tp) != 0) {
        return NULL;
    }

    tz = cxb_tz_alloc(spec, len);
    if (tz == NULL) {
        return NULL;
    }

    tz->has_footer = 1;
    tz->footer = tp;

    return tz;
}


static int
cxb_tzif_header(const unsigned char *p, const unsigned char *end,
    cxb_tzif_hdr_t *h)
{
    if (end - p < CXB_TZIF_HDR || memcmp(p, "TZif", 4) != 0) {
        return -1;
    }

    switch (p[4]) {
    case 0:
        h->version = 1;
        break;
    case '2':
    case '3':
    case '4':
        h->version = p[4] - '0';
        break;
    default:
        return -1;
    }

    h->isutcnt = cxb_tz_be32(p + 20);
    h->isstdcnt = cxb_tz_be32(p + 24);
    h->leapcnt = cxb_tz_be32(p + 28);
    h->timecnt = cxb_tz_be32(p + 32);
    h->typecnt = cxb_tz_be32(p + 36);
    h->charcnt = cxb_tz_be32(p + 40);

    return 0;
}


static uint64_t
cxb_tzif_block_size(const cxb_tzif_hdr_t *h, int tsize)
{
    return (uint64_t) h->timecnt * (uint64_t) (tsize + 1)
           + (uint64_t) h->typecnt * 6 + h->charcnt
           + (uint64_t) h->leapcnt * (uint64_t) (tsize + 4)
           + h->isstdcnt + h->isutcnt;
}


cxb_tz_t *
cxb_tz_load_mem(const char *name, const void *data, size_t len)
{
    int                   tsize;
    int32_t               off;
    uint32_t              i;
    uint64_t              size;
    cxb_tz_t             *tz;
    cxb_tzif_hdr_t        h;
    const unsigned char  *p, *end, *tp, *ip, *yp, *nl;

    if (data == NULL) {
        return NULL;
    }

    p = data;
    end = p + len;

    if (cxb_tzif_header(p, end, &h) != 0) {
        return NULL;
    }

    tsize = 4;

    if (h.version >= 2) {
        /* skip the version 1 data block, use the 64-bit one */
        size = cxb_tzif_block_size(&h, 4);

        if (size > (uint64_t) (end - p - CXB_TZIF_HDR)) {
            return NULL;
        }

        p += CXB_TZIF_HDR + size;

        if (cxb_tzif_header(p, end, &h) != 0 || h.version < 2) {
            return NULL;
        }

        tsize = 8;
    }

    if (h.typecnt == 0 || h.typecnt > 256 || h.charcnt == 0
        || (h.isutcnt != 0 && h.isutcnt != h.typecnt)
        || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt))
    {
        return NULL;
    }

    /*
     * Leap-second ("right/") zones count TAI-like seconds; supporting them
     * would make every instant in this module ambiguous, so refuse them.
     */
    if (h.leapcnt != 0) {
        return NULL;
    }

    size = cxb_tzif_block_size(&h, tsize);

    if (size > (uint64_t) (end - p - CXB_TZIF_HDR)) {
        return NULL;
    }

    p += CXB_TZIF_HDR;
    tp = p;                                 /* transition times */
    ip = tp + (size_t) h.timecnt * (size_t) tsize;   /* transition types */
    yp = ip + h.timecnt;                    /* local time type records */
    p += size;

    tz = cxb_tz_alloc(name ? name : "", name ? strlen(name) : 0);
    if (tz == NULL) {
        return NULL;
    }

    tz->ntrans = h.timecnt;
    tz->ntypes = h.typecnt;

    tz->offs = malloc(sizeof(int32_t) * h.typecnt);
    if (tz->offs == NULL) {
        goto failed;
    }

    if (h.timecnt) {
        tz->trans = malloc(sizeof(int64_t) * h.timecnt);
        tz->idx = malloc(h.timecnt);
        if (tz->trans == NULL || tz->idx == NULL) {
            goto failed;
        }
    }

    for (i = 0; i < h.typecnt; i++) {
        off = (int32_t) cxb_tz_be32(yp + i * 6);

        if (off < CXB_TZ_OFF_MIN || off > CXB_TZ_OFF_MAX
            || yp[i * 6 + 4] > 1 || yp[i * 6 + 5] >= h.charcnt)
        {
            goto failed;
        }

        tz->offs[i] = off;
    }

    for (i = 0; i < h.timecnt; i++) {
        if (tsize == 8) {
            tz->trans[i] = (int64_t) cxb_tz_be64(tp + (size_t) i * 8);

        } else {
            tz->trans[i] = (int32_t) cxb_tz_be32(tp + (size_t) i * 4);
        }

        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            goto failed;
        }

        if (ip[i] >= h.typecnt) {
            goto failed;
        }

        tz->idx[i] = ip[i];
    }

    if (h.version >= 2) {
        /* RFC 8536 3.3: footer, "\n" TZ string "\n" (may be empty) */
        if (p == end || *p != '\n') {
            goto failed;
        }

        p++;

        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL) {
            goto failed;
        }

        if (nl > p) {
            if (cxb_tz_posix_parse((const char *) p, (size_t) (nl - p),
                                   &tz->footer)
                != 0)
            {
                goto failed;
            }

            tz->has_footer = 1;
        }
    }

    return tz;

failed:

    cxb_tz_free(tz);

    return NULL;
}


/* the cache */

void
cxb_tz_set_dir(const char *dir)
{
    char    *d;
    size_t   n;

    if (dir == NULL || dir[0] == '\0') {
        return;
    }

    n = strlen(dir);

    d = malloc(n + 1);
    if (d == NULL) {
        return;
    }

    memcpy(d, dir, n + 1);

    free(cxb_tz_dir);
    cxb_tz_dir = d;
}


static int
cxb_tz_name_ok(const char *name, size_t len)
{
    size_t  i;
    char    c;

    if (name == NULL || len == 0 || len > CXB_TZ_NAME_MAX
        || name[0] == '/' || name[len - 1] == '/')
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = name[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-')
        {
            continue;
        }

        /* no '.', so no ".." either */
        if (c == '/' && name[i + 1] != '/') {
            continue;
        }

        return 0;
    }

    return 1;
}


static uint32_t
cxb_tz_hash(const char *name, size_t len)
{
    size_t    i;
    uint32_t  h;

    /* FNV-1a */
    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) name[i];
        h *= 16777619u;
    }

    return h;
}


static cxb_tz_t *
cxb_tz_load_file(const char *name, size_t len)
{
    int          fd;
    ssize_t      n;
    cxb_tz_t    *tz;
    cxb_buf_t    path, data;
    const char  *dir, *env;
    struct stat  st;

    if (cxb_tz_dir == NULL) {
        env = getenv("TZDIR");
        cxb_tz_set_dir(env && env[0] ? env : CXB_TZ_DEFAULT_DIR);
    }

    dir = cxb_tz_dir ? cxb_tz_dir : CXB_TZ_DEFAULT_DIR;

    cxb_buf_init(&path);
    cxb_buf_adds(&path, dir);
    cxb_buf_addc(&path, '/');
    cxb_buf_add(&path, name, len);

    if (cxb_buf_cstr(&path) == NULL) {
        cxb_buf_free(&path);
        return NULL;
    }

    /* O_NONBLOCK: a FIFO planted in the directory must not hang us */
    fd = open(path.data, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    cxb_buf_free(&path);

    if (fd == -1) {
        return NULL;
    }

    tz = NULL;
    cxb_buf_init(&data);

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)
        || st.st_size > CXB_TZ_FILE_MAX
        || cxb_buf_reserve(&data, (size_t) st.st_size) != 0)
    {
        goto done;
    }

    for ( ;; ) {
        if (data.len > CXB_TZ_FILE_MAX
            || cxb_buf_reserve(&data, 4096) != 0)
        {
            goto done;
        }

        n = read(fd, data.data + data.len, data.cap - data.len - 1);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            goto done;
        }

        if (n == 0) {
            break;
        }

        data.len += (size_t) n;
    }

    tz = cxb_tz_load_mem(NULL, data.data, data.len);

    if (tz) {
        memcpy(tz->name, name, len);
        tz->name[len] = '\0';
        tz->name_len = len;
    }

done:

    close(fd);
    cxb_buf_free(&data);

    return tz;
}


const cxb_tz_t *
cxb_tz_get(const char *name, size_t len)
{
    uint32_t   b;
    cxb_tz_t  *tz;

    if (!cxb_tz_name_ok(name, len)) {
        return NULL;
    }

    if ((len == 3 && memcmp(name, "UTC", 3) == 0)
        || (len == 7 && memcmp(name, "Etc/UTC", 7) == 0))
    {
        return &cxb_tz_utc_zone;
    }

    b = cxb_tz_hash(name, len) % CXB_TZ_BUCKETS;

    for (tz = cxb_tz_cache[b]; tz; tz = tz->next) {
        if (tz->name_len == len && memcmp(tz->name, name, len) == 0) {
            return tz;
        }
    }

    tz = cxb_tz_load_file(name, len);
    if (tz == NULL) {
        return NULL;
    }

    tz->next = cxb_tz_cache[b];
    cxb_tz_cache[b] = tz;

    return tz;
}


void
cxb_tz_cleanup(void)
{
    int        i;
    cxb_tz_t  *tz, *next;

    for (i = 0; i < CXB_TZ_BUCKETS; i++) {
        for (tz = cxb_tz_cache[i]; tz; tz = next) {
            next = tz->next;
            cxb_tz_free(tz);
        }

        cxb_tz_cache[i] = NULL;
    }

    free(cxb_tz_dir);
    cxb_tz_dir = NULL;
}
