#!/usr/bin/env node
/**
 * The `tether` bin. The only place that touches `process`: it hands the command its inputs, waits
 * for the exit code, flushes stdout and stderr, and exits.
 */
import type { CommandContext } from './cli-command.ts'
import { ExitCode } from './exit-codes.ts'
import { runCli } from './run-cli.ts'

const interruptListeners = new Set<() => void>()
let exiting = false
process.on('SIGINT', () => {
  // Nothing is listening (no reply in flight): Ctrl-C means stop, as it does everywhere else.
  if (interruptListeners.size === 0) void finish(ExitCode.interrupted)
  for (const listener of [...interruptListeners]) listener()
})

const context: CommandContext = {
  cwd: process.cwd(),
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  onInterrupt(listener) {
    interruptListeners.add(listener)
    return () => interruptListeners.delete(listener)
  },
}

// A closed pipe (`tether sessions export x | head`) is the reader's choice, not our failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') void finish(ExitCode.ok)
})

void finish(await runCli(process.argv.slice(2), context))

/**
 * Waits for what was written to reach the pipe (stdout writes to pipes are asynchronous on some
 * platforms, and `process.exit` would cut them off), then exits, even if a provider SDK or readline
 * still holds a handle open.
 */
async function finish(code: number): Promise<void> {
  if (exiting) return
  exiting = true
  const flush = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => (stream.writableEnded ? resolve() : stream.write('', () => resolve())))
  await Promise.all([flush(process.stdout), flush(process.stderr)])
  process.exit(code)
}
