import { ThrottlingException } from '@aws-sdk/client-bedrock-runtime'
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
import { BedrockModel } from '../../src/models/bedrock/index.ts'
import {
  bedrockError,
  converseResponse,
  converseStream,
  converseStreamFrames,
  eventFrame,
  eventStreamResponse,
  exceptionFrame,
} from '../support/bedrock-wire-format.ts'
import { abortAtFirstTextDelta, collectEvents, rejectionOf } from '../support/collect-events.ts'
import { WireServer } from '../support/wire-server.ts'

let server: WireServer
beforeEach(async () => {
  server = await WireServer.start({ protocol: 'h2c' })
})
afterEach(() => server.close())

function model(streaming = true): BedrockModel {
  return new BedrockModel({
    model: 'us.anthropic.claude-sonnet-4-6-v1:0',
    region: 'us-east-1',
    clientConfig: {
      endpoint: server.url,
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
      maxAttempts: 1,
    },
    streaming,
  })
}

const hello = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Hello' }] }] }

describe('BedrockModel error mapping', () => {
  it.each([
    ['AccessDeniedException', "You don't have access to the model with the specified model ID."],
    ['UnrecognizedClientException', 'The security token included in the request is invalid.'],
  ])('turns a 403 %s into ModelAuthenticationError', async (errorType, message) => {
    server.reply(bedrockError(403, errorType, message))
    const error = await rejectionOf(new Agent({ model: model() }).run('Hello'))
    expect(error).toBeInstanceOf(ModelAuthenticationError)
    expect((error as Error).message).toContain(errorType)
    expect(((error as Error).cause as Error).name).toBe(errorType)
  })

  it('turns a 429 ThrottlingException into ModelRateLimitError, with retry-after when sent', async () => {
    server.reply(
      bedrockError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.', {
        'retry-after': '3',
      }),
      bedrockError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'),
    )
    const withHint = await rejectionOf(collectEvents(model(false), hello))
    expect(withHint).toBeInstanceOf(ModelRateLimitError)
    expect((withHint as ModelRateLimitError).retryAfterMs).toBe(3000)
    expect((withHint as Error).cause).toBeInstanceOf(ThrottlingException)
    const withoutHint = await rejectionOf(collectEvents(model(false), hello))
    expect((withoutHint as ModelRateLimitError).retryAfterMs).toBeUndefined()
  })

  it.each([
    'Input is too long for requested model.',
    'The model returned the following errors: prompt is too long: 200049 tokens > 200000 maximum',
    'The model returned the following errors: Input has too many input tokens.',
  ])('recognizes a ValidationException "%s" as a context overflow', async (message) => {
    server.reply(bedrockError(400, 'ValidationException', message))
    expect(await rejectionOf(collectEvents(model(), hello))).toBeInstanceOf(ContextWindowOverflowError)
  })

  it('keeps other ValidationExceptions as ModelError with the status', async () => {
    server.reply(
      bedrockError(400, 'ValidationException', 'A conversation must start with a user message. Try again.'),
    )
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as ModelError).status).toBe(400)
  })

  it('lets the sliding window trim the conversation and the Agent retry after an overflow', async () => {
    server.reply(
      bedrockError(400, 'ValidationException', 'Input is too long for requested model.'),
      converseStream({ content: [{ text: 'Fine now.' }] }),
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
    expect((server.body(1).messages as { role: string }[])[0]?.role).toBe('user')
  })

  it.each([
    ['throttlingException', 'Too many tokens, please wait before trying again.', ModelRateLimitError],
    ['validationException', 'Input is too long for requested model.', ContextWindowOverflowError],
    ['modelStreamErrorException', 'The model stream failed.', ModelError],
  ])('maps a %s frame inside the stream', async (exceptionType, message, expected) => {
    const frames = converseStreamFrames({ content: [{ text: 'Hello there' }] }).slice(0, 2)
    server.reply(eventStreamResponse([...frames, exceptionFrame(exceptionType, message)]))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(expected)
    expect((error as Error).message).toContain(message)
  })

  it('reports a stream cut off before messageStop as ModelError', async () => {
    server.reply(
      eventStreamResponse(converseStreamFrames({ content: [{ text: 'Half an answer' }] }).slice(0, 3)),
    )
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as Error).message).toContain('messageStop')
  })
  it('stops reading when the invocation is aborted mid-stream, surfacing InvocationAbortedError', async () => {
    server.reply({
      ...converseStream({ content: [{ text: 'Once upon a time there was a test.' }] }),
      chunkDelayMs: 30,
    })
    const { texts, error } = await abortAtFirstTextDelta(model())
    expect(error).toBeInstanceOf(InvocationAbortedError)
    expect(texts).toEqual(['Once'])
  })
})

describe('BedrockModel response validation', () => {
  it('turns a malformed Converse response into ValidationError naming the provider', async () => {
    const response = converseResponse({
      content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: {} } }],
    })
    response.body = JSON.stringify({
      output: { message: { role: 'assistant', content: [{ toolUse: { name: 'get_weather', input: {} } }] } },
      stopReason: 'tool_use',
    })
    server.reply(response)
    const error = await rejectionOf(collectEvents(model(false), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('bedrock response')
    expect((error as ValidationError).message).toContain('toolUseId')
  })

  it('turns a malformed stream event into ValidationError, not a TypeError', async () => {
    const frames = converseStreamFrames({ content: [{ text: 'Hi' }] })
    frames.splice(
      1,
      0,
      eventFrame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { name: 'f' } } }),
    )
    server.reply(eventStreamResponse(frames))
    const error = await rejectionOf(collectEvents(model(), hello))
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).source).toBe('bedrock stream event')
  })
})
