import type {
  ContentBlock as BedrockContentBlock,
  Message as BedrockMessage,
  SystemContentBlock,
  Tool,
  ToolResultContentBlock,
} from '@aws-sdk/client-bedrock-runtime'
import type { ContentBlock, ToolResultContent } from '../../messages/message.ts'
import type { ModelRequest } from '../model.ts'
import { base64ToBytes } from './base64.ts'

/** The request fields Tether owns; `params` from the user are merged around them. */
export interface ConverseBody {
  messages: BedrockMessage[]
  system?: SystemContentBlock[]
  toolConfig?: { tools: Tool[] }
}

/** Translates a Tether request into Converse messages, system prompt and tool configuration. */
export function toConverseBody(request: ModelRequest): ConverseBody {
  const messages = request.messages.map(
    (message): BedrockMessage => ({ role: message.role, content: message.content.flatMap(toContentBlock) }),
  )
  return {
    messages,
    ...(request.systemPrompt === undefined ? {} : { system: [{ text: request.systemPrompt }] }),
    ...(request.tools && request.tools.length > 0
      ? {
          toolConfig: {
            tools: request.tools.map(
              (spec): Tool => ({
                toolSpec: {
                  name: spec.name,
                  description: spec.description,
                  inputSchema: { json: spec.inputSchema },
                },
              }),
            ),
          },
        }
      : {}),
  }
}

const IMAGE_FORMATS = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
} as const

function toContentBlock(block: ContentBlock): BedrockContentBlock[] {
  switch (block.type) {
    case 'text':
      return [{ text: block.text }]
    case 'image':
      return [
        { image: { format: IMAGE_FORMATS[block.mediaType], source: { bytes: base64ToBytes(block.data) } } },
      ]
    case 'toolUse':
      return [{ toolUse: { toolUseId: block.toolUseId, name: block.name, input: block.input } }]
    case 'toolResult':
      return [
        {
          toolResult: {
            toolUseId: block.toolUseId,
            status: block.status,
            content: block.content.map(toToolResultContent),
          },
        },
      ]
    case 'reasoning': {
      // Models that need their reasoning back (Claude) verify its signature and reject reasoning
      // without one; unsigned reasoning came from another provider, so it is not sent. The Agent
      // keeps signed and redacted reasoning in separate blocks; a block stored by hand with both
      // still sends both, so neither is lost.
      const blocks: BedrockContentBlock[] = []
      if (block.signature !== undefined) {
        blocks.push({ reasoningContent: { reasoningText: { text: block.text, signature: block.signature } } })
      }
      if (block.redactedData !== undefined) {
        blocks.push({ reasoningContent: { redactedContent: base64ToBytes(block.redactedData) } })
      }
      return blocks
    }
  }
}

function toToolResultContent(part: ToolResultContent): ToolResultContentBlock {
  return part.type === 'text' ? { text: part.text } : { json: part.json }
}
