import { TetherError } from '../errors/tether-error.ts'
import { ExitCode } from './exit-codes.ts'

export interface ErrorReport {
  lines: string[]
  exitCode: number
}

/** Blame decides the exit code: the caller's command line or configuration (2), or a failure (1). */
const USAGE_CODES = new Set(['usage', 'configuration'])

/**
 * Turns an error into what `tether` prints: one line saying what failed and what to do, or, with
 * `--debug`, the stack and every cause as well.
 */
export function reportError(error: unknown, debug: boolean): ErrorReport {
  const tether = TetherError.isInstance(error)
  const exitCode = tether && USAGE_CODES.has(error.code) ? ExitCode.usage : ExitCode.failure
  const message = error instanceof Error ? error.message : String(error)
  // Our own errors already say what to do; anything else is unexpected, and the stack helps.
  const hint = tether || debug ? '' : ' (run with --debug for the stack trace)'
  const lines = [`tether: ${firstLine(message)}${hint}`]
  if (debug) {
    const extra = message.includes('\n') ? message.split('\n').slice(1) : []
    lines.push(...extra)
    for (let current: unknown = error, depth = 0; current !== undefined && depth < 8; depth++) {
      const stack = current instanceof Error ? (current.stack ?? current.message) : String(current)
      lines.push(depth === 0 ? stack : `caused by: ${stack}`)
      current = current instanceof Error ? current.cause : undefined
    }
  } else if (tether && message.includes('\n')) {
    // A multi-line message from us is a deliberate list (e.g. the ways to configure a model).
    lines.push(...message.split('\n').slice(1))
  }
  return { lines, exitCode }
}

function firstLine(text: string): string {
  const index = text.indexOf('\n')
  return index === -1 ? text : text.slice(0, index)
}
