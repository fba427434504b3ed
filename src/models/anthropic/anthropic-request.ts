import type Anthropic from '@anthropic-ai/sdk'
import type { ContentBlock, Message } from '../../messages/message.ts'
import type { ModelRequest } from '../model.ts'
import { toolResultText } from '../tool-result-text.ts'

type MessageParam = Anthropic.Messages.MessageParam
type ContentBlockParam = Anthropic.Messages.ContentBlockParam
type ToolParam = Anthropic.Messages.Tool

/** The request fields Tether owns; `params` from the user are merged around them. */
export interface MessagesBody {
  messages: MessageParam[]
  system?: string
  tools?: ToolParam[]
}

/** Translates a Tether request into Messages API messages, system prompt and tools. */
export function toMessagesBody(request: ModelRequest): MessagesBody {
  const messages = request.messages.map(
    (message: Message): MessageParam => ({
      role: message.role,
      content: message.content.flatMap(toBlockParam),
    }),
  )
  return {
    messages,
    ...(request.systemPrompt === undefined ? {} : { system: request.systemPrompt }),
    ...(request.tools && request.tools.length > 0
      ? {
          tools: request.tools.map((spec) => ({
            name: spec.name,
            description: spec.description,
            input_schema: { ...spec.inputSchema, type: 'object' as const },
          })),
        }
      : {}),
  }
}

function toBlockParam(block: ContentBlock): ContentBlockParam[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: block.text }]
    case 'image':
      return [{ type: 'image', source: { type: 'base64', media_type: block.mediaType, data: block.data } }]
    case 'toolUse':
      return [{ type: 'tool_use', id: block.toolUseId, name: block.name, input: block.input }]
    case 'toolResult':
      return [
        {
          type: 'tool_result',
          tool_use_id: block.toolUseId,
          // JSON results travel as text: tool_result content holds text and image blocks only.
          content: [{ type: 'text', text: toolResultText(block.content) }],
          ...(block.status === 'error' ? { is_error: true } : {}),
        },
      ]
    case 'reasoning': {
      // Anthropic verifies the signature of every thinking block sent back and rejects one
      // without it; reasoning without a signature came from another provider, so it stays home.
      // The Agent keeps signed and redacted reasoning in separate blocks; a block stored by hand
      // with both still sends both, so neither is lost.
      const blocks: ContentBlockParam[] = []
      if (block.signature !== undefined) {
        blocks.push({ type: 'thinking', thinking: block.text, signature: block.signature })
      }
      if (block.redactedData !== undefined)
        blocks.push({ type: 'redacted_thinking', data: block.redactedData })
      return blocks
    }
  }
}
