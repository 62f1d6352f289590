/**
 * An instant (a JavaScript Date) as an SQL expression for a DATETIME column, in the server's
 * time zone, as NOW(3) and the column defaults store it: every comparison with NOW(3) is
 * then made by the server alone.
 *
 * FROM_UNIXTIME would do, but it stops where TIMESTAMP stops: 2038-01-19 on MariaDB 10.11
 * (later versions go to 2106), and it gives NULL before 1970. A DATETIME holds the years
 * 1000–9999, and `add --run-at 2099-01-01T00:00:00Z` must work. So, outside that range, the
 * instant is written as its UTC wall-clock time plus the server zone's UTC offset at an
 * equivalent instant that FROM_UNIXTIME can take: a whole number of 28-year spans away. The
 * Gregorian calendar repeats its dates and weekdays every 28 years between 1901 and 2099, so
 * rules such as "summer time starts on the last Sunday of March" give the same offset there;
 * beyond 2099 (the tz database has no real rules that far anyway) the offset may be an hour
 * off near a change, never more.
 */

/** The last second FROM_UNIXTIME takes on every supported server (2038-01-19 03:14:07 UTC). */
const LAST_UNIX_SECOND = 2 ** 31 - 1;
/** 28 Gregorian years (7 leap days) in seconds. */
const CYCLE_SECONDS = (28 * 365 + 7) * 86_400;
/**
 * What a DATETIME(3) holds at most and at least, as microseconds of wall-clock time since
 * 1970-01-01 00:00: instants beyond are kept at its ends (never "now", never an error).
 */
// Strings: beyond 2^53 a JavaScript number would not hold them exactly.
const LATEST_DATETIME_US = "253402300799999000"; // 9999-12-31 23:59:59.999
const EARLIEST_DATETIME_US = "-30610224000000000"; // 1000-01-01 00:00:00.000

export interface InstantSql {
  /** An SQL expression with `?` placeholders. */
  sql: string;
  params: unknown[];
}

/** The instant as a DATETIME in the server's zone; `null` gives `fallback` (an SQL expression). */
export function instantSql(instant: Date | null | undefined, fallback = "NOW(3)"): InstantSql {
  if (!instant) return { sql: fallback, params: [] };
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("an invalid date cannot be written to the database");
  const seconds = ms / 1000;
  if (seconds >= 0 && seconds <= LAST_UNIX_SECOND) return { sql: "FROM_UNIXTIME(?)", params: [seconds] };
  const cycles = seconds < 0 ? Math.floor(seconds / CYCLE_SECONDS) : Math.ceil((seconds - LAST_UNIX_SECOND) / CYCLE_SECONDS);
  const equivalent = Math.floor(seconds - cycles * CYCLE_SECONDS);
  // Its local wall-clock time in microseconds (milliseconds times 1000 on the server, where
  // BIGINT holds them exactly): UTC plus the offset at the equivalent
  // instant (its local time minus its UTC time), kept within what the column holds.
  const local = `? * 1000 + 1000000 * TIMESTAMPDIFF(SECOND, TIMESTAMP('1970-01-01') + INTERVAL ? SECOND, FROM_UNIXTIME(?))`;
  return {
    sql: `TIMESTAMP('1970-01-01') + INTERVAL GREATEST(${EARLIEST_DATETIME_US}, LEAST(${LATEST_DATETIME_US}, ${local})) MICROSECOND`,
    params: [ms, equivalent, equivalent],
  };
}
