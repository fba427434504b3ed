import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  Agent,
  ConcurrentInvocationError,
  ContextWindowOverflowError,
  InvocationAbortedError,
  MaxCyclesExceededError,
  SlidingWindowConversationManager,
  tool,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const slow = tool({
  name: 'slow',
  description: 'Takes a while, honouring the abort signal',
  inputSchema: z.object({}),
  callback: (_input, { signal }) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve('finished'), 5_000)
      signal.addEventListener('abort', () => {
        clearTimeout(timer)
        reject(signal.reason)
      })
    }),
})

describe('the Agent keeps the conversation valid when things go wrong', () => {
  it('cancelling during a streamed reply rejects with InvocationAbortedError and keeps messages valid', async () => {
    const model = new ScriptedModel({
      script: [{ text: 'a'.repeat(400), chunkDelayMs: 5 }, { text: 'next' }],
    })
    const agent = new Agent({ model })
    const controller = new AbortController()
    // 30 ms into the reply (which takes 250 ms), however long the start of the run took.
    agent.hooks.on('model-call-start', () => {
      setTimeout(() => controller.abort(), 30)
    })
    await expect(agent.run('talk slowly', { signal: controller.signal })).rejects.toBeInstanceOf(
      InvocationAbortedError,
    )
    expect(agent.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'talk slowly' }] }])
    // The next run is accepted and its request is valid.
    expect((await agent.run('again')).output).toBe('next')
    expectValidForModel(model.requests[1]?.messages ?? [])
  })

  it('cancelling during a tool answers the open call, so the next request is valid', async () => {
    const model = new ScriptedModel({ script: [{ toolUses: [{ name: 'slow', input: {} }] }, { text: 'ok' }] })
    const agent = new Agent({ model, tools: [slow] })
    const controller = new AbortController()
    // 30 ms into the tool run (which would take 5 s), however long the start of the run took.
    agent.hooks.on('tool-call-start', () => {
      setTimeout(() => controller.abort(), 30)
    })
    await expect(agent.run('go', { signal: controller.signal })).rejects.toBeInstanceOf(
      InvocationAbortedError,
    )
    expect(agent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(JSON.stringify(agent.messages[2])).toContain('cancelled')
    expectValidForModel(agent.messages)
  })

  it('rejects a second concurrent run on one Agent', async () => {
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'x'.repeat(100), chunkDelayMs: 2 } }),
    })
    const first = agent.run('one')
    await expect(agent.run('two')).rejects.toBeInstanceOf(ConcurrentInvocationError)
    await first
    await expect(agent.run('three')).resolves.toMatchObject({ output: 'x'.repeat(100) })
  })

  it('lets an error thrown by a hook reach the caller of run', async () => {
    const agent = new Agent({ model: new ScriptedModel({ fallback: { text: 'ok' } }) })
    agent.hooks.on('message-added', () => {
      throw new Error('disk full in my hook')
    })
    await expect(agent.run('hi')).rejects.toThrow('disk full in my hook')
  })

  it('on a context overflow, trims with the sliding window and retries the call', async () => {
    const model = new ScriptedModel({
      fallback: (request) =>
        request.messages.length > 4
          ? { error: new ContextWindowOverflowError('too long') }
          : { text: 'fits' },
    })
    const agent = new Agent({
      model,
      conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
    })
    for (let turn = 0; turn < 2; turn++) await agent.run(`turn ${turn}`)
    const result = await agent.run('turn 2')
    expect(result.output).toBe('fits')
    expect(model.requests.at(-1)?.messages.length).toBeLessThanOrEqual(4)
  })

  it('stops a tool loop after maxCycles with a typed error, leaving messages valid', async () => {
    const loop = tool({
      name: 'loop',
      description: 'again',
      inputSchema: z.object({}),
      callback: () => 'again',
    })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { toolUses: [{ name: 'loop', input: {} }] } }),
      tools: [loop],
      maxCycles: 3,
    })
    await expect(agent.run('go')).rejects.toBeInstanceOf(MaxCyclesExceededError)
    expect(agent.messages).toHaveLength(7)
    expectValidForModel(agent.messages)
  })
})
