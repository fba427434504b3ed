import type { Readable, Writable } from 'node:stream'
import type { z } from 'zod'

/** A stream that may be a terminal (`process.stdin`/`stdout` are; pipes and files are not). */
export type InputStream = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
export type OutputStream = Writable & { isTTY?: boolean; columns?: number }

/**
 * Everything a command may touch of the outside world, passed in rather than read from globals so
 * a command is a plain function of its inputs (and `main.ts` is the only place that sees `process`).
 */
export interface CommandContext {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  stdin: InputStream
  stdout: OutputStream
  stderr: OutputStream
  /**
   * Subscribes to SIGINT (Ctrl-C sent as a signal, e.g. `kill -INT` or Ctrl-C while stdin is piped).
   * A terminal chat reads Ctrl-C as a key from readline instead. Returns the unsubscribe function.
   */
  onInterrupt(listener: () => void): () => void
}

export interface CommandResult<Data> {
  data: Data
  /** Default 0 (see exit-codes.ts). */
  exitCode?: number
}

/**
 * One command: flags and arguments validated by `input`, a `run` that returns data, and a `render`
 * for people; `--json` prints the data itself. Only `run` does I/O, and only through the context.
 */
export interface CliCommand<Input, Data> {
  input: z.ZodType<Input>
  run(input: Input, context: CommandContext): Promise<CommandResult<Data>>
  /** The human-readable output, as lines (no trailing newlines). Omit for commands that print as they go. */
  render?(data: Data, input: Input): Iterable<string>
  /** For `--json`: default is the data as one pretty-printed JSON document. */
  renderJson?(data: Data, input: Input): Iterable<string>
}

/**
 * A command with its types erased, as the loader sees it (method parameters are bivariant, so any
 * command fits); run-cli validates the input with the command's own schema before calling `run`.
 */
export type AnyCliCommand = CliCommand<unknown, unknown>

/** Declares a command with its types inferred from the schema. */
export function defineCommand<Schema extends z.ZodType, Data>(
  command: CliCommand<z.output<Schema>, Data> & { input: Schema },
): CliCommand<z.output<Schema>, Data> {
  return command
}
