import { describe, expect, it } from 'vitest'
import { Agent, type Message, SlidingWindowConversationManager } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const call = (id: string): Message => ({
  role: 'assistant',
  content: [{ type: 'toolUse', toolUseId: id, name: 't', input: {} }],
})
const result = (id: string): Message => ({
  role: 'user',
  content: [{ type: 'toolResult', toolUseId: id, status: 'success', content: [] }],
})
const reply = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })

function agentWith(messages: Message[], windowSize: number) {
  const manager = new SlidingWindowConversationManager({ windowSize })
  return { agent: new Agent({ model: new ScriptedModel(), messages, conversationManager: manager }), manager }
}

describe('the sliding window', () => {
  it('never opens the window on a tool result or separates a call from its result', () => {
    // Every possible cut of a history full of tool pairs must land on a plain prompt.
    const history = Array.from({ length: 10 }, (_, i) => [
      user(`q${i}`),
      call(`t${i}`),
      result(`t${i}`),
      reply(`a${i}`),
    ]).flat()
    for (let windowSize = 2; windowSize <= history.length; windowSize++) {
      const { agent, manager } = agentWith(history, windowSize)
      manager.applyManagement(agent)
      // A turn here is 4 messages; a smaller window keeps the last turn whole.
      expect(agent.messages.length).toBeLessThanOrEqual(Math.max(windowSize, 4))
      if (agent.messages.length > 0) expect(agent.messages[0]?.content[0]?.type).toBe('text')
      expect(agent.messages[0]?.role ?? 'user').toBe('user')
      expectValidForModel(agent.messages)
      expect(manager.removedMessageCount + agent.messages.length).toBe(history.length)
    }
  })

  it('keeps its state as JSON and restores it', () => {
    const { agent, manager } = agentWith(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? reply(`a${i}`) : user(`q${i}`))),
      4,
    )
    manager.applyManagement(agent)
    const state = JSON.parse(JSON.stringify(manager.getState()))
    const restored = new SlidingWindowConversationManager({ windowSize: 4 })
    restored.restoreState(state)
    expect(restored.removedMessageCount).toBe(8)
    expect(state).toEqual({ type: 'sliding-window', removedMessageCount: 8 })
  })

  it('on overflow removes about half and reports when nothing more can go', () => {
    const { agent, manager } = agentWith([user('a'), reply('b'), user('c'), reply('d')], 40)
    expect(manager.reduceContext(agent)).toBe(true)
    expect(agent.messages).toEqual([user('c'), reply('d')])
    expect(manager.reduceContext(agent)).toBe(false)
  })
})
