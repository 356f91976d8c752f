/*
 * Time parsing, formatting and IANA time zones for the core (no nginx
 * headers).
 *
 * Zones are read from TZif files (RFC 8536, versions 1 to 4) and the POSIX
 * TZ footer string is used for instants after the last transition, so
 * "slim" zoneinfo files work.  Loaded zones are cached per process and
 * stay valid until cxb_tz_cleanup().  Nothing here calls localtime(),
 * timegm() or touches $TZ; civil-date arithmetic is our own (proleptic
 * Gregorian calendar, any year).
 *
 * Instants are clamped internally to +-CXB_TIME_LIMIT seconds (about
 * 4.4 million years) so that no arithmetic can overflow.
 */

#ifndef CXB_TIME_H
#define CXB_TIME_H

#include <stddef.h>
#include <stdint.h>


#define CXB_TIME_LIMIT       ((int64_t) 1 << 47)

/* longest cxb_time_format() output plus NUL is 30 bytes */
#define CXB_TIME_FORMAT_LEN  32

#define CXB_TZ_NAME_MAX      64


typedef struct cxb_tz_s  cxb_tz_t;


/*
 * ISO 8601 / RFC 3339 date-time:
 *
 *   YYYY-MM-DD('T'|'t'|' ')HH:MM:SS[.f+][zone]
 *   zone: 'Z' | 'z' | +HH:MM | -HH:MM | +HHMM | -HHMM | +HH | -HH
 *
 * Exactly 4 year digits, 2 digits for every other field, at least one
 * fraction digit (only the first three count, the rest are truncated).
 * Hour 0-23, second 0-59 (no leap second, no "24:00:00"), offset hour
 * 0-23, offset minute 0-59.  A date-time without zone designator is UTC.
 * The whole of s[0 .. len) must match (s need not be NUL-terminated).
 * Returns 0 and milliseconds since the epoch, or -1.
 */
int cxb_time_parse_iso(const char *s, size_t len, int64_t *ms);

/* "YYYY-MM-DDTHH:MM:SS+HH:MM" (-HH:MM west, +00:00 for UTC), NUL-terminated,
 * buf >= CXB_TIME_FORMAT_LEN.  Returns the length (25 for years 0-9999).
 * Offsets that are not whole minutes (local mean time before ~1900) are
 * rounded to the nearest minute and the wall-clock time printed with the
 * rounded offset, so the string always denotes exactly epoch_sec. */
size_t cxb_time_format(char *buf, int64_t epoch_sec, const cxb_tz_t *tz);

/* "YYYY-MM-DDTHH:MM:SSZ" in UTC, NUL-terminated, buf >= CXB_TIME_FORMAT_LEN.
 * Returns the length (20 for years 0-9999). */
size_t cxb_time_format_utc(char *buf, int64_t epoch_sec);


/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, years
 * within +-CXB_TIME_LIMIT / 31556952, i.e. about 4.4 million). */
int64_t cxb_time_days_from_civil(int64_t y, int m, int d);
/* Inverse of cxb_time_days_from_civil(); any of y, m, d may be NULL. */
void cxb_time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday */
int cxb_time_weekday(int64_t days);
int cxb_time_days_in_month(int64_t y, int m);


/*
 * Set the zoneinfo directory.  The default is $TZDIR if set (and not empty)
 * at first use, else "/usr/share/zoneinfo".  Zones already cached are not
 * reloaded, so call this before the first cxb_tz_get().
 */
void cxb_tz_set_dir(const char *dir);

/*
 * Zone by IANA name ("Asia/Kolkata", "America/New_York", "UTC",
 * "Etc/GMT+5"), loaded on first use and cached for the process.
 *
 * NULL for unsafe names (empty, longer than CXB_TZ_NAME_MAX, characters
 * outside [A-Za-z0-9/_+-], leading or trailing '/', "//"), for missing or
 * non-regular files, for files that are not valid TZif and for TZif files
 * with leap-second records ("right/..." zones).  Failures are not cached.
 * "UTC" and "Etc/UTC" always succeed, even without zoneinfo files.
 */
const cxb_tz_t *cxb_tz_get(const char *name, size_t len);

/* The UTC zone (static, no file needed). */
const cxb_tz_t *cxb_tz_utc(void);

/* NUL-terminated name the zone was loaded under ("UTC" for cxb_tz_utc()).
 * A NULL tz means UTC here and in every function taking a zone. */
const char *cxb_tz_name(const cxb_tz_t *tz);

/* Offset east of UTC in seconds in effect at the given instant. */
int cxb_tz_offset(const cxb_tz_t *tz, int64_t epoch_sec);

/*
 * The instant at which the zone's wall clock shows local_sec (seconds since
 * 1970-01-01T00:00:00 local time).  Ambiguous times (clock set back) give
 * the earlier instant; skipped times (clock set forward) are interpreted
 * with the offset in effect before the gap, i.e. 02:30 on a spring-forward
 * night in New York becomes 03:30 EDT.
 */
int64_t cxb_tz_from_local(const cxb_tz_t *tz, int64_t local_sec);

/*
 * Parse TZif data from memory into a new zone that is NOT cached; free it
 * with cxb_tz_free().  Returns NULL on invalid data or allocation failure.
 * Used by cxb_tz_get() and by tests.
 */
cxb_tz_t *cxb_tz_load_mem(const char *name, const void *data, size_t len);
void cxb_tz_free(cxb_tz_t *tz);

/* Validate a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0" and build a
 * zone from it alone (not cached, cxb_tz_free()).  NULL if invalid. */
cxb_tz_t *cxb_tz_from_posix(const char *spec, size_t len);

/* Free every cached zone and reset the directory; pointers returned by
 * cxb_tz_get() become invalid. */
void cxb_tz_cleanup(void);


#endif /* CXB_TIME_H */
