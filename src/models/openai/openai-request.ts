import type OpenAI from 'openai'
import type { ContentBlock, Message, ToolResultBlock } from '../../messages/message.ts'
import type { ModelRequest } from '../model.ts'
import { toolResultText } from '../tool-result-text.ts'

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam
type UserContentPart = OpenAI.Chat.Completions.ChatCompletionContentPart
type ChatTool = OpenAI.Chat.Completions.ChatCompletionTool

/** The request fields Tether owns; `params` from the user are merged around them. */
export interface ChatCompletionsBody {
  messages: ChatMessage[]
  tools?: ChatTool[]
}

/** Translates a Tether request into Chat Completions messages and tools. */
export function toChatCompletionsBody(request: ModelRequest): ChatCompletionsBody {
  const messages: ChatMessage[] = []
  if (request.systemPrompt !== undefined) messages.push({ role: 'system', content: request.systemPrompt })
  for (const message of request.messages) {
    if (message.role === 'user') messages.push(...userMessages(message))
    else messages.push(assistantMessage(message))
  }
  if (!request.tools || request.tools.length === 0) return { messages }
  const tools: ChatTool[] = request.tools.map((spec) => ({
    type: 'function',
    function: { name: spec.name, description: spec.description, parameters: spec.inputSchema },
  }))
  return { messages, tools }
}

/**
 * A Tether user turn can hold tool results and a prompt together. Chat Completions carries each
 * tool result as its own `role: 'tool'` message, which must directly follow the assistant's
 * tool calls, so the tool messages come first and the rest of the turn after them.
 */
function userMessages(message: Message): ChatMessage[] {
  const results = message.content.filter((block): block is ToolResultBlock => block.type === 'toolResult')
  const messages: ChatMessage[] = results.map((result) => ({
    role: 'tool',
    tool_call_id: result.toolUseId,
    // Chat Completions has no error flag on tool messages; the prefix tells the model it failed.
    content:
      result.status === 'error' ? `Error: ${toolResultText(result.content)}` : toolResultText(result.content),
  }))
  const parts = message.content.flatMap(userContentPart)
  if (parts.length === 0) return messages
  // Plain string content when there is only text: some OpenAI-compatible servers (older llama.cpp
  // and LM Studio builds) reject the array form, and every server accepts the string.
  const textOnly = parts.every((part) => part.type === 'text')
  const content = textOnly ? parts.map((part) => (part.type === 'text' ? part.text : '')).join('\n') : parts
  messages.push({ role: 'user', content })
  return messages
}

function userContentPart(block: ContentBlock): UserContentPart[] {
  switch (block.type) {
    case 'text':
      return [{ type: 'text', text: block.text }]
    case 'image':
      return [{ type: 'image_url', image_url: { url: `data:${block.mediaType};base64,${block.data}` } }]
    // Tool results were turned into tool messages; a tool use or reasoning cannot appear in a user turn.
    default:
      return []
  }
}

function assistantMessage(message: Message): ChatMessage {
  // Reasoning is dropped: Chat Completions has no field to send it back in (its reasoning models
  // keep their reasoning server-side). Images cannot be part of an assistant turn.
  const text = message.content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('')
  const toolCalls = message.content.flatMap((block) =>
    block.type === 'toolUse'
      ? [
          {
            id: block.toolUseId,
            type: 'function' as const,
            function: { name: block.name, arguments: JSON.stringify(block.input) },
          },
        ]
      : [],
  )
  // An empty `tool_calls` array is rejected by some compatible servers, so it is left out.
  if (toolCalls.length === 0) return { role: 'assistant', content: text }
  return { role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls }
}
