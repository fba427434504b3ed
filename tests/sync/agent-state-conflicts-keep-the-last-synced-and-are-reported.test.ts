import { describe, expect, it } from 'vitest'
import { type AgentStateConflict, MemorySessionRepository, SyncedSessionRepository } from '../../src/index.ts'
import { memoryDevice } from '../support/memory-devices.ts'
import { switchable } from '../support/switchable-repository.ts'

const ref = { sessionId: 'todo', agentId: 'default' }
const write = (state: Record<string, string>) => ({
  ...ref,
  state,
  conversationManagerState: null,
  windowStart: 0,
})

describe('agent state changed on two devices while apart', () => {
  it('keeps the record of the device that syncs last on both, reports the conflict with the discarded state; one-sided changes just copy', async () => {
    const remote = switchable(new MemorySessionRepository())
    const reported: AgentStateConflict[] = []
    const phone = new SyncedSessionRepository({
      local: new MemorySessionRepository(),
      remote,
      autoSync: false,
      onConflict: (conflict) => reported.push(conflict),
    })
    const laptop = memoryDevice(remote)
    await phone.createSession(ref)
    await phone.writeAgent(write({ theme: 'light' }))
    await phone.sync()
    await laptop.sync()
    expect((await laptop.readAgent(ref))?.state).toEqual({ theme: 'light' })

    // One side changed: copied, no conflict.
    await laptop.writeAgent(write({ theme: 'dark' }))
    await laptop.sync()
    const copied = await phone.sync()
    expect(copied.sessions[0]?.agents[0]).toMatchObject({ agentRecord: 'pulled', conflict: null })
    expect((await phone.readAgent(ref))?.state).toEqual({ theme: 'dark' })

    remote.online = false
    await laptop.writeAgent(write({ theme: 'laptop' }))
    await phone.writeAgent(write({ theme: 'phone' }))
    remote.online = true
    await laptop.sync()
    await phone.sync()
    await laptop.sync()

    expect((await phone.readAgent(ref))?.state).toEqual({ theme: 'phone' })
    expect((await laptop.readAgent(ref))?.state).toEqual({ theme: 'phone' })
    expect((await remote.readAgent(ref))?.state).toEqual({ theme: 'phone' })
    expect(reported).toHaveLength(1)
    expect(reported[0]).toMatchObject({ ...ref, kept: 'local', discardedState: { theme: 'laptop' } })
    expect((await phone.syncStatus(ref)).agents[0]?.lastConflict).toMatchObject({ kept: 'local' })
  })
})
