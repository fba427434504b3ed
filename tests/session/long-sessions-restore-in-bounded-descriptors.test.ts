import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { encodeStorageName } from '../../src/storage/storage-name.ts'
import { TETHER_BIN } from '../support/cli-run.ts'
import { restoreInFreshProcess } from '../support/run-session-worker.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const MESSAGES = 20_000
const MAX_OPEN_FILES = 256

/**
 * Lays out a long session in the file format as docs/storage-format.md describes it (one record a
 * file). Written directly rather than through 20,000 fsynced appends, which would take minutes:
 * the subject here is reading.
 */
async function writeLongFileSession(directory: string, sessionId: string, count: number): Promise<void> {
  const sessionDir = join(directory, encodeStorageName(sessionId))
  const messagesDir = join(sessionDir, 'agents', 'default', 'messages')
  await mkdir(messagesDir, { recursive: true })
  const time = new Date().toISOString()
  await writeFile(
    join(sessionDir, 'session.json'),
    `${JSON.stringify({ schemaVersion: 1, sessionId, createdAt: time })}\n`,
  )
  const files = Array.from({ length: count }, (_, index) => {
    const message: Message =
      index % 2 === 0
        ? { role: 'user', content: [{ type: 'text', text: `prompt ${index / 2}` }] }
        : { role: 'assistant', content: [{ type: 'text', text: `reply ${(index - 1) / 2}` }] }
    const record = {
      schemaVersion: 1,
      sessionId,
      agentId: 'default',
      index,
      revision: 0,
      message,
      createdAt: time,
      updatedAt: time,
    }
    return { name: `${String(index).padStart(12, '0')}.json`, text: `${JSON.stringify(record)}\n` }
  })
  for (let start = 0; start < files.length; start += 200) {
    await Promise.all(
      files.slice(start, start + 200).map((file) => writeFile(join(messagesDir, file.name), file.text)),
    )
  }
}

describe(`a ${MESSAGES.toLocaleString('en')}-message file session under a ${MAX_OPEN_FILES}-descriptor limit`, () => {
  const tempDirectory = useTempDirectories()

  it('restores whole in a fresh process with NullConversationManager, and verify and repair read it', {
    timeout: 120_000,
  }, async () => {
    const directory = await tempDirectory()
    await writeLongFileSession(directory, 'long', MESSAGES)

    const restored = await restoreInFreshProcess({ kind: 'file', directory }, 'long', 'null', {
      maxOpenFiles: MAX_OPEN_FILES,
    })
    expect(restored).toHaveLength(MESSAGES)
    expect(restored[0]?.content).toEqual([{ type: 'text', text: 'prompt 0' }])
    expect(restored.at(-1)?.content).toEqual([{ type: 'text', text: `reply ${MESSAGES / 2 - 1}` }])

    // The operator's commands, through the real binary, under the same limit.
    for (const command of ['verify', 'repair']) {
      const run = spawnSync(
        '/bin/sh',
        [
          '-c',
          `ulimit -n ${MAX_OPEN_FILES} && exec "$0" "$@"`,
          process.execPath,
          TETHER_BIN,
          'sessions',
          command,
          ...(command === 'repair' ? ['long'] : []),
          '--store',
          directory,
          '--json',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      )
      expect(run.stderr).toBe('')
      expect(run.status, `${command}: ${run.stdout}`).toBe(0)
    }
  })
})
