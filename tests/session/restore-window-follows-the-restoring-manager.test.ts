import { describe, expect, it } from 'vitest'
import {
  Agent,
  type ConversationManager,
  type ConversationManagerState,
  FileSessionRepository,
  type Message,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
  SlidingWindowConversationManager,
} from '../../src/index.ts'
import { repairSession } from '../../src/session/repair-session.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { recordingRepository } from '../support/recording-repository.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const ref = { sessionId: 'long', agentId: 'default' }
const texts = (messages: Message[]) =>
  messages.map((message) =>
    message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
  )

function agentWith(repository: SessionRepository, conversationManager?: ConversationManager): Agent {
  return new Agent({
    model: new ScriptedModel({ fallback: { text: 'ack' } }),
    ...(conversationManager ? { conversationManager } : {}),
    sessionManager: new RepositorySessionManager({ sessionId: 'long', repository }),
  })
}

/** A manager of the app's own kind: it keeps what it is given and has no restoreOffset. */
class KeepEverythingFromStoredStart implements ConversationManager {
  applyManagement(): void {}
  reduceContext(): boolean {
    return false
  }
  getState(): ConversationManagerState {
    return { type: 'keep-all', removedMessageCount: 0 }
  }
  restoreState(): void {}
}

describe('a restore reads from where the restoring agent’s conversation manager starts', () => {
  const tempDirectory = useTempDirectories()

  async function sessionWrittenThroughAWindow(turns: number, windowSize: number) {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const writer = agentWith(repository, new SlidingWindowConversationManager({ windowSize }))
    for (let turn = 0; turn < turns; turn++) await writer.run(`turn ${turn}`)
    const stored = (await repository.readMessages(ref)).map((record) => record.message)
    return { repository, stored }
  }

  it('written with a 40-message window, restored with NullConversationManager: the whole history', async () => {
    const { repository, stored } = await sessionWrittenThroughAWindow(100, 40)
    expect(stored).toHaveLength(200)
    const reader = agentWith(repository, new NullConversationManager())
    await reader.initialize()
    expect(reader.messages).toEqual(stored)
    // And the next request carries it all.
    const model = reader.model as ScriptedModel
    await reader.run('what did I say first?')
    expect(texts(model.requests[0]?.messages ?? []).slice(0, 2)).toEqual(['turn 0', 'ack'])
    expect(model.requests[0]?.messages).toHaveLength(201)
  })

  it('restored with a window of another size: that window, larger or smaller', async () => {
    const { repository, stored } = await sessionWrittenThroughAWindow(100, 40)
    for (const windowSize of [10, 70]) {
      const reader = agentWith(repository, new SlidingWindowConversationManager({ windowSize }))
      await reader.initialize()
      expect(reader.messages).toEqual(stored.slice(-windowSize))
    }
    // Written with a window and restored with a window: the window still reads only what it shows.
    const counting = recordingRepository(repository)
    const windowed = agentWith(counting.repository, new SlidingWindowConversationManager({ windowSize: 10 }))
    await windowed.initialize()
    expect(counting.messagesRead()).toBe(10)
  })

  it('a sliding window does not rewrite the agent record each time it slides', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const spy = recordingRepository(repository)
    const agent = agentWith(spy.repository, new SlidingWindowConversationManager({ windowSize: 4 }))
    for (let turn = 0; turn < 20; turn++) await agent.run(`turn ${turn}`)
    // The first run writes the record; the window slid 16 times after it without a write.
    expect(spy.calls('writeAgent')).toBe(1)
    const reader = agentWith(repository, new SlidingWindowConversationManager({ windowSize: 4 }))
    await reader.initialize()
    expect(texts(reader.messages)).toEqual(['turn 18', 'ack', 'turn 19', 'ack'])
  })

  it('a window longer than the restoring window opens on the latest prompt before it, keeping the turn whole', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const calls = Array.from({ length: 12 }, (_, i) => ({
      toolUses: [{ name: 'none', input: {}, toolUseId: `c${i}` }],
    }))
    const writer = new Agent({
      model: new ScriptedModel({ script: [{ text: 'hi' }, ...calls, { text: 'done' }] }),
      conversationManager: new NullConversationManager(),
      sessionManager: new RepositorySessionManager({ sessionId: 'long', repository }),
    })
    await writer.run('hello')
    await writer.run('run twelve tools') // 1 prompt + 12 × (call, result) + reply = 26 messages
    const stored = (await repository.readMessages(ref)).map((record) => record.message)
    const reader = agentWith(repository, new SlidingWindowConversationManager({ windowSize: 6 }))
    await reader.initialize()
    expect(reader.messages).toEqual(stored.slice(2))
    expect(texts(reader.messages)[0]).toBe('run twelve tools')
  })

  it('a stored window start past the last message is reported, the whole history restored and the record fixed', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const writer = agentWith(repository, new KeepEverythingFromStoredStart())
    for (let turn = 0; turn < 3; turn++) await writer.run(`turn ${turn}`)
    const record = await repository.readAgent(ref)
    if (!record) throw new Error('no agent record')
    await repository.writeAgent({ ...record, windowStart: 999 })

    // The operator's check finds it before any restore does.
    const [report] = await repairSession({ repository, sessionId: 'long', dryRun: true })
    expect(report?.repairs.map((repair) => repair.kind)).toEqual(['window-start-out-of-range'])

    const reader = agentWith(repository, new KeepEverythingFromStoredStart())
    await reader.initialize()
    expect(texts(reader.messages)).toEqual(['turn 0', 'ack', 'turn 1', 'ack', 'turn 2', 'ack'])
    const manager = reader.sessionManager as RepositorySessionManager
    expect(manager.lastRepairReport?.repairs.map((repair) => repair.kind)).toEqual([
      'window-start-out-of-range',
    ])
    expect((await repository.readAgent(ref))?.windowStart).toBe(0)
    const [after] = await repairSession({ repository, sessionId: 'long', dryRun: true })
    expect(after?.repairs).toEqual([])
  })

  it('a manager without restoreOffset reads from the start its own kind stored, never another kind’s', async () => {
    const { repository, stored } = await sessionWrittenThroughAWindow(10, 4)
    const record = await repository.readAgent(ref)
    expect(record?.conversationManagerState?.type).toBe('sliding-window')
    const reader = agentWith(repository, new KeepEverythingFromStoredStart())
    await reader.initialize()
    expect(reader.messages).toEqual(stored)
  })
})
