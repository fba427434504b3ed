import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { modelView } from '../../src/agent/model-view.ts'
import {
  Agent,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
  tool,
} from '../../src/index.ts'
import { messageText } from '../../src/messages/message.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { twoDevices } from '../support/memory-devices.ts'
import { recordingRepository } from '../support/recording-repository.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const sessionId = 'notes'
const echo = tool({
  name: 'echo',
  description: 'Echoes its input',
  inputSchema: z.object({ text: z.string() }),
  callback: async ({ text }) => ({ text }),
})

function toolModel() {
  return new ScriptedModel({
    fallback: (request) => {
      const last = request.messages.at(-1)
      const prompt = request.messages.findLast((m) => m.role === 'user' && messageText(m) !== '')
      const text = prompt ? (messageText(prompt).split('\n').at(-1) ?? '?') : '?'
      if (!last?.content.some((block) => block.type === 'toolResult')) {
        return {
          toolUses: [{ name: 'echo', input: { text }, toolUseId: `call-${text.replaceAll(' ', '-')}` }],
        }
      }
      return { text: `reply to ${text}` }
    },
  })
}

function agentOn(repository: SessionRepository, model = toolModel()) {
  return new Agent({
    model,
    agentId: 'default',
    conversationManager: new NullConversationManager(),
    tools: [echo],
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })
}

/** What a user sees on a fresh start: a new agent restoring the whole history from `repository`. */
async function freshRestore(repository: SessionRepository) {
  const agent = new Agent({
    model: new ScriptedModel(),
    agentId: 'default',
    conversationManager: new NullConversationManager(),
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })
  await agent.initialize()
  return agent.messages
}

const prompts = (messages: { role: string; content: { type: string; text?: string }[] }[]) =>
  messages.flatMap((m) =>
    m.role === 'user' ? m.content.filter((b) => b.type === 'text').map((b) => b.text) : [],
  )

describe('two devices that appended while apart', () => {
  it('both converge to exactly the remote history, every message once, and a running agent picks the merge up at its next run', async () => {
    const { remote, phone, laptop } = twoDevices()
    const phoneModel = toolModel()
    const onPhone = agentOn(phone, phoneModel)
    await onPhone.run('phone online')
    await phone.sync()
    await laptop.sync()
    const onLaptop = agentOn(laptop)
    await onLaptop.run('laptop online')
    await laptop.sync()
    await phone.sync()

    remote.online = false
    for (const n of [1, 2, 3]) await onPhone.run(`phone apart ${n}`)
    for (const n of [1, 2]) await onLaptop.run(`laptop apart ${n}`)
    await expect(phone.sync()).rejects.toMatchObject({ code: 'sync' })
    const offline = await phone.syncStatus({ sessionId })
    expect(offline.pendingMessages).toBe(3 * 4)
    expect(offline.lastError?.message).toContain('offline')

    remote.online = true
    await laptop.sync()
    const merge = await phone.sync()
    expect(merge.sessions[0]?.agents[0]).toMatchObject({ pushed: 12, pulled: 8, rewritten: 12 })
    await laptop.sync()

    const ref = { sessionId, agentId: 'default' }
    const truth = (await remote.readMessages(ref)).map((record) => record.message)
    for (const device of [phone, laptop]) {
      expect((await device.readMessages(ref)).map((record) => record.message)).toEqual(truth)
      expect(await device.syncStatus({ sessionId })).toMatchObject({ pendingMessages: 0, lastError: null })
      expect(await freshRestore(device.local)).toEqual(truth)
    }
    // The laptop's turns went first on the remote (it synced first): the phone's history was rewritten.
    expect(prompts(truth)).toEqual([
      'phone online',
      'laptop online',
      'laptop apart 1',
      'laptop apart 2',
      'phone apart 1',
      'phone apart 2',
      'phone apart 3',
    ])
    expect(new Set(truth.map((message) => message.id)).size).toBe(truth.length)
    expectValidForModel(truth)

    // The phone's running agent had its own order in memory; its next run reads the merged one.
    const before = phoneModel.requests.length
    await onPhone.run('phone after merge')
    const sent = phoneModel.requests[before]?.messages ?? []
    expect(prompts(sent)).toEqual([...prompts(truth), 'phone after merge'])
    expect(sent).toEqual(modelView([...truth, ...onPhone.messages.slice(truth.length, truth.length + 1)]))
  })

  it('a running agent whose history was only extended reads just the pulled messages at its next run', async () => {
    const { remote, phone, laptop } = twoDevices()
    const counted = recordingRepository(phone)
    const onPhone = agentOn(counted.repository)
    for (const n of [1, 2, 3, 4, 5]) await onPhone.run(`phone ${n}`)
    await phone.sync()
    await laptop.sync()
    const onLaptop = agentOn(laptop)
    await onLaptop.run('laptop 1')
    await laptop.sync()
    await phone.sync()
    expect(await remote.countMessages({ sessionId, agentId: 'default' })).toBe(24)

    const before = counted.messagesRead()
    await onPhone.run('phone 6')
    // The message under its head (to check nothing was rewritten) and the laptop's 4: not all 24.
    expect(counted.messagesRead() - before).toBe(5)
    expect(prompts(onPhone.messages)).toEqual([
      'phone 1',
      'phone 2',
      'phone 3',
      'phone 4',
      'phone 5',
      'laptop 1',
      'phone 6',
    ])
  })
})
