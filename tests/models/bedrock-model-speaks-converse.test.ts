import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Agent, type ModelRequest, tool } from '../../src/index.ts'
import { BedrockModel } from '../../src/models/bedrock/index.ts'
import { converseResponse, converseStream } from '../support/bedrock-wire-format.ts'
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
  server = await WireServer.start({ protocol: 'h2c' })
})
afterEach(() => server.close())

const MODEL_ID = 'us.anthropic.claude-sonnet-4-6-v1:0'

function model(options: { streaming: boolean; maxTokens?: number; params?: Record<string, unknown> }) {
  return new BedrockModel({
    model: MODEL_ID,
    region: 'us-east-1',
    clientConfig: {
      endpoint: server.url,
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
      maxAttempts: 1,
    },
    ...options,
  })
}

const reply = (streaming: boolean) => (streaming ? converseStream : converseResponse)
const userText = (text: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text }] })

describe.each([true, false])('BedrockModel (streaming: %s)', (streaming) => {
  it('runs a tool round trip through the Agent, sending the tool spec, system prompt and toolResult', async () => {
    server.reply(
      reply(streaming)({
        content: [
          { text: 'Let me check.' },
          {
            toolUse: {
              toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
              name: 'get_weather',
              input: { city: 'Paris' },
            },
          },
        ],
      }),
      reply(streaming)({ content: [{ text: 'It is 21°C in Paris.' }] }),
    )
    const agent = new Agent({
      model: model({ streaming, maxTokens: 512 }),
      tools: [weather],
      systemPrompt: 'Answer briefly.',
    })

    const result = await agent.run('Weather in Paris?')

    expect(result.output).toBe('It is 21°C in Paris.')
    expect(result.stopReason).toBe('endTurn')
    expect(result.usage).toEqual({ inputTokens: 80, outputTokens: 40, totalTokens: 120 })
    expect(agent.messages[1]?.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      {
        type: 'toolUse',
        toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
        name: 'get_weather',
        input: { city: 'Paris' },
      },
    ])

    const operation = streaming ? 'converse-stream' : 'converse'
    expect(server.requests[0]?.path).toBe(`/model/${encodeURIComponent(MODEL_ID)}/${operation}`)
    // Signed with SigV4 for the region, as a real Bedrock endpoint requires.
    expect(server.requests[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request/,
    )
    const first = server.body(0)
    expect(first.system).toEqual([{ text: 'Answer briefly.' }])
    expect(first.inferenceConfig).toEqual({ maxTokens: 512 })
    expect(first.messages).toEqual([{ role: 'user', content: [{ text: 'Weather in Paris?' }] }])
    expect(first.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'get_weather',
            description: 'Current weather for a city',
            inputSchema: {
              json: expect.objectContaining({
                type: 'object',
                properties: { city: { type: 'string' } },
                required: ['city'],
              }),
            },
          },
        },
      ],
    })
    expect((server.body(1).messages as unknown[]).slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { text: 'Let me check.' },
          {
            toolUse: {
              toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
              name: 'get_weather',
              input: { city: 'Paris' },
            },
          },
        ],
      },
      {
        role: 'user',
        content: [
          {
            toolResult: {
              toolUseId: 'tooluse_kZJMlvQmRJ6eAyJE5GIl7Q',
              status: 'success',
              content: [{ json: { city: 'Paris', temperatureC: 21 } }],
            },
          },
        ],
      },
    ])
  })

  it.each([
    ['end_turn', 'endTurn'],
    ['max_tokens', 'maxTokens'],
    ['stop_sequence', 'stopSequence'],
    ['guardrail_intervened', 'guardrailIntervened'],
    ['content_filtered', 'contentFiltered'],
    ['model_context_window_exceeded', 'maxTokens'],
  ])('maps stopReason %s to %s, and the usage including cache reads', async (stopReason, expected) => {
    server.reply(
      reply(streaming)({
        content: [{ text: 'Hi' }],
        stopReason,
        usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10, cacheReadInputTokens: 50 },
      }),
    )
    const events = await collectEvents(model({ streaming }), { messages: [userText('Hello')] })
    expect(events.at(-1)).toEqual({
      type: 'message-end',
      stopReason: expected,
      usage: { inputTokens: 57, outputTokens: 3, totalTokens: 60 },
    })
    expect(events.filter((event) => event.type === 'message-end')).toHaveLength(1)
  })

  it('keeps reasoning with its signature and redacted reasoning, and sends both back', async () => {
    server.reply(
      reply(streaming)({
        content: [
          {
            reasoningContent: {
              reasoningText: { text: 'The user wants the weather.', signature: 'ErUBCkgIAxAC' },
            },
          },
          { reasoningContent: { redactedContent: 'AQIDBAU=' } },
          { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
        ],
      }),
      reply(streaming)({ content: [{ text: 'Cold.' }] }),
    )
    const agent = new Agent({
      model: model({
        streaming,
        params: { additionalModelRequestFields: { thinking: { type: 'enabled', budget_tokens: 1024 } } },
      }),
      tools: [weather],
    })

    await agent.run('Weather in Oslo?')

    // A signature closes a reasoning block and redacted reasoning is a block of its own, so the
    // message keeps the two blocks the provider sent, in order.
    expect(agent.messages[1]?.content).toEqual([
      { type: 'reasoning', text: 'The user wants the weather.', signature: 'ErUBCkgIAxAC' },
      { type: 'reasoning', text: '', redactedData: 'AQIDBAU=' },
      { type: 'toolUse', toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } },
    ])
    expect(server.body(0).additionalModelRequestFields).toEqual({
      thinking: { type: 'enabled', budget_tokens: 1024 },
    })
    expect((server.body(1).messages as { content: unknown[] }[])[1]?.content).toEqual([
      {
        reasoningContent: {
          reasoningText: { text: 'The user wants the weather.', signature: 'ErUBCkgIAxAC' },
        },
      },
      { reasoningContent: { redactedContent: 'AQIDBAU=' } },
      { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
    ])
  })
})

describe('BedrockModel request mapping', () => {
  it('sends images as bytes, failed tool results with status error, and drops unsigned reasoning', async () => {
    server.reply(converseStream({ content: [{ text: 'ok' }] }))
    const request: ModelRequest = {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image', mediaType: 'image/webp', data: 'UklGRg==' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'Looks like a cat.' },
            { type: 'reasoning', text: 'Signed thought.', signature: 'sig-1' },
            { type: 'toolUse', toolUseId: 'tooluse_9', name: 'zoom', input: { factor: 2 } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'toolResult',
              toolUseId: 'tooluse_9',
              status: 'error',
              content: [{ type: 'text', text: 'too blurry' }],
            },
          ],
        },
      ],
    }
    await collectEvents(model({ streaming: true }), request)
    expect(server.body(0).inferenceConfig).toBeUndefined()
    expect(server.body(0).messages).toEqual([
      // Blobs travel base64-encoded in the JSON body.
      {
        role: 'user',
        content: [{ text: 'What is this?' }, { image: { format: 'webp', source: { bytes: 'UklGRg==' } } }],
      },
      {
        role: 'assistant',
        content: [
          { reasoningContent: { reasoningText: { text: 'Signed thought.', signature: 'sig-1' } } },
          { toolUse: { toolUseId: 'tooluse_9', name: 'zoom', input: { factor: 2 } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'tooluse_9', status: 'error', content: [{ text: 'too blurry' }] } },
        ],
      },
    ])
  })
})
