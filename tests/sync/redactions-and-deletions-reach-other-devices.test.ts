import { describe, expect, it } from 'vitest'
import { MemorySessionRepository } from '../../src/index.ts'
import { userMessage } from '../../src/messages/message.ts'
import { emptyAgentRecord, memoryDevice, twoDevices } from '../support/memory-devices.ts'

const ref = { sessionId: 'journal', agentId: 'default' }
const texts = async (repository: { readMessages: MemorySessionRepository['readMessages'] }) =>
  (await repository.readMessages(ref)).map((record) => record.message.content)
const agentRecord = emptyAgentRecord(ref)

describe('changes other than appends', () => {
  it('a redaction made offline reaches the remote, then a fresh device and (at a recheck) the other device; the id stays', async () => {
    const { remote, phone, laptop } = twoDevices()
    await phone.createSession(ref)
    await phone.writeAgent(agentRecord)
    await phone.appendMessage({ ...ref, message: userMessage('my card is 4111') })
    await phone.appendMessage({ ...ref, message: userMessage('thanks') })
    await phone.sync()
    await laptop.sync()
    const [before] = await remote.readMessages(ref)

    remote.online = false
    await phone.updateMessage({ ...ref, index: 0, message: userMessage('[redacted]') })
    expect((await phone.syncStatus(ref)).pendingUpdates).toBe(1)
    remote.online = true
    await phone.sync()
    await laptop.sync({ sessionId: ref.sessionId }, { recheck: true })

    const [after] = await remote.readMessages(ref)
    expect(after?.message).toEqual({ ...userMessage('[redacted]'), id: before?.message.id })
    expect(await texts(laptop)).toEqual([userMessage('[redacted]').content, userMessage('thanks').content])
    expect((await phone.syncStatus(ref)).pendingUpdates).toBe(0)
    const fresh = memoryDevice(remote)
    await fresh.sync()
    expect(await texts(fresh)).toEqual([userMessage('[redacted]').content, userMessage('thanks').content])
  })

  it('a session deleted offline is deleted on the remote at the next sync, then on the other device', async () => {
    const { remote, phone, laptop } = twoDevices()
    await phone.createSession(ref)
    await phone.writeAgent(agentRecord)
    await phone.appendMessage({ ...ref, message: userMessage('draft') })
    await phone.sync()
    await laptop.sync()

    remote.online = false
    await phone.deleteSession(ref)
    expect(await phone.readSession(ref)).toBeNull()
    expect((await phone.syncStatus(ref)).deletionPending).toBe(true)
    remote.online = true
    expect((await phone.sync()).sessions).toEqual([
      { sessionId: ref.sessionId, deleted: 'remote', agents: [] },
    ])
    expect(await remote.readSession(ref)).toBeNull()
    await laptop.sync()
    expect(await laptop.readSession(ref)).toBeNull()
    // Nothing comes back on later syncs.
    await phone.sync()
    await laptop.sync()
    expect(await remote.readSession(ref)).toBeNull()
  })

  it('a session deleted elsewhere while this device wrote to it is kept and pushed again: nothing is lost', async () => {
    const remote = new MemorySessionRepository()
    const phone = memoryDevice(remote)
    const laptop = memoryDevice(remote)
    await phone.createSession(ref)
    await phone.writeAgent(agentRecord)
    await phone.appendMessage({ ...ref, message: userMessage('shared') })
    await phone.sync()
    await laptop.sync()
    await laptop.appendMessage({ ...ref, message: userMessage('laptop kept writing') })
    await phone.deleteSession(ref)
    await phone.sync()
    await laptop.sync()
    expect(await texts(remote)).toEqual([
      userMessage('shared').content,
      userMessage('laptop kept writing').content,
    ])
  })
})
