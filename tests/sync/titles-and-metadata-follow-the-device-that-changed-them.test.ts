import { describe, expect, it } from 'vitest'
import { twoDevices } from '../support/memory-devices.ts'

describe('a session’s title and metadata across devices', () => {
  it('a rename made offline reaches the remote and the other device at the next syncs', async () => {
    const { remote, phone, laptop } = twoDevices()
    const ref = { sessionId: 'chat-1' }
    await phone.createSession(ref)
    await phone.updateSession({ ...ref, title: 'Trip', metadata: { owner: 'u-42' } })
    await phone.sync(ref)
    await laptop.sync(ref)
    expect(await laptop.readSession(ref)).toMatchObject({ title: 'Trip', metadata: { owner: 'u-42' } })

    remote.online = false
    await laptop.updateSession({ ...ref, title: 'Trip to Lisbon' })
    await expect(laptop.sync(ref)).rejects.toThrow()
    // The failed sync keeps the change this device's to push.
    remote.online = true
    await laptop.sync(ref)
    await phone.sync(ref)
    for (const device of [laptop, phone]) {
      expect(await device.readSession(ref)).toMatchObject({
        title: 'Trip to Lisbon',
        metadata: { owner: 'u-42' },
      })
    }
  })
})
