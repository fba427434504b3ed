import { z } from 'zod'
import type { ModelStreamEvent, StopReason, Usage } from '../model.ts'
import { ModelError } from '../model-errors.ts'
import { parseProviderData } from '../parse-provider-data.ts'

/*
 * Only the fields we read are checked. Block and event types we do not use (server tool blocks,
 * citations, ping) are skipped without failing: Anthropic adds new ones over time and documents
 * that clients should ignore those they do not know.
 */
const STREAM_SOURCE = 'anthropic stream event'
const RESPONSE_SOURCE = 'anthropic response'

const usageSchema = z.object({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  cache_creation_input_tokens: z.number().nullish(),
  cache_read_input_tokens: z.number().nullish(),
})
type WireUsage = z.output<typeof usageSchema>

const blockSchemas = {
  text: z.object({ text: z.string() }),
  tool_use: z.object({ id: z.string().min(1), name: z.string().min(1), input: z.unknown() }),
  thinking: z.object({ thinking: z.string(), signature: z.string().nullish() }),
  redacted_thinking: z.object({ data: z.string() }),
}

const deltaSchemas = {
  text_delta: z.object({ text: z.string() }),
  input_json_delta: z.object({ partial_json: z.string() }),
  thinking_delta: z.object({ thinking: z.string() }),
  signature_delta: z.object({ signature: z.string() }),
}

// Loose, so the fields of the specific block or event survive for the second, specific parse.
const typed = z.looseObject({ type: z.string() })

const eventSchemas = {
  message_start: z.object({ message: z.object({ usage: usageSchema }) }),
  content_block_start: z.object({ index: z.number(), content_block: typed }),
  content_block_delta: z.object({ index: z.number(), delta: typed }),
  content_block_stop: z.object({ index: z.number() }),
  message_delta: z.object({
    delta: z.object({ stop_reason: z.string().nullish() }),
    usage: usageSchema.nullish(),
  }),
  message_stop: z.object({}),
}

const messageSchema = z.object({
  content: z.array(typed),
  stop_reason: z.string().nullish(),
  usage: usageSchema,
})

/** Input tokens include the cached ones: Anthropic counts them apart, but they fill the context all the same. */
function toUsage(usage: WireUsage): Usage {
  const inputTokens =
    (usage.input_tokens ?? 0) +
    (usage.cache_creation_input_tokens ?? 0) +
    (usage.cache_read_input_tokens ?? 0)
  const outputTokens = usage.output_tokens ?? 0
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
}

function toStopReason(stopReason: string | null | undefined): StopReason {
  switch (stopReason) {
    case 'tool_use':
      return 'toolUse'
    case 'max_tokens':
    // The reply filled the model's context window: like max_tokens, the answer is cut short.
    case 'model_context_window_exceeded':
      return 'maxTokens'
    case 'stop_sequence':
      return 'stopSequence'
    case 'refusal':
      return 'contentFiltered'
    // end_turn; pause_turn (a server tool paused a long turn; the reply so far is complete); new values.
    default:
      return 'endTurn'
  }
}

/** Events for one content block as a whole (a non-streamed response, or a block's start event). */
function* blockEvents(source: string, block: z.output<typeof typed>): Generator<ModelStreamEvent> {
  switch (block.type) {
    case 'text': {
      const { text } = parseProviderData(source, blockSchemas.text, block)
      if (text) yield { type: 'text-delta', text }
      return
    }
    case 'thinking': {
      const { thinking, signature } = parseProviderData(source, blockSchemas.thinking, block)
      yield { type: 'reasoning-delta', text: thinking, ...(signature ? { signature } : {}) }
      return
    }
    case 'redacted_thinking': {
      const { data } = parseProviderData(source, blockSchemas.redacted_thinking, block)
      yield { type: 'reasoning-delta', text: '', redactedData: data }
      return
    }
  }
}

/**
 * Turns Messages API stream events into model events: `message_start` carries the input usage,
 * each content block streams between `content_block_start` and `content_block_stop`,
 * `message_delta` carries the stop reason and the final output usage, `message_stop` ends it.
 */
export class MessagesStreamTranslator {
  /** content block index → tool use id, for the tool blocks that are open. */
  readonly #toolBlocks = new Map<number, string>()
  #usage: WireUsage = {}
  #ended = false
  // Kept last: a field with an initializer right before `*add` would read as a multiplication.
  #stopReason: string | null | undefined;

