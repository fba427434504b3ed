import { readdirSync, readlinkSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Agent, FileSessionRepository, RepositorySessionManager } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'

/** Descriptors this process holds on files under `directory` (Linux: /proc/self/fd). */
function descriptorsUnder(directory: string): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(directory)) count++
    } catch {
      // A descriptor closed while listing (the directory's own, for one): not ours to count.
    }
  }
  return count
}

describe.skipIf(process.platform !== 'linux')('a file repository under concurrent first calls', () => {
  let directory: string
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true })
  })

  it('opens each session database once, however many calls arrive before the first open ends', async () => {
    directory = await mkdtemp(join(tmpdir(), 'tether-concurrent-open-'))
    const writer = new FileSessionRepository({ directory })
    const ref = { sessionId: 'user-42', agentId: 'default' }
    await writer.appendMessage({ ...ref, message: { role: 'user', content: [{ type: 'text', text: 'hi' }] } })
    writer.close()
    expect(descriptorsUnder(directory)).toBe(0)

    const reader = new FileSessionRepository({ directory })
    const counts = await Promise.all(Array.from({ length: 12 }, () => reader.countMessages(ref)))
    expect(counts).toEqual(counts.map(() => 1))
    // One connection: the database, its write-ahead log and its shared memory.
    const open = descriptorsUnder(directory)
    expect(open).toBeGreaterThan(0)
    expect(open).toBeLessThanOrEqual(3)
    reader.close()
    // Nothing left open once the repository closes: no connection was opened and then lost.
    expect(descriptorsUnder(directory)).toBe(0)
  })

  it('a restore (session, agent record and count read together) leaves one connection', async () => {
    directory = await mkdtemp(join(tmpdir(), 'tether-concurrent-open-'))
    const first = new FileSessionRepository({ directory })
    const model = () => new ScriptedModel({ fallback: { text: 'noted' } })
    await new Agent({
      model: model(),
      sessionManager: new RepositorySessionManager({ sessionId: 'user-42', repository: first }),
    }).run('hello')
    first.close()

    const repository = new FileSessionRepository({ directory })
    const restored = new Agent({
      model: model(),
      sessionManager: new RepositorySessionManager({ sessionId: 'user-42', repository }),
    })
    await restored.initialize()
    expect(restored.messages).toHaveLength(2)
    repository.close()
    expect(descriptorsUnder(directory)).toBe(0)
  })
})
