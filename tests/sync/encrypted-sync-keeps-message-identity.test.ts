import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  EncryptedSessionRepository,
  MemorySessionRepository,
  SyncedSessionRepository,
} from '../../src/index.ts'

const keys = [{ id: 'k1', key: randomBytes(32) }]
const sealed = (repository: MemorySessionRepository) => new EncryptedSessionRepository({ repository, keys })

describe('sync over encrypted stores', () => {
  it('keeps each message’s identity through sealing, so a message pushed twice is still stored once', async () => {
    const remoteStore = new MemorySessionRepository()
    const device = new SyncedSessionRepository({
      local: sealed(new MemorySessionRepository()),
      remote: sealed(remoteStore),
      autoSync: false,
    })
    const ref = { sessionId: 's', agentId: 'default' }
    await device.createSession(ref)
    const message = { role: 'user' as const, content: [{ type: 'text' as const, text: 'hello' }] }
    await device.appendMessage({ ...ref, message })
    const [local] = await device.readMessages(ref)
    expect(local?.message.id).toBeDefined()
    expect(local?.message).toEqual(message) // the caller's object carries the same id

    await device.sync(ref)
    const [remote] = await sealed(remoteStore).readMessages(ref)
    expect(remote?.message).toEqual(local?.message)

    // A record whose id was swapped for another is refused, not read under a new identity.
    const [raw] = await remoteStore.readMessages(ref)
    if (!raw) throw new Error('nothing stored')
    await remoteStore.updateMessage({ ...ref, index: 0, message: { ...raw.message, id: 'forged' } })
    await expect(sealed(remoteStore).readMessages(ref)).rejects.toThrow(/authentication failed/)
  })
})
