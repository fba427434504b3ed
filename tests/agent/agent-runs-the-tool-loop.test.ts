import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Agent, type AgentStreamEvent, type Message, tool } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'

const add = tool({
  name: 'add',
  description: 'Adds two numbers',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  callback: ({ a, b }) => ({ sum: a + b }),
})

describe('Agent tool loop', () => {
  it('executes a tool call, sends the result back, and returns the final text', async () => {
    const model = new ScriptedModel({
      script: [
        { toolUses: [{ name: 'add', input: { a: 2, b: 3 }, toolUseId: 't1' }] },
        { text: 'The sum is 5.' },
      ],
    })
    const agent = new Agent({ model, tools: [add], systemPrompt: 'Be brief.' })
    const result = await agent.run('What is 2 + 3?')

    expect(result.output).toBe('The sum is 5.')
    expect(result.stopReason).toBe('endTurn')
    expect(agent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant'])
    expect(agent.messages[2]?.content).toEqual([
      {
        type: 'toolResult',
        toolUseId: 't1',
        status: 'success',
        content: [{ type: 'json', json: { sum: 5 } }],
      },
    ])
    expect(model.requests[1]?.systemPrompt).toBe('Be brief.')
    expect(model.requests[1]?.tools?.[0]?.inputSchema).toMatchObject({ type: 'object', required: ['a', 'b'] })
    expect(result.usage.inputTokens).toBe(20)
  })

  it('turns invalid tool input, unknown tools and throwing tools into error results', async () => {
    const broken = tool({
      name: 'broken',
      description: 'Always fails',
      inputSchema: { type: 'object', properties: {} },
      callback: () => {
        throw new Error('disk on fire')
      },
    })
    const model = new ScriptedModel({
      script: [
        {
          toolUses: [
            { name: 'add', input: { a: 'two' }, toolUseId: 'bad-input' },
            { name: 'nope', input: {}, toolUseId: 'unknown' },
            { name: 'broken', input: {}, toolUseId: 'throws' },
          ],
        },
        { text: 'Sorry.' },
      ],
    })
    const agent = new Agent({ model, tools: [add, broken] })
    await agent.run('go')
    const results = agent.messages[2]?.content ?? []
    expect(results.map((block) => (block.type === 'toolResult' ? block.status : block.type))).toEqual([
      'error',
      'error',
      'error',
    ])
    expect(JSON.stringify(results)).toContain('Unknown tool \\"nope\\"')
    expect(JSON.stringify(results)).toContain('disk on fire')
    expect(JSON.stringify(results)).toContain('a: Invalid input')
  })

  it('streams text deltas, tool events and every added message, then the result', async () => {
    const model = new ScriptedModel({
      script: [{ text: 'Let me add.', toolUses: [{ name: 'add', input: { a: 1, b: 1 } }] }, { text: 'Two.' }],
    })
    const agent = new Agent({ model, tools: [add] })
    const events: AgentStreamEvent[] = []
    for await (const event of agent.stream('1+1?')) events.push(event)
    const types = events.map((event) => event.type)
    expect(types.filter((type) => type === 'message-added')).toHaveLength(4)
    expect(types).toContain('tool-use-start')
    expect(types).toContain('tool-use-end')
    expect(types.at(-1)).toBe('result')
    const text = events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('')
    expect(text).toBe('Let me add.Two.')
  })

  it('fires message-added for every message, awaiting async hooks in order', async () => {
    const model = new ScriptedModel({
      script: [{ toolUses: [{ name: 'add', input: { a: 1, b: 2 } }] }, { text: '3' }],
    })
    const agent = new Agent({ model, tools: [add] })
    const seen: Message['role'][] = []
    agent.hooks.on('message-added', async ({ message }) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      seen.push(message.role)
    })
    await agent.run('1+2')
    expect(seen).toEqual(['user', 'assistant', 'user', 'assistant'])
  })
})
