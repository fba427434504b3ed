import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Agent, type ModelRequest, tool } from '../../src/index.ts'
import { AnthropicModel } from '../../src/models/anthropic/index.ts'
import {
  anthropicEvents,
  anthropicMessage,
  anthropicSse,
  anthropicStream,
} from '../support/anthropic-wire-format.ts'
import { collectEvents } from '../support/collect-events.ts'
import { WireServer } from '../support/wire-server.ts'

const weather = tool({
  name: 'get_weather',
  description: 'Current weather for a city',
  inputSchema: z.object({ city: z.string() }),
  callback: ({ city }) => ({ city, temperatureC: 21 }),
})

let server: WireServer
beforeEach(async () => {
  server = await WireServer.start()
})
afterEach(() => server.close())

function model(options: { streaming: boolean; maxTokens?: number; params?: Record<string, unknown> }) {
  return new AnthropicModel({
    model: 'claude-sonnet-4-6',
    apiKey: 'sk-ant-test',
    baseURL: server.url,
    clientOptions: { maxRetries: 0 },
    ...options,
  })
}

const reply = (streaming: boolean) => (streaming ? anthropicStream : anthropicMessage)
const userText = (text: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text }] })

describe.each([true, false])('AnthropicModel (streaming: %s)', (streaming) => {
  it('runs a tool round trip through the Agent, sending the tool spec, system prompt and tool_result', async () => {
    server.reply(
      reply(streaming)({
        content: [
          { type: 'text', text: 'Let me check.' },
          {
            type: 'tool_use',
            id: 'toolu_01A09q90qw90lq917835lq9',
            name: 'get_weather',
            input: { city: 'Paris' },
          },
        ],
      }),
      reply(streaming)({ content: [{ type: 'text', text: 'It is 21°C in Paris.' }] }),
    )
    const agent = new Agent({
      model: model({ streaming }),
      tools: [weather],
      systemPrompt: 'Answer briefly.',
    })

    const result = await agent.run('Weather in Paris?')

    expect(result.output).toBe('It is 21°C in Paris.')
    expect(result.stopReason).toBe('endTurn')
    expect(result.usage).toEqual({ inputTokens: 60, outputTokens: 30, totalTokens: 90 })
    expect(agent.messages[1]?.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      {
        type: 'toolUse',
        toolUseId: 'toolu_01A09q90qw90lq917835lq9',
        name: 'get_weather',
        input: { city: 'Paris' },
      },
    ])

    expect(server.requests[0]?.path).toBe('/v1/messages')
    expect(server.requests[0]?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(server.requests[0]?.headers.authorization ?? server.requests[0]?.headers['x-api-key']).toContain(
      'sk-ant-test',
    )
    const first = server.body(0)
    expect(first).toMatchObject({ model: 'claude-sonnet-4-6', max_tokens: 4096, system: 'Answer briefly.' })
    expect(first.stream).toBe(streaming)
    expect(first.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] }])
    expect(first.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Current weather for a city',
        input_schema: expect.objectContaining({
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
        }),
      },
    ])
    expect((server.body(1).messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          {
            type: 'tool_use',
            id: 'toolu_01A09q90qw90lq917835lq9',
            name: 'get_weather',
            input: { city: 'Paris' },
          },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_01A09q90qw90lq917835lq9',
            content: [{ type: 'text', text: '{"city":"Paris","temperatureC":21}' }],
          },
        ],
      },
    ])
  })

  it.each([
    ['end_turn', 'endTurn'],
    ['max_tokens', 'maxTokens'],
    ['stop_sequence', 'stopSequence'],
    ['refusal', 'contentFiltered'],
    ['model_context_window_exceeded', 'maxTokens'],
    ['pause_turn', 'endTurn'],
  ])('maps stop_reason %s to %s, and the usage including cached input', async (stopReason, expected) => {
    server.reply(
      reply(streaming)({
        content: [{ type: 'text', text: 'Hi' }],
        stopReason,
        usage: { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 100 },
      }),
    )
    const events = await collectEvents(model({ streaming }), { messages: [userText('Hello')] })
    expect(events.at(-1)).toEqual({
      type: 'message-end',
      stopReason: expected,
      usage: { inputTokens: 107, outputTokens: 3, totalTokens: 110 },
    })
    expect(events.filter((event) => event.type === 'message-end')).toHaveLength(1)
  })

  it('keeps thinking with its signature and redacted thinking, and sends both back unchanged', async () => {
    server.reply(
      reply(streaming)({
        content: [
          {
            type: 'thinking',
            thinking: 'The user wants the weather.',
            signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h',
          },
          { type: 'text', text: 'Checking.' },
          { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      }),
      reply(streaming)({ content: [{ type: 'text', text: 'Cold.' }] }),
    )
    const agent = new Agent({
      model: model({ streaming, params: { thinking: { type: 'enabled', budget_tokens: 2048 } } }),
      tools: [weather],
    })

    await agent.run('Weather in Oslo?')

    expect(agent.messages[1]?.content).toEqual([
      { type: 'reasoning', text: 'The user wants the weather.', signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h' },
      { type: 'text', text: 'Checking.' },
      { type: 'reasoning', text: '', redactedData: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
      { type: 'toolUse', toolUseId: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
    ])
    expect(server.body(0).thinking).toEqual({ type: 'enabled', budget_tokens: 2048 })
    expect((server.body(1).messages as { content: unknown }[])[1]?.content).toEqual([
      {
        type: 'thinking',
        thinking: 'The user wants the weather.',
        signature: 'EqQBCgIYAhIM1gbcDa9GJwZA2b3h',
      },
      { type: 'text', text: 'Checking.' },
      { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
    ])
  })
})

describe('AnthropicModel request mapping', () => {
  it('sends images as base64 sources, flags failed tool results, and drops unsigned reasoning', async () => {
    server.reply(anthropicStream({ content: [{ type: 'text', text: 'ok' }] }))
    const request: ModelRequest = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', mediaType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' },
          ],
        },
        {
          role: 'assistant',
          content: [
            // Reasoning from another provider has no signature Anthropic could verify.
            { type: 'reasoning', text: 'Looks like a cat.' },
            { type: 'toolUse', toolUseId: 'toolu_9', name: 'zoom', input: { factor: 2 } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'toolResult',
              toolUseId: 'toolu_9',
              status: 'error',
              content: [
                { type: 'text', text: 'too blurry' },
                { type: 'json', json: { code: 7 } },
              ],
            },
          ],
        },
      ],
    }
    await collectEvents(model({ streaming: true, maxTokens: 100 }), request)
    expect(server.body(0).max_tokens).toBe(100)
    expect(server.body(0).messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
        ],
      },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_9', name: 'zoom', input: { factor: 2 } }],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_9',
            content: [{ type: 'text', text: 'too blurry\n{"code":7}' }],
            is_error: true,
          },
        ],
      },
    ])
  })

  it('sends both parts of a reasoning block that joined signed thinking and redacted thinking', async () => {
    server.reply(anthropicStream({ content: [{ type: 'text', text: 'ok' }] }))
    await collectEvents(model({ streaming: true }), {
      messages: [
        userText('Hi'),
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'Thinking.', signature: 'sig-1', redactedData: 'EmwKAhgB' },
            { type: 'text', text: 'Hello.' },
          ],
        },
        userText('Again'),
      ],
    })
    expect((server.body(0).messages as { content: unknown }[])[1]?.content).toEqual([
      { type: 'thinking', thinking: 'Thinking.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'EmwKAhgB' },
      { type: 'text', text: 'Hello.' },
    ])
  })

  it('skips event and block types it does not know (Anthropic adds new ones over time)', async () => {
    const events = anthropicEvents({ content: [{ type: 'text', text: 'Hello' }] })
    events.splice(
      3,
      0,
      { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: {} } },
      { type: 'some_future_event', payload: 1 },
    )
    server.reply(anthropicSse(events))
    const result = await collectEvents(model({ streaming: true }), { messages: [userText('Hi')] })
    expect(result.filter((event) => event.type === 'text-delta').map((event) => event.text)).toEqual([
      'Hell',
      'o',
    ])
  })
})
