import { z } from 'zod'
import type { ModelStreamEvent, StopReason, Usage } from '../model.ts'
import { ModelError } from '../model-errors.ts'
import { parseProviderData } from '../parse-provider-data.ts'
import { bytesToBase64 } from './base64.ts'

/*
 * The SDK has already decoded the wire format into objects; these schemas check the fields we
 * read. Each stream event and content block is a union with one member set; members we do not
 * use (citations, guard content, new ones) are skipped.
 */
const STREAM_SOURCE = 'bedrock stream event'
const RESPONSE_SOURCE = 'bedrock response'

const bytes = z.instanceof(Uint8Array)

const usageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadInputTokens: z.number().nullish(),
  cacheWriteInputTokens: z.number().nullish(),
})
type WireUsage = z.output<typeof usageSchema>

const toolUseSchema = z.object({ toolUseId: z.string().min(1), name: z.string().min(1), input: z.unknown() })

const reasoningBlockSchema = z.object({
  reasoningText: z.object({ text: z.string(), signature: z.string().nullish() }).nullish(),
  redactedContent: bytes.nullish(),
})

const contentBlockSchema = z.object({
  text: z.string().nullish(),
  toolUse: toolUseSchema.nullish(),
  reasoningContent: reasoningBlockSchema.nullish(),
})

const converseOutputSchema = z.object({
  output: z.object({ message: z.object({ content: z.array(contentBlockSchema) }) }),
  stopReason: z.string(),
  usage: usageSchema.nullish(),
})

const streamEventSchema = z.object({
  contentBlockStart: z
    .object({
      contentBlockIndex: z.number(),
      start: z.object({ toolUse: toolUseSchema.omit({ input: true }).nullish() }).nullish(),
    })
    .nullish(),
  contentBlockDelta: z
    .object({
      contentBlockIndex: z.number(),
      delta: z.object({
        text: z.string().nullish(),
        toolUse: z.object({ input: z.string() }).nullish(),
        reasoningContent: z
          .object({
            text: z.string().nullish(),
            signature: z.string().nullish(),
            redactedContent: bytes.nullish(),
          })
          .nullish(),
      }),
    })
    .nullish(),
  contentBlockStop: z.object({ contentBlockIndex: z.number() }).nullish(),
  messageStop: z.object({ stopReason: z.string() }).nullish(),
  metadata: z.object({ usage: usageSchema.nullish() }).nullish(),
})

/** Input tokens include cache reads and writes: counted apart, they fill the context all the same. */
function toUsage(usage: WireUsage | null | undefined): Usage {
  if (!usage) return { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
  const inputTokens =
    usage.inputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0)
  return { inputTokens, outputTokens: usage.outputTokens, totalTokens: inputTokens + usage.outputTokens }
}

function toStopReason(stopReason: string): StopReason {
  switch (stopReason) {
    case 'tool_use':
      return 'toolUse'
    case 'max_tokens':
    // The reply filled the model's context window: like max_tokens, the answer is cut short.
    case 'model_context_window_exceeded':
      return 'maxTokens'
    case 'stop_sequence':
      return 'stopSequence'
    case 'guardrail_intervened':
      return 'guardrailIntervened'
    case 'content_filtered':
      return 'contentFiltered'
    // end_turn, and values added after this was written.
    default:
      return 'endTurn'
  }
}

/**
 * Turns ConverseStream events into model events. The stop reason (messageStop) arrives before
 * the usage (metadata), so the message ends once the stream is over.
 */
export class ConverseStreamTranslator {
  /** content block index → tool use id, for the tool blocks that are open. */
  readonly #toolBlocks = new Map<number, string>()
  #usage: WireUsage | null | undefined
  #stopReason: string | undefined;

  *add(rawEvent: unknown): Generator<ModelStreamEvent> {
    const event = parseProviderData(STREAM_SOURCE, streamEventSchema, rawEvent)
    const toolStart = event.contentBlockStart?.start?.toolUse
    if (event.contentBlockStart && toolStart) {
      this.#toolBlocks.set(event.contentBlockStart.contentBlockIndex, toolStart.toolUseId)
      yield { type: 'tool-use-start', toolUseId: toolStart.toolUseId, name: toolStart.name }
    }
    if (event.contentBlockDelta) {
      const { contentBlockIndex, delta } = event.contentBlockDelta
      if (delta.text) yield { type: 'text-delta', text: delta.text }
      const toolUseId = this.#toolBlocks.get(contentBlockIndex)
      if (delta.toolUse?.input && toolUseId !== undefined) {
        yield { type: 'tool-use-input-delta', toolUseId, inputDelta: delta.toolUse.input }
      }
      const reasoning = delta.reasoningContent
      if (reasoning) {
        yield {
          type: 'reasoning-delta',
          text: reasoning.text ?? '',
          ...(reasoning.signature ? { signature: reasoning.signature } : {}),
          ...(reasoning.redactedContent ? { redactedData: bytesToBase64(reasoning.redactedContent) } : {}),
        }
      }
    }
    if (event.contentBlockStop) {
      const toolUseId = this.#toolBlocks.get(event.contentBlockStop.contentBlockIndex)
      if (toolUseId !== undefined) {
        this.#toolBlocks.delete(event.contentBlockStop.contentBlockIndex)
        yield { type: 'tool-use-end', toolUseId }
      }
    }
    if (event.messageStop) this.#stopReason = event.messageStop.stopReason
    if (event.metadata) this.#usage = event.metadata.usage
  }

  /** Called once the stream is over; a stream without messageStop was cut off. */
  *finish(): Generator<ModelStreamEvent> {
    if (this.#stopReason === undefined) {
      throw new ModelError('bedrock', 'the stream ended before messageStop (the response was cut off)')
    }
    yield { type: 'message-end', stopReason: toStopReason(this.#stopReason), usage: toUsage(this.#usage) }
  }
}

/** Turns a whole Converse response into the same events a stream would give. */
export function* converseEvents(rawOutput: unknown): Generator<ModelStreamEvent> {
  const response = parseProviderData(RESPONSE_SOURCE, converseOutputSchema, rawOutput)
  for (const block of response.output.message.content) {
    if (block.text) yield { type: 'text-delta', text: block.text }
    if (block.toolUse) {
      const { toolUseId, name, input } = block.toolUse
      yield { type: 'tool-use-start', toolUseId, name }
      yield { type: 'tool-use-input-delta', toolUseId, inputDelta: JSON.stringify(input ?? {}) }
      yield { type: 'tool-use-end', toolUseId }
    }
    const reasoning = block.reasoningContent
    if (reasoning?.reasoningText) {
      const { text, signature } = reasoning.reasoningText
      yield { type: 'reasoning-delta', text, ...(signature ? { signature } : {}) }
    }
    if (reasoning?.redactedContent) {
      yield { type: 'reasoning-delta', text: '', redactedData: bytesToBase64(reasoning.redactedContent) }
    }
  }
  yield { type: 'message-end', stopReason: toStopReason(response.stopReason), usage: toUsage(response.usage) }
}
