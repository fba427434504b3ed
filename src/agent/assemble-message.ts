import { ValidationError } from '../errors/validation-error.ts'
import type { ContentBlock, JsonValue, Message } from '../messages/message.ts'
import type { ModelStreamEvent, StopReason, Usage } from '../models/model.ts'

/**
 * Builds the assistant message from a model's events, in the order the content arrived.
 * Tool input JSON is parsed when its tool use ends; an unparseable input is a provider fault.
 */
export class MessageAssembler {
  readonly #blocks: ContentBlock[] = []
  readonly #toolInput = new Map<string, { block: ContentBlock & { type: 'toolUse' }; json: string }>()
  stopReason: StopReason | undefined
  usage: Usage | undefined

  readonly provider: string

  constructor(provider: string) {
    this.provider = provider
  }

  add(event: ModelStreamEvent): void {
    switch (event.type) {
      case 'text-delta': {
        const last = this.#blocks.at(-1)
        if (last?.type === 'text') last.text += event.text
        else this.#blocks.push({ type: 'text', text: event.text })
        return
      }
      case 'reasoning-delta': {
        // Redacted reasoning is always a block of its own, and a signature closes a block: merging
        // across either would send the provider back blocks it never produced.
        const last = this.#blocks.at(-1)
        const continues =
          last?.type === 'reasoning' &&
          last.signature === undefined &&
          last.redactedData === undefined &&
          event.redactedData === undefined
        const block: ContentBlock & { type: 'reasoning' } = continues ? last : { type: 'reasoning', text: '' }
        if (!continues) this.#blocks.push(block)
        block.text += event.text
        if (event.signature !== undefined) block.signature = event.signature
        if (event.redactedData !== undefined) block.redactedData = event.redactedData
        return
      }
      case 'tool-use-start': {
        const block = { type: 'toolUse' as const, toolUseId: event.toolUseId, name: event.name, input: {} }
        this.#blocks.push(block)
        this.#toolInput.set(event.toolUseId, { block, json: '' })
        return
      }
      case 'tool-use-input-delta': {
        const pending = this.#toolInput.get(event.toolUseId)
        if (pending) pending.json += event.inputDelta
        return
      }
      case 'tool-use-end': {
        this.#finishToolUse(event.toolUseId)
        return
      }
      case 'message-end':
        this.stopReason = event.stopReason
        this.usage = event.usage
        return
    }
  }

  #finishToolUse(toolUseId: string): void {
    const pending = this.#toolInput.get(toolUseId)
    if (!pending) return
    this.#toolInput.delete(toolUseId)
    if (pending.json.trim() === '') return
    try {
      pending.block.input = JSON.parse(pending.json) as JsonValue
    } catch (error) {
      throw new ValidationError(
        `${this.provider} tool call input`,
        [{ path: pending.block.name, message: `not valid JSON: ${pending.json.slice(0, 200)}` }],
        { cause: error },
      )
    }
  }

  finish(): Message {
    for (const toolUseId of [...this.#toolInput.keys()]) this.#finishToolUse(toolUseId)
    return { role: 'assistant', content: this.#blocks }
  }
}
