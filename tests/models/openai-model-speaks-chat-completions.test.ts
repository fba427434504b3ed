import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { Agent, type ModelRequest, tool } from '../../src/index.ts'
import { OpenAIModel } from '../../src/models/openai/index.ts'
import { collectEvents } from '../support/collect-events.ts'
import { openAIChunks, openAICompletion, openAIStream, sseResponse } from '../support/openai-wire-format.ts'
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
afterEach(async () => {
  vi.unstubAllEnvs()
  await server.close()
})

function model(options: { streaming: boolean; maxTokens?: number }): OpenAIModel {
  return new OpenAIModel({
    model: 'gpt-4o',
    apiKey: 'sk-test-key',
    baseURL: `${server.url}/v1`,
    clientOptions: { maxRetries: 0 },
    ...options,
  })
}

const reply = (streaming: boolean) => (streaming ? openAIStream : openAICompletion)

describe.each([true, false])('OpenAIModel (streaming: %s)', (streaming) => {
  it('runs a tool round trip through the Agent, sending the tool spec, system prompt and tool message', async () => {
    server.reply(
      reply(streaming)({
        toolCalls: [{ id: 'call_Q9a1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      }),
      reply(streaming)({ text: 'It is 21°C in Paris.' }),
    )
    const agent = new Agent({
      model: model({ streaming, maxTokens: 256 }),
      tools: [weather],
      systemPrompt: 'Answer briefly.',
    })

    const result = await agent.run('Weather in Paris?')

    expect(result.output).toBe('It is 21°C in Paris.')
    expect(result.stopReason).toBe('endTurn')
    expect(result.usage).toEqual({ inputTokens: 50, outputTokens: 24, totalTokens: 74 })
    expect(agent.messages[1]?.content).toEqual([
      { type: 'toolUse', toolUseId: 'call_Q9a1', name: 'get_weather', input: { city: 'Paris' } },
    ])

    expect(server.requests[0]?.path).toBe('/v1/chat/completions')
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-test-key')
    const first = server.body(0)
    expect(first.model).toBe('gpt-4o')
    expect(first.stream).toBe(streaming)
    expect(first.stream_options).toEqual(streaming ? { include_usage: true } : undefined)
    // A baseURL means a compatible server, which understands `max_tokens`.
    expect(first.max_tokens).toBe(256)
    expect(first.messages).toEqual([
      { role: 'system', content: 'Answer briefly.' },
      { role: 'user', content: 'Weather in Paris?' },
    ])
    expect(first.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather for a city',
          parameters: expect.objectContaining({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        },
      },
    ])
    expect((server.body(1).messages as unknown[]).slice(2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_Q9a1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_Q9a1', content: '{"city":"Paris","temperatureC":21}' },
    ])
  })

  it.each([
    ['stop', 'endTurn'],
    ['length', 'maxTokens'],
    ['content_filter', 'contentFiltered'],
    ['some_server_specific_reason', 'endTurn'],
  ])('maps finish_reason %s to %s, and the usage', async (finishReason, stopReason) => {
    server.reply(
      reply(streaming)({
        text: 'Hi',
        finishReason,
        usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
      }),
    )
    const events = await collectEvents(model({ streaming }), { messages: [userText('Hello')] })
    expect(events.at(-1)).toEqual({
      type: 'message-end',
      stopReason,
      usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 },
    })
    expect(events.filter((event) => event.type === 'message-end')).toHaveLength(1)
  })

  it('reads reasoning_content from compatible servers as reasoning', async () => {
    server.reply(reply(streaming)({ reasoningContent: 'The user greets me.', text: 'Hello!' }))
    const agent = new Agent({ model: model({ streaming }) })
    await agent.run('Hi')
    expect(agent.messages[1]?.content).toEqual([
      { type: 'reasoning', text: 'The user greets me.' },
      { type: 'text', text: 'Hello!' },
    ])
  })
})

describe('OpenAIModel request mapping', () => {
  it('sends images as data URLs, flags failed tool results, and drops reasoning it cannot carry', async () => {
    server.reply(openAIStream({ text: 'ok' }))
    const request: ModelRequest = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'I should look closer.', signature: 'sig' },
            { type: 'text', text: 'Let me zoom in.' },
            { type: 'toolUse', toolUseId: 'call_1', name: 'zoom', input: { factor: 2 } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'toolResult',
              toolUseId: 'call_1',
              status: 'error',
              content: [{ type: 'text', text: 'too blurry' }],
            },
            { type: 'text', text: 'Try again.' },
          ],
        },
      ],
    }
    await collectEvents(model({ streaming: true }), request)
    expect(server.body(0).messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me zoom in.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'zoom', arguments: '{"factor":2}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Error: too blurry' },
      { role: 'user', content: 'Try again.' },
    ])
  })

  it('asks OpenAI itself for max_completion_tokens, and merges params into the body', async () => {
    server.reply(openAICompletion({ text: 'ok' }))
    const { OpenAI } = await import('openai')
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${server.url}/v1`, maxRetries: 0 })
    const openAI = new OpenAIModel({
      model: 'o4-mini',
      client,
      streaming: false,
      maxTokens: 1000,
      params: { reasoning_effort: 'low', temperature: 1 },
    })
    await collectEvents(openAI, { messages: [userText('Hi')] })
    expect(server.body(0)).toMatchObject({
      max_completion_tokens: 1000,
      reasoning_effort: 'low',
      temperature: 1,
    })
    expect(server.body(0).max_tokens).toBeUndefined()
  })

  it('sends a placeholder key to a local server when no API key is configured', async () => {
    vi.stubEnv('OPENAI_API_KEY', '')
    server.reply(openAIStream({ text: 'ok' }))
    const local = new OpenAIModel({ model: 'llama3.2', baseURL: `${server.url}/v1` })
    await collectEvents(local, { messages: [userText('Hi')] })
    expect(server.requests[0]?.headers.authorization).toBe('Bearer no-api-key')
  })
})

describe('OpenAIModel stream quirks of compatible servers', () => {
  it('separates parallel tool calls that all arrive at index 0 (Ollama)', async () => {
    const call = (id: string, city: string) => ({
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id,
                type: 'function',
                function: { name: 'get_weather', arguments: `{"city":"${city}"}` },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    })
    server.reply(
      sseResponse([
        call('call_a', 'Paris'),
        call('call_b', 'Oslo'),
        // Older Ollama reports `stop` even when it called tools.
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
        '[DONE]',
      ]),
    )
    const events = await collectEvents(model({ streaming: true }), { messages: [userText('Weather?')] })
    expect(events).toEqual([
      { type: 'tool-use-start', toolUseId: 'call_a', name: 'get_weather' },
      { type: 'tool-use-input-delta', toolUseId: 'call_a', inputDelta: '{"city":"Paris"}' },
      { type: 'tool-use-end', toolUseId: 'call_a' },
      { type: 'tool-use-start', toolUseId: 'call_b', name: 'get_weather' },
      { type: 'tool-use-input-delta', toolUseId: 'call_b', inputDelta: '{"city":"Oslo"}' },
      { type: 'tool-use-end', toolUseId: 'call_b' },
      // No usage chunk from this server: zero usage rather than a guess.
      {
        type: 'message-end',
        stopReason: 'toolUse',
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      },
    ])
  })

  it('assembles tool call arguments streamed in fragments', async () => {
    server.reply(
      sseResponse([
        ...openAIChunks({
          toolCalls: [{ id: 'call_x', name: 'get_weather', arguments: '{"city":"Rio de Janeiro"}' }],
        }),
        '[DONE]',
      ]),
    )
    const events = await collectEvents(model({ streaming: true }), { messages: [userText('Weather?')] })
    const deltas = events.filter((event) => event.type === 'tool-use-input-delta')
    expect(deltas.length).toBeGreaterThan(2)
    expect(deltas.map((event) => event.inputDelta).join('')).toBe('{"city":"Rio de Janeiro"}')
  })
})

function userText(text: string) {
  return { role: 'user' as const, content: [{ type: 'text' as const, text }] }
}
