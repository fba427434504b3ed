import { describe, expect, it } from 'vitest'
import { MemorySessionRepository, MemorySyncStateStore, SyncedSessionRepository } from '../../src/index.ts'
import { userMessage } from '../../src/messages/message.ts'
import { emptyAgentRecord, memoryDevice } from '../support/memory-devices.ts'
import { switchable } from '../support/switchable-repository.ts'

const ref = { sessionId: 'mail', agentId: 'default' }
const agentRecord = emptyAgentRecord(ref)

describe('a message pushed twice', () => {
  it('is recognised by its id when the reply to the push was lost, and is not stored again', async () => {
    const remote = switchable(new MemorySessionRepository())
    const device = memoryDevice(remote)
    await device.createSession(ref)
    await device.writeAgent(agentRecord)
    for (const text of ['one', 'two', 'three'])
      await device.appendMessage({ ...ref, message: userMessage(text) })
    remote.loseNextAppendReply = true
    await expect(device.sync()).rejects.toMatchObject({ code: 'sync' })
    expect(await remote.countMessages(ref)).toBe(1)
    expect((await device.syncStatus(ref)).pendingMessages).toBe(3)

    await device.sync()
    const stored = await remote.readMessages(ref)
    expect(stored.map((record) => record.message.content)).toEqual(
      ['one', 'two', 'three'].map((text) => userMessage(text).content),
    )
    expect(stored.map((record) => record.message)).toEqual(
      (await device.readMessages(ref)).map((r) => r.message),
    )
  })

  it('is recognised when the bookkeeping was lost (a crash before it was written, or a fresh state store)', async () => {
    const remote = new MemorySessionRepository()
    const local = new MemorySessionRepository()
    const first = new SyncedSessionRepository({ local, remote, autoSync: false })
    await first.createSession(ref)
    await first.writeAgent(agentRecord)
    for (const text of ['a', 'b']) await first.appendMessage({ ...ref, message: userMessage(text) })
    await first.sync()
    // The same local store with its bookkeeping gone: the next sync compares whole histories.
    const restarted = new SyncedSessionRepository({
      local,
      remote,
      state: new MemorySyncStateStore(),
      autoSync: false,
    })
    await restarted.appendMessage({ ...ref, message: userMessage('c') })
    const report = await restarted.sync()
    expect(report.sessions[0]?.agents[0]).toMatchObject({
      pushed: 1,
      pulled: 0,
      rewritten: 0,
      remoteCount: 3,
    })
    expect((await remote.readMessages(ref)).map((r) => r.message.content)).toEqual(
      ['a', 'b', 'c'].map((text) => userMessage(text).content),
    )
  })

  it('is recognised for records stored before sync was used (no id): their derived id is stable', async () => {
    const remote = new MemorySessionRepository()
    const local = new MemorySessionRepository()
    await local.createSession(ref)
    await local.writeAgent(agentRecord)
    for (const text of ['old 1', 'old 2']) await local.appendMessage({ ...ref, message: userMessage(text) })
    const device = new SyncedSessionRepository({ local, remote, autoSync: false })
    await device.sync()
    const again = new SyncedSessionRepository({ local, remote, autoSync: false })
    expect((await again.sync()).sessions[0]?.agents[0]).toMatchObject({ pushed: 0, remoteCount: 2 })
    expect(await remote.countMessages(ref)).toBe(2)
  })
})
