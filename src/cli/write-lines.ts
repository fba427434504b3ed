import { once } from 'node:events'
import type { OutputStream } from './cli-command.ts'

/** Writes lines with backpressure, so a 100,000-message export never buffers whole in memory. */
export async function writeLines(stream: OutputStream, lines: Iterable<string>): Promise<void> {
  for (const line of lines) {
    if (!stream.write(`${line}\n`)) await once(stream, 'drain')
  }
}
