/**
 * A child process that creates sessions in a file store as fast as it can, for the test of
 * processes racing to create the same new sessions. Usage:
 *   node create-sessions-worker.ts <directory> <count>
 * Waits for a line on stdin (so all racers start together), then for i in 0..count-1 creates
 * session `race-<i>` and appends one message to it. Prints `ok <i>` per session, or the error's
 * class and message and exits 1.
 */
import { FileSessionRepository } from '../../src/index.ts'
import { writeLineNow } from './write-line-now.ts'

const [directory, countText] = process.argv.slice(2)
if (!directory || !countText) throw new Error('usage: create-sessions-worker.ts directory count')
const repository = new FileSessionRepository({ directory })
writeLineNow('ready')
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
process.stdin.pause()
for (let i = 0; i < Number(countText); i++) {
  const sessionId = `race-${i}`
  try {
    await repository.createSession({ sessionId })
    await repository.appendMessage({
      sessionId,
      agentId: 'default',
      message: { role: 'user', content: [{ type: 'text', text: `from ${process.pid}` }] },
    })
  } catch (error) {
    writeLineNow(`failed ${i} ${(error as Error).name}: ${(error as Error).message}`)
    process.exit(1)
  }
  writeLineNow(`ok ${i}`)
}
