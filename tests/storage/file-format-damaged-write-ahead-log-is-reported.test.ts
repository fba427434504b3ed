import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DamagedRecordError, FileSessionRepository } from '../../src/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const ref = { sessionId: 's', agentId: 'default' }
const FRAME = 24 + 4096
const text = (value: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text: value }] })

/** A session whose commits are still in its WAL, copied as a process killed with SIGKILL leaves it. */
async function openSessionCopy(directory: string, flipAt: (walLength: number) => number) {
  const live = join(directory, 'live')
  const writer = new FileSessionRepository({ directory: live })
  for (let i = 0; i < 12; i++) await writer.appendMessage({ ...ref, message: text(`message ${i}`) })
  const copy = join(directory, 'copy')
  await mkdir(join(copy, 's'), { recursive: true })
  for (const name of await readdir(join(live, 's')))
    await copyFile(join(live, 's', name), join(copy, 's', name))
  writer.close()
  const wal = join(copy, 's', 'session.db-wal')
  const bytes = await readFile(wal)
  const at = flipAt(bytes.length)
  bytes[at] = (bytes[at] as number) ^ 0x10
  await writeFile(wal, bytes)
  return new FileSessionRepository({ directory: copy })
}

describe('a damaged write-ahead log', () => {
  const tempDirectory = useTempDirectories()

  it('is reported as damage when intact commits follow the damaged frame, never a shorter history', async () => {
    // A byte in the page of the third frame: SQLite alone would drop every commit from there on.
    const repository = await openSessionCopy(await tempDirectory(), () => 32 + 2 * FRAME + 24 + 100)
    const error = await repository.countMessages(ref).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect((error as DamagedRecordError).reason).toContain('write-ahead log is damaged at frame 2')
  })

  it('in its last transaction is a torn tail: cut off, the earlier messages all read', async () => {
    const repository = await openSessionCopy(await tempDirectory(), (length) => length - 100)
    const messages = await repository.readMessages(ref)
    expect(messages.map((record) => record.index)).toEqual(Array.from({ length: 11 }, (_, i) => i))
  })
})
