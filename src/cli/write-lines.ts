import { once } from 'node:events'
import type { OutputStream } from './cli-command.ts'
import { escapeKeepingLines } from './terminal-text.ts'

/**
 * Writes lines with backpressure, so a 100,000-message export never buffers whole in memory.
 * Every line is escaped (terminal-text.ts; a line may hold line breaks, e.g. pretty-printed JSON): IDs and message text come from the store, and a
 * control sequence in them must be shown, never acted on by the terminal.
 */
export async function writeLines(stream: OutputStream, lines: Iterable<string>): Promise<void> {
  for (const line of lines) {
    if (!stream.write(`${escapeKeepingLines(line)}\n`)) await once(stream, 'drain')
  }
}
