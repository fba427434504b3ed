import { pieces } from './pieces.ts'
import type { WireResponse } from './wire-server.ts'

/*
 * Messages API responses shaped like the ones in Anthropic's API reference: a `message` object,
 * or named server-sent events (`event: <type>` + `data: {...}`): message_start, then per content
 * block content_block_start / content_block_delta... / content_block_stop, then message_delta
 * (stop reason, cumulative output usage) and message_stop, with a ping along the way.
 */

export type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }

export interface AnthropicReplyScript {
  content: AnthropicBlock[]
  stopReason?: string
  usage?: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number }
}

const defaultUsage = { input_tokens: 30, output_tokens: 15 }

function messageObject(script: AnthropicReplyScript, content: AnthropicBlock[], stopReason: string | null) {
  return {
    id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-6',
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: {
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      service_tier: 'standard',
      ...(script.usage ?? defaultUsage),
    },
  }
}

function defaultStopReason(script: AnthropicReplyScript): string {
  return (
    script.stopReason ?? (script.content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn')
  )
}

export function anthropicMessage(script: AnthropicReplyScript): WireResponse {
  const body = messageObject(script, script.content, defaultStopReason(script))
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** The events of a streamed reply, before SSE framing (tests can tamper with them). */
export function anthropicEvents(script: AnthropicReplyScript): object[] {
  const usage = script.usage ?? defaultUsage
  const events: object[] = [
    {
      type: 'message_start',
      message: messageObject({ ...script, usage: { ...usage, output_tokens: 1 } }, [], null),
    },
    { type: 'ping' },
  ]
  for (const [index, block] of script.content.entries()) {
    switch (block.type) {
      case 'text':
        events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
        for (const text of pieces(block.text)) {
          events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } })
        }
        break
      case 'tool_use':
        events.push({
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        })
        for (const partial_json of ['', ...pieces(JSON.stringify(block.input), 5)]) {
          events.push({
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json },
          })
        }
        break
      case 'thinking':
        events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } })
        for (const thinking of pieces(block.thinking)) {
          events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } })
        }
        events.push({
          type: 'content_block_delta',
          index,
          delta: { type: 'signature_delta', signature: block.signature },
        })
        break
      case 'redacted_thinking':
        events.push({ type: 'content_block_start', index, content_block: block })
        break
    }
    events.push({ type: 'content_block_stop', index })
  }
  events.push(
    {
      type: 'message_delta',
      delta: { stop_reason: defaultStopReason(script), stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    },
    { type: 'message_stop' },
  )
  return events
}

export function anthropicSse(events: object[]): WireResponse {
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
    chunks: events.map((event) => {
      const type = (event as { type?: unknown }).type
      return `event: ${String(type)}\ndata: ${JSON.stringify(event)}\n\n`
    }),
    body: '',
  }
}

export function anthropicStream(script: AnthropicReplyScript): WireResponse {
  return anthropicSse(anthropicEvents(script))
}

/** An error response in Anthropic's `{ type: 'error', error: { type, message } }` shape. */
export function anthropicError(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): WireResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'request-id': 'req_011CSHoEeqs5C35K2UUqR7Fy', ...headers },
    body: JSON.stringify({
      type: 'error',
      error: { type, message },
      request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy',
    }),
  }
}
