import type { ToolResultContent } from '../messages/message.ts'

/**
 * A tool result as one string, for APIs whose tool results carry text only (OpenAI chat
 * completions, Anthropic tool_result content). JSON results are serialized compactly.
 */
export function toolResultText(content: readonly ToolResultContent[]): string {
  return content.map((part) => (part.type === 'text' ? part.text : JSON.stringify(part.json))).join('\n')
}
