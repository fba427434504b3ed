/** Extra facts about a log line, as plain JSON-able values. */
export type LogFields = Record<string, string | number | boolean | null | undefined>

/**
 * Where Tether says what it decided: the restore window, repairs, re-syncs after another writer,
 * context reductions. Silent by default. `console` fits as it is (`logger: console`), and so does
 * any logger with these four methods; or set `DEBUG=tether:*` (or `tether:session`, `tether:agent`).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}
