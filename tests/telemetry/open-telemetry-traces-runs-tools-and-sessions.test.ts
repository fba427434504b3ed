import { trace } from '@opentelemetry/api'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  Agent,
  type AgentStreamEvent,
  FileSessionRepository,
  RepositorySessionManager,
  tool,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const add = tool({
  name: 'add',
  description: 'Adds two numbers.',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  callback: ({ a, b }) => ({ sum: a + b }),
})

const failing = tool({
  name: 'lookup',
  description: 'Always fails.',
  inputSchema: z.object({}),
  callback: () => {
    throw new Error('the directory is down')
  },
})

function tracing() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { exporter, provider, tracer: provider.getTracer('test') }
}

const toolTurn = () =>
  new ScriptedModel({
    modelId: 'scripted-1',
    script: [
      {
        toolUses: [{ name: 'add', input: { a: 2, b: 3 }, toolUseId: 'call_1' }],
        usage: { inputTokens: 31, outputTokens: 7, totalTokens: 38 },
      },
      { text: '2 + 3 = 5.', usage: { inputTokens: 52, outputTokens: 9, totalTokens: 61 } },
    ],
  })

const named = (spans: ReadableSpan[], name: string) => spans.filter((span) => span.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

describe('OpenTelemetry tracing through @opentelemetry/api', () => {
  const tempDirectory = useTempDirectories()
  afterEach(() => {
    trace.disable()
  })

  it('a run with a tool call gives an invoke_agent span with restore, chat, execute_tool and append spans inside', async () => {
    const { exporter, tracer } = tracing()
    const directory = await tempDirectory()
    const agent = new Agent({
      model: toolTurn(),
      tools: [add],
      telemetry: { tracer },
      sessionManager: new RepositorySessionManager({
        sessionId: 'user-123',
        repository: new FileSessionRepository({ directory }),
      }),
    })
    const result = await agent.run('What is 2 + 3?')
    expect(result.output).toBe('2 + 3 = 5.')

    const spans = exporter.getFinishedSpans()
    const [invocation] = named(spans, 'invoke_agent default')
    expect(invocation?.attributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'default',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted-1',
      'gen_ai.conversation.id': 'user-123',
      'gen_ai.usage.input_tokens': 83,
      'gen_ai.usage.output_tokens': 16,
      'gen_ai.response.finish_reasons': ['endTurn'],
    })
    expect(parentOf(invocation as ReadableSpan)).toBeUndefined()
    const invocationId = invocation?.spanContext().spanId

    const chats = named(spans, 'chat scripted-1')
    expect(chats.map((span) => span.attributes)).toEqual([
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'scripted',
        'gen_ai.request.model': 'scripted-1',
        'gen_ai.usage.input_tokens': 31,
        'gen_ai.usage.output_tokens': 7,
        'gen_ai.response.finish_reasons': ['toolUse'],
      },
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'scripted',
        'gen_ai.request.model': 'scripted-1',
        'gen_ai.usage.input_tokens': 52,
        'gen_ai.usage.output_tokens': 9,
        'gen_ai.response.finish_reasons': ['endTurn'],
      },
    ])
    expect(chats.map((span) => span.kind)).toEqual([2, 2]) // SpanKind.CLIENT

    const [toolSpan] = named(spans, 'execute_tool add')
    expect(toolSpan?.attributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.type': 'function',
    })
    expect(toolSpan?.status.code).toBe(0) // UNSET: it worked

    const [restore] = named(spans, 'tether.session.restore')
    expect(restore?.attributes).toMatchObject({
      'tether.session.id': 'user-123',
      'tether.session.store': 'FileSessionRepository',
      'tether.session.messages': 0,
      'tether.session.stored_messages': 0,
      'tether.session.repairs': 0,
    })

    const appends = named(spans, 'tether.session.append')
    expect(
      appends.map((span) => [
        span.attributes['tether.session.index'],
        span.attributes['tether.session.message_role'],
      ]),
    ).toEqual([
      [0, 'user'],
      [1, 'assistant'],
      [2, 'user'],
      [3, 'assistant'],
    ])
    const stored = await new FileSessionRepository({ directory }).readMessages({
      sessionId: 'user-123',
      agentId: 'default',
    })
    expect(appends.map((span) => span.attributes['tether.session.bytes'])).toEqual(
      stored.map((record) => Buffer.byteLength(JSON.stringify(record.message))),
    )

    // One trace: everything the run did is a direct child of its invoke_agent span.
    for (const span of [...chats, toolSpan, restore, ...appends]) {
      expect(parentOf(span as ReadableSpan), span?.name).toBe(invocationId)
      expect(span?.spanContext().traceId).toBe(invocation?.spanContext().traceId)
    }
    expect(spans).toHaveLength(1 + 2 + 1 + 1 + 4)
  })

  it('a restore in a new agent is a span saying the store, the window and the bytes read', async () => {
    const directory = await tempDirectory()
    const sessionId = 'user-7'
    const writer = new Agent({
      model: toolTurn(),
      tools: [add],
      telemetry: { enabled: false },
      sessionManager: new RepositorySessionManager({
        sessionId,
        repository: new FileSessionRepository({ directory }),
      }),
    })
    await writer.run('What is 2 + 3?')

    const { exporter, tracer } = tracing()
    const reader = new Agent({
      model: new ScriptedModel(),
      telemetry: { tracer },
      sessionManager: new RepositorySessionManager({
        sessionId,
        repository: new FileSessionRepository({ directory }),
      }),
    })
    await reader.initialize()
    expect(reader.messages).toHaveLength(4)

    const spans = exporter.getFinishedSpans()
    expect(spans.map((span) => span.name)).toEqual(['tether.session.restore'])
    expect(spans[0]?.attributes).toEqual({
      'tether.session.id': 'user-7',
      'tether.session.agent_id': 'default',
      'tether.session.store': 'FileSessionRepository',
      'tether.session.window_start': 0,
      'tether.session.messages': 4,
      'tether.session.stored_messages': 4,
      'tether.session.repairs': 0,
      'tether.session.bytes': Buffer.byteLength(JSON.stringify(reader.messages)),
    })
    expect(parentOf(spans[0] as ReadableSpan)).toBeUndefined()
  })

  it('a tool that fails and a model that fails mark their spans as errors', async () => {
    const { exporter, tracer } = tracing()
    const model = new ScriptedModel({
      script: [
        { toolUses: [{ name: 'lookup', input: {}, toolUseId: 'call_9' }] },
        { error: new Error('model is down') },
      ],
    })
    const agent = new Agent({ model, tools: [failing], telemetry: { tracer } })
    await expect(agent.run('Look it up.')).rejects.toThrow('model is down')

    const spans = exporter.getFinishedSpans()
    const [toolSpan] = named(spans, 'execute_tool lookup')
    expect(toolSpan?.status).toEqual({ code: 2, message: expect.stringContaining('the directory is down') })
    const [, failedChat] = named(spans, 'chat scripted-model')
    expect(failedChat?.status).toEqual({ code: 2, message: 'model is down' })
    expect(failedChat?.attributes['error.type']).toBe('Error')
    const [invocation] = named(spans, 'invoke_agent default')
    expect(invocation?.status.code).toBe(2)
    expect(invocation?.events.map((event) => event.name)).toEqual(['exception'])
  })

  it('a caller that stops reading the stream mid-reply still gets both spans ended', async () => {
    const { exporter, tracer } = tracing()
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'a long reply in many small chunks' } }),
      telemetry: { tracer },
    })
    for await (const event of agent.stream('Tell me a story.')) if (event.type === 'text-delta') break
    const spans = exporter.getFinishedSpans()
    expect(spans.map((span) => [span.name, span.status.code])).toEqual([
      ['chat scripted-model', 2],
      ['invoke_agent default', 0],
    ])
  })

  it('with no tracer given, spans go to the tracer provider the app registered; enabled: false loads nothing', async () => {
    const { exporter, provider } = tracing()
    trace.setGlobalTracerProvider(provider)
    await new Agent({ model: new ScriptedModel({ fallback: { text: 'hi' } }) }).run('hello')
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      'chat scripted-model',
      'invoke_agent default',
    ])
    expect(exporter.getFinishedSpans()[0]?.instrumentationScope.name).toBe('tether-agents')

    exporter.reset()
    await new Agent({
      model: new ScriptedModel({ fallback: { text: 'hi' } }),
      telemetry: { enabled: false },
    }).run('hello')
    expect(exporter.getFinishedSpans()).toEqual([])
  })

  it('hooks and stream events report each model call with its usage', async () => {
    const agent = new Agent({ model: toolTurn(), tools: [add] })
    const calls: string[] = []
    agent.hooks.on('model-call-start', ({ request }) => {
      calls.push(`start with ${request.messages.length} messages and ${request.tools?.length ?? 0} tools`)
    })
    agent.hooks.on('model-call-end', ({ usage, stopReason }) => {
      calls.push(`end ${stopReason} ${usage?.inputTokens}/${usage?.outputTokens}`)
    })
    const events: AgentStreamEvent[] = []
    for await (const event of agent.stream('What is 2 + 3?')) events.push(event)
    expect(calls).toEqual([
      'start with 1 messages and 1 tools',
      'end toolUse 31/7',
      'start with 3 messages and 1 tools',
      'end endTurn 52/9',
    ])
    expect(events.filter((event) => event.type === 'model-call-end')).toEqual([
      {
        type: 'model-call-end',
        stopReason: 'toolUse',
        usage: { inputTokens: 31, outputTokens: 7, totalTokens: 38 },
      },
      {
        type: 'model-call-end',
        stopReason: 'endTurn',
        usage: { inputTokens: 52, outputTokens: 9, totalTokens: 61 },
      },
    ])
  })
})
