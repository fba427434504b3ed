import { z } from 'zod'
import { ValidationError } from '../../errors/validation-error.ts'
import type { ModelStreamEvent, StopReason, Usage } from '../model.ts'
import { ModelError } from '../model-errors.ts'
import { parseProviderData } from '../parse-provider-data.ts'

/*
 * Only the fields we read are checked. `reasoning_content` (vLLM, DeepSeek, llama.cpp) and
 * `reasoning` (Ollama, OpenRouter) are extensions of OpenAI-compatible servers that stream the
 * model's reasoning; OpenAI itself never sends them.
 */
const usageSchema = z.object({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number().nullish(),
})

const toolCallDeltaSchema = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
})

const chunkSchema = z.object({
  choices: z.array(
    z.object({
      index: z.number().nullish(),
      delta: z
        .object({
          content: z.string().nullish(),
          reasoning_content: z.string().nullish(),
          reasoning: z.string().nullish(),
          tool_calls: z.array(toolCallDeltaSchema).nullish(),
        })
        .nullish(),
      finish_reason: z.string().nullish(),
    }),
  ),
  usage: usageSchema.nullish(),
})

const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          reasoning_content: z.string().nullish(),
          reasoning: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({
                id: z.string().min(1),
                function: z.object({ name: z.string().min(1), arguments: z.string() }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: usageSchema.nullish(),
})

function toUsage(usage: z.output<typeof usageSchema> | null | undefined): Usage {
  if (!usage) return { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
  const total = usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens
  return { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens, totalTokens: total }
}

/**
 * Unknown reasons (compatible servers invent some) end the turn. Some servers, older Ollama among
 * them, answer `stop` even when the reply holds tool calls, so tool calls decide `toolUse`.
 */
function toStopReason(finishReason: string, hadToolCalls: boolean): StopReason {
  if (hadToolCalls && (finishReason === 'stop' || finishReason === 'tool_calls')) return 'toolUse'
  switch (finishReason) {
    case 'tool_calls':
    case 'function_call':
      return 'toolUse'
    case 'length':
      return 'maxTokens'
    case 'content_filter':
      return 'contentFiltered'
    default:
      return 'endTurn'
  }
}

/**
 * Turns streamed chat completion chunks into model events. Tool calls arrive as fragments keyed
 * by `index`: the first fragment of an index carries the id and name, later ones pieces of the
 * arguments. All open tool calls end at the finish reason; usage comes last, in a chunk with no
 * choices, when `stream_options.include_usage` is set (compatible servers may omit it).
 */
export class ChatCompletionsStreamTranslator {
  /** index → the id of the tool call currently open at that index. */
  readonly #openToolCalls = new Map<number, string>()
  #hadToolCalls = false
  #finishReason: string | undefined
  #usage: Usage | undefined;

  *add(rawChunk: unknown): Generator<ModelStreamEvent> {
    const chunk = parseProviderData('openai stream chunk', chunkSchema, rawChunk)
    if (chunk.usage) this.#usage = toUsage(chunk.usage)
    // With n = 1 (the default, and all we ask for) there is one choice, index 0.
    const choice = chunk.choices.find((candidate) => (candidate.index ?? 0) === 0)
    if (!choice) return
    const delta = choice.delta
    const reasoning = delta?.reasoning_content ?? delta?.reasoning
    if (reasoning) yield { type: 'reasoning-delta', text: reasoning }
    if (delta?.content) yield { type: 'text-delta', text: delta.content }
    for (const call of delta?.tool_calls ?? []) yield* this.#toolCallDelta(call)
    if (choice.finish_reason) {
      this.#finishReason = choice.finish_reason
      yield* this.#closeToolCalls()
    }
  }

  *#toolCallDelta(call: z.output<typeof toolCallDeltaSchema>): Generator<ModelStreamEvent> {
    let toolUseId = this.#openToolCalls.get(call.index)
    // Ollama sends parallel calls all at index 0, told apart only by their ids.
    if (toolUseId !== undefined && call.id && call.id !== toolUseId) {
      yield { type: 'tool-use-end', toolUseId }
      this.#openToolCalls.delete(call.index)
      toolUseId = undefined
    }
    if (toolUseId === undefined) {
      const name = call.function?.name
      if (!name) {
        throw new ValidationError('openai stream chunk', [
          {
            path: `tool_calls.${call.index}.function.name`,
            message: 'missing on the first fragment of a tool call',
          },
        ])
      }
      // Some compatible servers leave out the id; the conversation still needs one to pair the result.
      toolUseId = call.id || `call_${globalThis.crypto.randomUUID()}`
      this.#openToolCalls.set(call.index, toolUseId)
      this.#hadToolCalls = true
      yield { type: 'tool-use-start', toolUseId, name }
    }
    const inputDelta = call.function?.arguments
    if (inputDelta) yield { type: 'tool-use-input-delta', toolUseId, inputDelta }
  }

  *#closeToolCalls(): Generator<ModelStreamEvent> {
    for (const toolUseId of this.#openToolCalls.values()) yield { type: 'tool-use-end', toolUseId }
    this.#openToolCalls.clear()
  }

  /** Called once the stream is over; a stream without a finish reason was cut off. */
  *finish(): Generator<ModelStreamEvent> {
    if (this.#finishReason === undefined) {
      throw new ModelError('openai', 'the stream ended without a finish_reason (the response was cut off)')
    }
    yield* this.#closeToolCalls()
    yield {
      type: 'message-end',
      stopReason: toStopReason(this.#finishReason, this.#hadToolCalls),
      usage: this.#usage ?? toUsage(undefined),
    }
  }
}

/** Turns a whole (non-streamed) chat completion into the same events a stream would give. */
export function* chatCompletionEvents(rawCompletion: unknown): Generator<ModelStreamEvent> {
  const completion = parseProviderData('openai response', completionSchema, rawCompletion)
  const [choice] = completion.choices
  if (!choice) return // unreachable: the schema requires one choice
  const { message } = choice
  const reasoning = message.reasoning_content ?? message.reasoning
  if (reasoning) yield { type: 'reasoning-delta', text: reasoning }
  if (message.content) yield { type: 'text-delta', text: message.content }
  const toolCalls = message.tool_calls ?? []
  for (const call of toolCalls) {
    yield { type: 'tool-use-start', toolUseId: call.id, name: call.function.name }
    yield { type: 'tool-use-input-delta', toolUseId: call.id, inputDelta: call.function.arguments }
    yield { type: 'tool-use-end', toolUseId: call.id }
  }
  yield {
    type: 'message-end',
    stopReason: toStopReason(choice.finish_reason ?? 'stop', toolCalls.length > 0),
    usage: toUsage(completion.usage),
  }
}
