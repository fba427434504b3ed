import type { LogFields, Logger } from './logger.ts'

type Level = 'debug' | 'info' | 'warn' | 'error'

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * The logger for a namespace (`tether:session`) when the caller configured none: it writes to
 * stderr when the `DEBUG` environment variable names the namespace (`tether:*`, `tether:session`,
 * `*`; comma or space separated; `-tether:agent` excludes), in the manner of the `debug` package,
 * and is silent otherwise. `DEBUG` is read when the logger is made, so set it before creating agents.
 */
export function debugLogger(namespace: string, env = readDebugVariable()): Logger {
  if (!enabledBy(env, namespace)) return SILENT
  const write = (level: Level) => (message: string, fields?: LogFields) => {
    const extra = fields === undefined ? '' : ` ${JSON.stringify(fields)}`
    process.stderr.write(`${namespace} ${level} ${message}${extra}\n`)
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

/** Whether a `DEBUG` value enables `namespace`: a later matching pattern wins, `-` negates. */
export function enabledBy(env: string | undefined, namespace: string): boolean {
  let enabled = false
  for (const pattern of (env ?? '').split(/[\s,]+/).filter(Boolean)) {
    const negated = pattern.startsWith('-')
    const glob = negated ? pattern.slice(1) : pattern
    const regex = new RegExp(`^${glob.split('*').map(escapeRegExp).join('.*')}$`)
    if (regex.test(namespace)) enabled = !negated
  }
  return enabled
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function readDebugVariable(): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG
}
