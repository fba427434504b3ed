import OpenAI from 'openai'
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
import { OpenAIModel } from '../../src/models/openai/index.ts'
import { abortAtFirstTextDelta, collectEvents, rejectionOf } from '../support/collect-events.ts'
import { openAIChunks, openAIError, openAIStream, sseResponse } from '../support/openai-wire-format.ts'
import { WireServer } from '../support/wire-server.ts'

let server: WireServer
beforeEach(async () => {
  server = await WireServer.start()
})
afterEach(() => server.close())

function model(streaming = true): OpenAIModel {
  return new OpenAIModel({
    model: 'gpt-4o',
    apiKey: 'sk-test-key',
    baseURL: `${server.url}/v1`,
    clientOptions: { maxRetries: 0 },
    streaming,
  })
}

const hello = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello' }] }] }

describe('OpenAIModel error mapping', () => {
  it('turns a 401 into ModelAuthenticationError, keeping the SDK error as cause', async () => {
    server.reply(
      openAIError(401, {
        message: 'Incorrect API key provided: sk-test-key.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      }),
    )
    const error = await rejectionOf(new Agent({ model: model() }).run('Hello'))
    expect(error).toBeInstanceOf(ModelAuthenticationError)
    expect((error as ModelAuthenticationError).provider).toBe('openai')
    expect((error as Error).cause).toBeInstanceOf(OpenAI.AuthenticationError)
  })

  it.each([
    [{ 'retry-after': '2' }, 2000],
    [{ 'retry-after-ms': '1500', 'retry-after': '2' }, 1500],
    [{}, undefined],
  ])('turns a 429 with headers %o into ModelRateLimitError (retryAfterMs %s)', async (headers, expected) => {
    server.reply(
      openAIError(
        429,
        {
          message: 'Rate limit reached for gpt-4o on requests per min (RPM): Limit 500, Used 500.',
          type: 'requests',
          code: 'rate_limit_exceeded',
        },
        headers,
      ),
    )
    const error = await rejectionOf(collectEvents(model(false), hello))
    expect(error).toBeInstanceOf(ModelRateLimitError)
    expect((error as ModelRateLimitError).retryAfterMs).toBe(expected)
  })

  it('treats insufficient_quota (a 429) as a plain ModelError: waiting does not help', async () => {
    server.reply(
      openAIError(429, {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        code: 'insufficient_quota',
      }),
    )
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as ModelError).status).toBe(429)
  })

  it('turns a 500 into ModelError with the status', async () => {
    server.reply(openAIError(500, { message: 'The server had an error.', type: 'server_error', code: null }))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as ModelError).status).toBe(500)
  })

  it.each([
    [
      'OpenAI',
      400,
      {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.",
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      },
    ],
    [
      'llama.cpp',
      400,
      {
        message: 'request (4390 tokens) exceeds the available context size (4096 tokens), try increasing it',
        type: 'exceed_context_size_error',
        code: null,
      },
    ],
    [
      'vLLM',
      400,
      {
        message: "This model's maximum context length is 8192 tokens. However, you requested 9001 tokens.",
        type: 'BadRequestError',
        code: null,
      },
    ],
  ])('recognizes a context overflow from %s', async (_server, status, error) => {
    server.reply(openAIError(status, error))
    expect(await rejectionOf(collectEvents(model(), hello))).toBeInstanceOf(ContextWindowOverflowError)
  })

  it('lets the sliding window trim the conversation and the Agent retry after an overflow', async () => {
    server.reply(
      openAIError(400, {
        message: "This model's maximum context length is 128000 tokens.",
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      }),
      openAIStream({ text: 'Fine now.' }),
    )
    const history: Message[] = []
    for (let turn = 0; turn < 4; turn++) {
      history.push({ role: 'user', content: [{ type: 'text', text: `question ${turn}` }] })
      history.push({ role: 'assistant', content: [{ type: 'text', text: `answer ${turn}` }] })
    }
    const agent = new Agent({
      model: model(),
      messages: history,
      conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
    })

    const result = await agent.run('last question')

    expect(result.output).toBe('Fine now.')
    const sent = (index: number) => (server.body(index).messages as unknown[]).length
    expect(sent(0)).toBe(9)
    expect(sent(1)).toBeLessThan(sent(0))
    expect(server.body(1).messages).toContainEqual({ role: 'user', content: 'last question' })
  })

  it('maps an error event inside the stream (llama.cpp overflow) and a generic one', async () => {
    const overflow = {
      error: {
        code: 500,
        message: 'the request exceeds the available context size. try increasing the context size',
        type: 'exceed_context_size_error',
      },
    }
    server.reply(
      sseResponse([overflow]),
      sseResponse([{ error: { message: 'upstream model crashed', type: 'server_error', code: null } }]),
    )
    expect(await rejectionOf(collectEvents(model(), hello))).toBeInstanceOf(ContextWindowOverflowError)
    const generic = await rejectionOf(collectEvents(model(), hello))
    expect(generic).toBeInstanceOf(ModelError)
    expect((generic as Error).message).toContain('upstream model crashed')
  })

  it('reports a stream cut off before the finish reason as ModelError', async () => {
    server.reply(sseResponse(openAIChunks({ text: 'Half an ans' }).slice(0, 3)))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as Error).message).toContain('finish_reason')
  })

  it('reports a connection failure as ModelError', async () => {
    const unreachable = new OpenAIModel({
      model: 'gpt-4o',
      apiKey: 'sk-test',
      baseURL: 'http://127.0.0.1:1/v1',
      clientOptions: { maxRetries: 0 },
    })
    expect(await rejectionOf(collectEvents(unreachable, hello))).toBeInstanceOf(ModelError)
  })
  it('stops reading when the invocation is aborted mid-stream, surfacing InvocationAbortedError', async () => {
    server.reply({ ...openAIStream({ text: 'Once upon a time there was a test.' }), chunkDelayMs: 30 })
    const { texts, error } = await abortAtFirstTextDelta(model())
    expect(error).toBeInstanceOf(InvocationAbortedError)
    expect(texts).toEqual(['Once'])
  })
})

describe('OpenAIModel response validation', () => {
  it('turns a malformed completion into ValidationError naming the provider', async () => {
    server.reply({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'x', object: 'chat.completion', choices: 'none' }),
    })
    const error = await rejectionOf(collectEvents(model(false), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('openai response')
  })

  it('turns a malformed stream chunk into ValidationError, not a TypeError', async () => {
    server.reply(
      sseResponse([
        { choices: [{ index: 0, delta: { tool_calls: [{ id: 'call_1', function: { name: 'f' } }] } }] },
        '[DONE]',
      ]),
    )
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('openai stream chunk')
    expect((error as ValidationError).message).toContain('index')
  })

  it('rejects tool call arguments that are not JSON through the Agent as ValidationError', async () => {
    server.reply(
      openAIStream({ toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city": Par' }] }),
    )
    const error = await rejectionOf(new Agent({ model: model() }).run('Weather?'))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('openai tool call input')
  })
})
