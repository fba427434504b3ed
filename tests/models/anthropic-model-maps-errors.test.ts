import Anthropic from '@anthropic-ai/sdk'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  Agent,
  ContextWindowOverflowError,
  InvocationAbortedError,
  type Message,
  ModelAuthenticationError,
  ModelError,
  ModelRateLimitError,
  SlidingWindowConversationManager,
  ValidationError,
} from '../../src/index.ts'
import { AnthropicModel } from '../../src/models/anthropic/index.ts'
import {
  anthropicError,
  anthropicEvents,
  anthropicSse,
  anthropicStream,
} from '../support/anthropic-wire-format.ts'
import { abortAtFirstTextDelta, collectEvents, rejectionOf } from '../support/collect-events.ts'
import { WireServer } from '../support/wire-server.ts'

let server: WireServer
beforeEach(async () => {
  server = await WireServer.start()
})
afterEach(() => server.close())

function model(streaming = true): AnthropicModel {
  return new AnthropicModel({
    model: 'claude-sonnet-4-6',
    apiKey: 'sk-ant-test',
    baseURL: server.url,
    clientOptions: { maxRetries: 0 },
    streaming,
  })
}

const hello = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello' }] }] }

describe('AnthropicModel error mapping', () => {
  it('turns a 401 into ModelAuthenticationError, keeping the SDK error as cause', async () => {
    server.reply(anthropicError(401, 'authentication_error', 'invalid x-api-key'))
    const error = await rejectionOf(new Agent({ model: model() }).run('Hello'))
    expect(error).toBeInstanceOf(ModelAuthenticationError)
    expect((error as Error).cause).toBeInstanceOf(Anthropic.AuthenticationError)
  })

  it('turns a 429 with retry-after into ModelRateLimitError with retryAfterMs', async () => {
    server.reply(
      anthropicError(
        429,
        'rate_limit_error',
        'Number of request tokens has exceeded your per-minute rate limit',
        {
          'retry-after': '7',
        },
      ),
    )
    const error = await rejectionOf(collectEvents(model(false), hello))
    expect(error).toBeInstanceOf(ModelRateLimitError)
    expect((error as ModelRateLimitError).retryAfterMs).toBe(7000)
  })

  it.each([
    'prompt is too long: 208309 tokens > 200000 maximum',
    'input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, decrease input length or `max_tokens` and try again',
  ])('recognizes the overflow message "%s"', async (message) => {
    server.reply(anthropicError(400, 'invalid_request_error', message))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ContextWindowOverflowError)
    expect((error as Error).message).toContain(message)
  })

  it('keeps other 400s and a 529 overload as ModelError with the status', async () => {
    server.reply(
      anthropicError(400, 'invalid_request_error', 'messages: roles must alternate'),
      anthropicError(529, 'overloaded_error', 'Overloaded'),
    )
    const badRequest = await rejectionOf(collectEvents(model(), hello))
    expect(badRequest).toBeInstanceOf(ModelError)
    expect((badRequest as ModelError).status).toBe(400)
    const overloaded = await rejectionOf(collectEvents(model(), hello))
    expect((overloaded as ModelError).status).toBe(529)
  })

  it('lets the sliding window trim the conversation and the Agent retry after an overflow', async () => {
    server.reply(
      anthropicError(400, 'invalid_request_error', 'prompt is too long: 208309 tokens > 200000 maximum'),
      anthropicStream({ content: [{ type: 'text', text: 'Fine now.' }] }),
    )
    const history: Message[] = []
    for (let turn = 0; turn < 4; turn++) {
      history.push({ role: 'user', content: [{ type: 'text', text: `question ${turn}` }] })
      history.push({ role: 'assistant', content: [{ type: 'text', text: `answer ${turn}` }] })
    }
    const agent = new Agent({
      model: model(),
      messages: history,
      conversationManager: new SlidingWindowConversationManager(),
    })

    const result = await agent.run('last question')

    expect(result.output).toBe('Fine now.')
    const sent = (index: number) => (server.body(index).messages as unknown[]).length
    expect(sent(0)).toBe(9)
    expect(sent(1)).toBeLessThan(sent(0))
    // The trimmed conversation still opens on a user turn, as the Messages API requires.
    expect((server.body(1).messages as { role: string }[])[0]?.role).toBe('user')
  })

  it('maps an error event inside the stream', async () => {
    const events = anthropicEvents({ content: [{ type: 'text', text: 'Hello there' }] }).slice(0, 4)
    const sse = anthropicSse(events)
    sse.chunks?.push(
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    )
    server.reply(sse)
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as Error).message).toContain('Overloaded')
  })

  it('reports a stream cut off before message_stop as ModelError', async () => {
    server.reply(
      anthropicSse(anthropicEvents({ content: [{ type: 'text', text: 'Half an answer' }] }).slice(0, 5)),
    )
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as Error).message).toContain('message_stop')
  })
  it('stops reading when the invocation is aborted mid-stream, surfacing InvocationAbortedError', async () => {
    server.reply({
      ...anthropicStream({ content: [{ type: 'text', text: 'Once upon a time there was a test.' }] }),
      chunkDelayMs: 30,
    })
    const { texts, error } = await abortAtFirstTextDelta(model())
    expect(error).toBeInstanceOf(InvocationAbortedError)
    expect(texts).toEqual(['Once'])
  })
})

describe('AnthropicModel response validation', () => {
  it('turns a malformed message into ValidationError naming the provider', async () => {
    server.reply({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        content: [{ type: 'tool_use', name: 'get_weather' }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 1, output_tokens: 1 },
      }),
    })
    const error = await rejectionOf(collectEvents(model(false), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('anthropic response')
    expect((error as ValidationError).message).toContain('id')
  })

  it('turns a malformed stream event into ValidationError, not a TypeError', async () => {
    const events = anthropicEvents({ content: [{ type: 'text', text: 'Hi' }] })
    events[3] = { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 42 } }
    server.reply(anthropicSse(events))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('anthropic stream event')
  })
})
