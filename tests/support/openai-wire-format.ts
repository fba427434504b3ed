import { pieces } from './pieces.ts'
import type { WireResponse } from './wire-server.ts'

/*
 * Chat Completions responses shaped like the ones in OpenAI's API reference: a `chat.completion`
 * object, or `chat.completion.chunk` objects as server-sent events (`data: {...}` lines, then
 * `data: [DONE]`), with the usage in a last chunk whose `choices` is empty when
 * `stream_options.include_usage` is set.
 */

export interface OpenAIReplyScript {
  text?: string
  reasoningContent?: string
  toolCalls?: { id: string; name: string; arguments: string }[]
  finishReason?: string
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
}

const defaultUsage = { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37 }
const base = { id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG', created: 1741570283, model: 'gpt-4o-2024-08-06' }

export function openAICompletion(script: OpenAIReplyScript): WireResponse {
  const toolCalls = script.toolCalls?.map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }))
  const body = {
    ...base,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: script.text ?? null,
          refusal: null,
          annotations: [],
          ...(script.reasoningContent === undefined ? {} : { reasoning_content: script.reasoningContent }),
          ...(toolCalls ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: script.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
      },
    ],
    usage: {
      ...(script.usage ?? defaultUsage),
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fc9f1d7035',
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

function chunk(delta: object, finishReason: string | null = null): object {
  return {
    ...base,
    object: 'chat.completion.chunk',
    system_fingerprint: 'fp_fc9f1d7035',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  }
}

/** The chunk objects of a streamed reply, before SSE framing (tests can tamper with them). */
export function openAIChunks(script: OpenAIReplyScript): object[] {
  const chunks: object[] = [chunk({ role: 'assistant', content: '', refusal: null })]
  for (const piece of pieces(script.reasoningContent ?? '')) chunks.push(chunk({ reasoning_content: piece }))
  for (const piece of pieces(script.text ?? '')) chunks.push(chunk({ content: piece }))
  for (const [index, call] of (script.toolCalls ?? []).entries()) {
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    )
    for (const piece of pieces(call.arguments, 6)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }))
    }
  }
  const finishReason = script.finishReason ?? (script.toolCalls ? 'tool_calls' : 'stop')
  chunks.push(chunk({}, finishReason))
  chunks.push({
    ...base,
    object: 'chat.completion.chunk',
    system_fingerprint: 'fp_fc9f1d7035',
    choices: [],
    usage: script.usage ?? defaultUsage,
  })
  return chunks
}

export function sseResponse(events: (object | string)[]): WireResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    chunks: events.map((event) => `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`),
    body: '',
  }
}

export function openAIStream(script: OpenAIReplyScript): WireResponse {
  return sseResponse([...openAIChunks(script), '[DONE]'])
}

/** An error response in OpenAI's `{ error: { message, type, param, code } }` shape. */
export function openAIError(
  status: number,
  error: { message: string; type: string; code: string | null },
  headers: Record<string, string> = {},
): WireResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error: { ...error, param: null } }),
  }
}
