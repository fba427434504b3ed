import { EventStreamCodec } from '@smithy/core/event-streams'
import { pieces } from './pieces.ts'
import type { WireResponse } from './wire-server.ts'

/*
 * Converse responses shaped like the ones in the Amazon Bedrock API reference. ConverseStream
 * answers in the binary `application/vnd.amazon.eventstream` framing: each frame has a prelude
 * (total and header lengths, CRC32), headers (`:event-type`, `:content-type`, `:message-type`), a
 * JSON payload and a CRC32 of the whole. The frames are encoded with the codec of @smithy/core,
 * which the Bedrock client depends on (and uses to decode them), so the framing is the real one.
 * Bedrock pads payloads with a random `p` field; it is reproduced here.
 */

const codec = new EventStreamCodec(
  (bytes) => new TextDecoder().decode(bytes),
  (text) => new TextEncoder().encode(text),
)

export type BedrockBlock =
  | { text: string }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { reasoningContent: { reasoningText: { text: string; signature: string } } }
  | { reasoningContent: { redactedContent: string } }

export interface BedrockReplyScript {
  content: BedrockBlock[]
  stopReason?: string
  usage?: { inputTokens: number; outputTokens: number; totalTokens: number; cacheReadInputTokens?: number }
}

const defaultUsage = { inputTokens: 40, outputTokens: 20, totalTokens: 60 }

function defaultStopReason(script: BedrockReplyScript): string {
  return script.stopReason ?? (script.content.some((block) => 'toolUse' in block) ? 'tool_use' : 'end_turn')
}

export function converseResponse(script: BedrockReplyScript): WireResponse {
  const body = {
    output: { message: { role: 'assistant', content: script.content } },
    stopReason: defaultStopReason(script),
    usage: script.usage ?? defaultUsage,
    metrics: { latencyMs: 412 },
  }
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': 'c6e8b1f4-2b4e-4e39-9d7e-0e4f6f1c0a11',
    },
    body: JSON.stringify(body),
  }
}

/** One event frame, e.g. `eventFrame('messageStart', { role: 'assistant' })`. */
export function eventFrame(eventType: string, payload: object): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: new TextEncoder().encode(JSON.stringify({ ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEF' })),
  })
}

/** An exception frame, as Bedrock sends when a stream fails midway, e.g. `throttlingException`. */
export function exceptionFrame(exceptionType: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':exception-type': { type: 'string', value: exceptionType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'exception' },
    },
    body: new TextEncoder().encode(JSON.stringify({ message })),
  })
}

/** The frames of a streamed reply (tests can drop or replace some). */
export function converseStreamFrames(script: BedrockReplyScript): Uint8Array[] {
  const frames = [eventFrame('messageStart', { role: 'assistant' })]
  for (const [contentBlockIndex, block] of script.content.entries()) {
    const delta = (value: object) => eventFrame('contentBlockDelta', { contentBlockIndex, delta: value })
    if ('text' in block) {
      for (const text of pieces(block.text)) frames.push(delta({ text }))
    } else if ('toolUse' in block) {
      const { toolUseId, name, input } = block.toolUse
      frames.push(
        eventFrame('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId, name } } }),
      )
      for (const piece of pieces(JSON.stringify(input), 5)) frames.push(delta({ toolUse: { input: piece } }))
    } else if ('reasoningText' in block.reasoningContent) {
      const { text, signature } = block.reasoningContent.reasoningText
      for (const piece of pieces(text)) frames.push(delta({ reasoningContent: { text: piece } }))
      frames.push(delta({ reasoningContent: { signature } }))
    } else {
      frames.push(delta({ reasoningContent: { redactedContent: block.reasoningContent.redactedContent } }))
    }
    frames.push(eventFrame('contentBlockStop', { contentBlockIndex }))
  }
  frames.push(
    eventFrame('messageStop', { stopReason: defaultStopReason(script) }),
    eventFrame('metadata', { usage: script.usage ?? defaultUsage, metrics: { latencyMs: 412 } }),
  )
  return frames
}

export function eventStreamResponse(frames: Uint8Array[]): WireResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': 'c6e8b1f4-2b4e-4e39-9d7e-0e4f6f1c0a11',
    },
    chunks: frames,
    body: '',
  }
}

export function converseStream(script: BedrockReplyScript): WireResponse {
  return eventStreamResponse(converseStreamFrames(script))
}

/** An HTTP error as Bedrock sends it: the exception name in `x-amzn-errortype`, the message in the body. */
export function bedrockError(
  status: number,
  errorType: string,
  message: string,
  headers: Record<string, string> = {},
): WireResponse {
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': 'c6e8b1f4-2b4e-4e39-9d7e-0e4f6f1c0a11',
      ...headers,
    },
    body: JSON.stringify({ message }),
  }
}
