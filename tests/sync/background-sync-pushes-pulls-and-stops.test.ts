import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { MemorySessionRepository, SyncedSessionRepository } from '../../src/index.ts'
import { userMessage } from '../../src/messages/message.ts'
import { switchable } from '../support/switchable-repository.ts'

const ref = { sessionId: 'inbox', agentId: 'default' }
const fast = { debounceMs: 5, intervalMs: 40, initialBackoffMs: 10, maxBackoffMs: 40 }

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('background sync', () => {
  it('pushes local writes and pulls other devices’ without sync() calls, retries after the remote comes back, and stops on close()', async () => {
    const remote = switchable(new MemorySessionRepository())
    const phone = new SyncedSessionRepository({
      local: new MemorySessionRepository(),
      remote,
      autoSync: fast,
    })
    const laptop = new SyncedSessionRepository({
      local: new MemorySessionRepository(),
      remote,
      autoSync: fast,
    })
    try {
      await phone.createSession(ref)
      await phone.writeAgent({ ...ref, state: {}, conversationManagerState: null, windowStart: 0 })
      await phone.appendMessage({ ...ref, message: userMessage('first') })
      await eventually(
        async () => (await laptop.countMessages(ref)) === 1,
        'the laptop pulled the first message',
      )

      remote.online = false
      await phone.appendMessage({ ...ref, message: userMessage('written offline') })
      await eventually(
        async () => (await phone.syncStatus(ref)).lastError !== null,
        'a failed sync was recorded',
      )
      expect((await phone.syncStatus(ref)).pendingMessages).toBe(1)
      remote.online = true
      await eventually(
        async () => (await laptop.countMessages(ref)) === 2,
        'the offline message reached the laptop',
      )
      expect(await phone.syncStatus(ref)).toMatchObject({ pendingMessages: 0, lastError: null })
    } finally {
      await phone.close()
      await laptop.close()
    }
    const calls = [...remote.calls.values()].reduce((sum, n) => sum + n, 0)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(
      [...remote.calls.values()].reduce((sum, n) => sum + n, 0),
      'no remote calls after close()',
    ).toBe(calls)
  })

  it('never keeps a process alive: a process that made one and did not close it exits', () => {
    const index = fileURLToPath(new URL('../../src/index.ts', import.meta.url))
    const script = `
      const { MemorySessionRepository, SyncedSessionRepository } = await import(${JSON.stringify(index)})
      new SyncedSessionRepository({ local: new MemorySessionRepository(), remote: new MemorySessionRepository() })
      console.log('made')`
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 })
    expect(child.signal, 'killed by the timeout: the timers kept it alive').toBeNull()
    expect(child.status).toBe(0)
    expect(String(child.stdout)).toContain('made')
  })
})
