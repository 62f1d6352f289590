import type { Logger } from "../../logger.js";
import type { Database } from "../../queue/db.js";
import type { Outcome } from "../../queue/finish.js";
import { maxAllowedPacket } from "../../queue/server-info.js";
import { escapedBytes, outcomeBytes, STATEMENT_SQL } from "../../queue/statement-size.js";

/** MariaDB's and MySQL 8's default, assumed until the server has said (read()). */
const DEFAULT_PACKET = 16 * 1024 * 1024;
let warnedLogCap = false;
/** Characters a MEDIUMTEXT `log` surely holds: 16 MiB - 1 bytes of up to 4-byte characters. */
const MEDIUMTEXT_CHARS = Math.floor((16 * 1024 * 1024 - 1) / 4);

/**
 * How large what the runner writes to a job row may be, from the server's max_allowed_packet
 * (P), which bounds a statement's text and every value CONCAT makes. Outcomes are written many
 * to a statement: one too large would fail the statement, and with it the others' outcomes.
 * - a statement of outcomes or live logs holds at most P less a margin: writes are split by size;
 * - a result at most P/2 (the rest of its statement is for its log and error), else the job
 *   fails with a sentence saying so (executeJob);
 * - a log at most min(logMaxBytes, P/16, 4 Mi) characters: with up to 4 bytes each, the stored
 *   log and an appended piece make at most P/2 inside CONCAT, and the column (MEDIUMTEXT) holds it.
 * See SECURITY.md, "Outcome size".
 */
export class OutcomeBounds {
  private packet = DEFAULT_PACKET;

  constructor(private readonly logMaxBytes: number) {}

  /** Reads the server's max_allowed_packet; says once when it makes logMaxBytes smaller. */
  async read(db: Database, logger: Logger): Promise<void> {
    const packet = await maxAllowedPacket(db);
    if (packet > 0) this.packet = packet;
    // Once per process: a worker starts a run every round.
    if (this.logChars < this.logMaxBytes && !warnedLogCap) {
      warnedLogCap = true;
      logger.warn(
        `logMaxBytes ${this.logMaxBytes} is more than the database's max_allowed_packet (${size(this.packet)}) lets a log append carry; job logs keep their last ${this.logChars} characters`,
      );
    }
  }

  /** A known max_allowed_packet (tests). */
  withPacket(bytes: number): this {
    this.packet = bytes;
    return this;
  }

  get packetBytes(): number {
    return this.packet;
  }

  /** The cap of a job's log, in characters (the `log` column keeps its last this many). */
  get logChars(): number {
    return Math.max(64, Math.min(this.logMaxBytes, Math.floor(this.packet / 16), MEDIUMTEXT_CHARS));
  }

  /** The largest result (escaped, as a statement carries it) a job may record. */
  get resultBytes(): number {
    return Math.floor(this.packet / 2);
  }

  /** The largest statement of outcomes or logs the runner sends, its margin under P for the fixed text. */
  get statementBytes(): number {
    return this.packet - STATEMENT_SQL - Math.min(16 * 1024, Math.floor(this.packet / 16));
  }

  /** Why a result of `bytes` cannot be recorded, or undefined when it can. */
  resultProblem(result: string): string | undefined {
    const bytes = escapedBytes(result);
    if (bytes <= this.resultBytes) return undefined;
    return `its result (${size(bytes)}) is too large to record: a result may take at most half of what the database accepts in one statement (max_allowed_packet ${size(this.packet)})`;
  }

  /**
   * The outcome as it can be written: itself, or, when it alone would not fit in a statement
   * (its result is checked before, so this is a safety net), a failure saying why, with the
   * end of its log. Never lets one outcome fail a statement shared with others.
   */
  fit(outcome: Outcome, bytes = outcomeBytes(outcome)): Outcome {
    if (bytes <= this.statementBytes) return outcome;
    const error = `its outcome (${size(bytes)}) is too large to record: the database accepts at most ${size(this.packet)} in one statement (max_allowed_packet)`;
    const keep = Math.floor(this.logChars / 4);
    const log = outcome.log.length > keep ? `[… earlier log dropped]\n${outcome.log.slice(-keep)}` : outcome.log;
    return {
      kind: "failed",
      ref: outcome.ref,
      token: outcome.token,
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
      result: null,
      error,
      log: `${log}[${new Date().toISOString()}] error failed: ${error}\n`,
    };
  }

  /**
   * Splits items, in order, into runs whose sizes add up to at most statementBytes and that
   * hold at most `maxCount` each (an item larger than that alone goes alone).
   */
  split<T>(items: T[], bytesOf: (item: T) => number, maxCount: number): T[][] {
    const runs: T[][] = [];
    let run: T[] = [];
    let bytes = 0;
    for (const item of items) {
      const own = bytesOf(item);
      if (run.length > 0 && (run.length >= maxCount || bytes + own > this.statementBytes)) {
        runs.push(run);
        run = [];
        bytes = 0;
      }
      run.push(item);
      bytes += own;
    }
    if (run.length > 0) runs.push(run);
    return runs;
  }
}

/** Bytes as an operator reads them: "3.2 MB", "512 KB" (1024-based, as max_allowed_packet=16M is). */
export function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${trim(bytes / (1024 * 1024))} MB`;
  if (bytes >= 1024) return `${trim(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

const trim = (n: number) => (n >= 10 ? String(Math.round(n)) : String(Math.round(n * 10) / 10));
