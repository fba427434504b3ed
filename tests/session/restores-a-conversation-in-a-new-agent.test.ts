import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  Agent,
  FileSessionRepository,
  type Message,
  RepositorySessionManager,
  SlidingWindowConversationManager,
  tool,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { recordingRepository } from '../support/recording-repository.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const texts = (messages: Message[]) =>
  messages.map((message) =>
    message.content.map((block) => (block.type === 'text' ? block.text : block.type)).join(''),
  )

describe('RepositorySessionManager restores a conversation', () => {
  const tempDirectory = useTempDirectories()

  it('gives a new Agent with the same session ID the earlier turns before its first model call', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const first = new Agent({
      model: new ScriptedModel({ script: [{ text: 'Nice to meet you, Alex.' }] }),
      sessionManager: new RepositorySessionManager({ sessionId: 'user-123', repository }),
    })
    await first.run('My name is Alex.')

    const model = new ScriptedModel({ script: [{ text: 'Your name is Alex.' }] })
    const restored = new Agent({
      model,
      sessionManager: new RepositorySessionManager({ sessionId: 'user-123', repository }),
    })
    const result = await restored.run("What's my name?")
    expect(result.output).toBe('Your name is Alex.')
    expect(texts(model.requests[0]?.messages ?? [])).toEqual([
      'My name is Alex.',
      'Nice to meet you, Alex.',
      "What's my name?",
    ])
  })

  it('restores agent state and the conversation manager state', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      conversationManager: new SlidingWindowConversationManager({ windowSize: 4 }),
      sessionManager: new RepositorySessionManager({ sessionId: 's', repository }),
    })
    agent.state.set('plan', { tier: 'pro', seats: 3 })
    for (let turn = 0; turn < 5; turn++) await agent.run(`turn ${turn}`)

    const manager = new SlidingWindowConversationManager({ windowSize: 4 })
    const restored = new Agent({
      model: new ScriptedModel(),
      conversationManager: manager,
      sessionManager: new RepositorySessionManager({ sessionId: 's', repository }),
    })
    await restored.initialize()
    expect(restored.state.get('plan')).toEqual({ tier: 'pro', seats: 3 })
    expect(manager.removedMessageCount).toBe(6)
    expect(texts(restored.messages)).toEqual(['turn 3', 'ok', 'turn 4', 'ok'])
  })

  it('reads only the window, not the whole history, while storage keeps every message', async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    const writer = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ack' } }),
      conversationManager: new SlidingWindowConversationManager({ windowSize: 10 }),
      sessionManager: new RepositorySessionManager({ sessionId: 'long', repository }),
    })
    for (let turn = 0; turn < 150; turn++) await writer.run(`turn ${turn}`)
    expect(await repository.countMessages({ sessionId: 'long', agentId: 'default' })).toBe(300)

    const counting = recordingRepository(new FileSessionRepository({ directory }))
    const reader = new Agent({
      model: new ScriptedModel(),
      conversationManager: new SlidingWindowConversationManager({ windowSize: 10 }),
      sessionManager: new RepositorySessionManager({ sessionId: 'long', repository: counting.repository }),
    })
    await reader.initialize()
    expect(reader.messages).toHaveLength(10)
    expect(texts(reader.messages).at(0)).toBe('turn 145')
    expect(counting.messagesRead()).toBe(10)
  })

  it('persists each message as it is added, before the run ends', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const stored: number[] = []
    const probe = tool({
      name: 'probe',
      description: 'Reports how many messages are stored while it runs',
      inputSchema: z.object({}),
      callback: async () => {
        stored.push(await repository.countMessages({ sessionId: 'live', agentId: 'default' }))
        return 'ok'
      },
    })
    const agent = new Agent({
      model: new ScriptedModel({ script: [{ toolUses: [{ name: 'probe', input: {} }] }, { text: 'done' }] }),
      tools: [probe],
      sessionManager: new RepositorySessionManager({ sessionId: 'live', repository }),
    })
    await agent.run('go')
    // While the tool ran, the prompt and the assistant's tool call were already durable.
    expect(stored).toEqual([2])
    expect(await repository.countMessages({ sessionId: 'live', agentId: 'default' })).toBe(4)
  })

  it('writes agent state only when it or the conversation manager state changed', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const spy = recordingRepository(repository)
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      conversationManager: new SlidingWindowConversationManager({ windowSize: 100 }),
      sessionManager: new RepositorySessionManager({ sessionId: 'quiet', repository: spy.repository }),
    })
    await agent.run('one')
    const afterFirst = spy.calls('writeAgent')
    await agent.run('two')
    await agent.run('three')
    expect(spy.calls('writeAgent')).toBe(afterFirst)
    agent.state.set('mood', 'curious')
    await agent.run('four')
    expect(spy.calls('writeAgent')).toBe(afterFirst + 1)

    // A restore of an unchanged session writes nothing back.
    const restoreSpy = recordingRepository(repository)
    const restored = new Agent({
      model: new ScriptedModel(),
      conversationManager: new SlidingWindowConversationManager({ windowSize: 100 }),
      sessionManager: new RepositorySessionManager({ sessionId: 'quiet', repository: restoreSpy.repository }),
    })
    await restored.initialize()
    expect(restored.state.get('mood')).toBe('curious')
    expect(restoreSpy.calls('writeAgent')).toBe(0)
    expect(restoreSpy.calls('appendMessage')).toBe(0)
  })
})
