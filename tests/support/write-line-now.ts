import { writeSync } from 'node:fs'

const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * Writes a line to stdout before returning, so the parent has it even if the process is killed
 * right after. Node makes a pipe on stdout non-blocking: when the parent is slow to read (a loaded
 * machine) and the pipe is full, writeSync throws EAGAIN, so this waits a millisecond and retries.
 */
export function writeLineNow(line: string): void {
  let bytes = Buffer.from(`${line}\n`)
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(1, bytes))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      Atomics.wait(pause, 0, 0, 1)
    }
  }
}