  *add(rawEvent: unknown): Generator<ModelStreamEvent> {
    const { type } = parseProviderData(STREAM_SOURCE, typed, rawEvent)
    switch (type) {
      case 'message_start': {
        this.#usage = parseProviderData(STREAM_SOURCE, eventSchemas.message_start, rawEvent).message.usage
        return
      }
      case 'content_block_start': {
        const event = parseProviderData(STREAM_SOURCE, eventSchemas.content_block_start, rawEvent)
        if (event.content_block.type === 'tool_use') {
          const block = parseProviderData(STREAM_SOURCE, blockSchemas.tool_use, event.content_block)
          this.#toolBlocks.set(event.index, block.id)
          // The input arrives in input_json_delta events; the start carries an empty object.
          yield { type: 'tool-use-start', toolUseId: block.id, name: block.name }
          return
        }
        // A thinking block starts empty; its text and signature follow as deltas.
        if (event.content_block.type === 'thinking') return
        yield* blockEvents(STREAM_SOURCE, event.content_block)
        return
      }
      case 'content_block_delta': {
        const event = parseProviderData(STREAM_SOURCE, eventSchemas.content_block_delta, rawEvent)
        yield* this.#delta(event.index, event.delta)
        return
      }
      case 'content_block_stop': {
        const { index } = parseProviderData(STREAM_SOURCE, eventSchemas.content_block_stop, rawEvent)
        const toolUseId = this.#toolBlocks.get(index)
        if (toolUseId === undefined) return
        this.#toolBlocks.delete(index)
        yield { type: 'tool-use-end', toolUseId }
        return
      }
      case 'message_delta': {
        const event = parseProviderData(STREAM_SOURCE, eventSchemas.message_delta, rawEvent)
        this.#stopReason = event.delta.stop_reason
        // Counts in message_delta are cumulative, so they replace the ones from message_start.
        for (const [field, value] of Object.entries(event.usage ?? {})) {
          if (typeof value === 'number') this.#usage = { ...this.#usage, [field]: value }
        }
        return
      }
      case 'message_stop': {
        this.#ended = true
        yield { type: 'message-end', stopReason: toStopReason(this.#stopReason), usage: toUsage(this.#usage) }
        return
      }
    }
  }

  *#delta(index: number, delta: z.output<typeof typed>): Generator<ModelStreamEvent> {
    switch (delta.type) {
      case 'text_delta':
        yield {
          type: 'text-delta',
          text: parseProviderData(STREAM_SOURCE, deltaSchemas.text_delta, delta).text,
        }
        return
      case 'input_json_delta': {
        const toolUseId = this.#toolBlocks.get(index)
        const { partial_json } = parseProviderData(STREAM_SOURCE, deltaSchemas.input_json_delta, delta)
        if (toolUseId !== undefined && partial_json) {
          yield { type: 'tool-use-input-delta', toolUseId, inputDelta: partial_json }
        }
        return
      }
      case 'thinking_delta': {
        const { thinking } = parseProviderData(STREAM_SOURCE, deltaSchemas.thinking_delta, delta)
        yield { type: 'reasoning-delta', text: thinking }
        return
      }
      case 'signature_delta': {
        const { signature } = parseProviderData(STREAM_SOURCE, deltaSchemas.signature_delta, delta)
        yield { type: 'reasoning-delta', text: '', signature }
        return
      }
    }
  }

  /** Called once the stream is over; a stream without `message_stop` was cut off. */
  finish(): void {
    if (!this.#ended) {
      throw new ModelError('anthropic', 'the stream ended before message_stop (the response was cut off)')
    }
  }
}

/** Turns a whole (non-streamed) message into the same events a stream would give. */
export function* messageEvents(rawMessage: unknown): Generator<ModelStreamEvent> {
  const message = parseProviderData(RESPONSE_SOURCE, messageSchema, rawMessage)
  for (const block of message.content) {
    if (block.type === 'tool_use') {
      const { id, name, input } = parseProviderData(RESPONSE_SOURCE, blockSchemas.tool_use, block)
      yield { type: 'tool-use-start', toolUseId: id, name }
      yield { type: 'tool-use-input-delta', toolUseId: id, inputDelta: JSON.stringify(input ?? {}) }
      yield { type: 'tool-use-end', toolUseId: id }
    } else {
      yield* blockEvents(RESPONSE_SOURCE, block)
    }
  }
  yield { type: 'message-end', stopReason: toStopReason(message.stop_reason), usage: toUsage(message.usage) }
}
