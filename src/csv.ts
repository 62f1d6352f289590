/**
 * CSV as RFC 4180 has it: fields with a comma, a double quote, CR or LF are quoted, quotes
 * doubled, records end with CRLF.
 *
 * Formula injection: a spreadsheet runs a cell that starts with = + - @ (or a tab or CR,
 * which some strip first) as a formula, and job rows hold text from users and from the
 * programs jobs ran. Such text cells get a leading apostrophe (OWASP's advice), which
 * spreadsheets hide and which shows a reader of the raw file that the value was altered.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvRecord(values: Array<string | number | null | undefined>): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
