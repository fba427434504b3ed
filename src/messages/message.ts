import { z } from 'zod'

/**
 * The message model. Everything here is plain JSON so it can be stored and sent as is.
 * Content blocks are discriminated by `type`.
 */

export const textBlockSchema = z.object({ type: z.literal('text'), text: z.string() })
export type TextBlock = z.infer<typeof textBlockSchema>

export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(jsonValueSchema),
    z.record(z.string(), jsonValueSchema),
  ]),
)
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

export const toolUseBlockSchema = z.object({
  type: z.literal('toolUse'),
  toolUseId: z.string().min(1),
  name: z.string().min(1),
  input: jsonValueSchema,
})
export type ToolUseBlock = z.infer<typeof toolUseBlockSchema>

export const toolResultContentSchema = z.discriminatedUnion('type', [
  textBlockSchema,
  z.object({ type: z.literal('json'), json: jsonValueSchema }),
])
export type ToolResultContent = z.infer<typeof toolResultContentSchema>

export const toolResultBlockSchema = z.object({
  type: z.literal('toolResult'),
  toolUseId: z.string().min(1),
  status: z.enum(['success', 'error']),
  content: z.array(toolResultContentSchema),
})
export type ToolResultBlock = z.infer<typeof toolResultBlockSchema>

export const imageBlockSchema = z.object({
  type: z.literal('image'),
  mediaType: z.enum(['image/png', 'image/jpeg', 'image/gif', 'image/webp']),
  /** The image bytes, base64-encoded. */
  data: z.string(),
})
export type ImageBlock = z.infer<typeof imageBlockSchema>

export const reasoningBlockSchema = z.object({
  type: z.literal('reasoning'),
  text: z.string(),
  /** Provider signature that must be sent back unchanged with the reasoning (Anthropic, Bedrock). */
  signature: z.string().optional(),
  /** Reasoning the provider returned encrypted; it is passed back opaque. */
  redactedData: z.string().optional(),
})
export type ReasoningBlock = z.infer<typeof reasoningBlockSchema>

export const contentBlockSchema = z.discriminatedUnion('type', [
  textBlockSchema,
  toolUseBlockSchema,
  toolResultBlockSchema,
  imageBlockSchema,
  reasoningBlockSchema,
])
export type ContentBlock = z.infer<typeof contentBlockSchema>

export const roleSchema = z.enum(['user', 'assistant'])
export type Role = z.infer<typeof roleSchema>

export const messageSchema = z.object({
  role: roleSchema,
  content: z.array(contentBlockSchema),
  /**
   * Optional identity that survives copies between stores: `SyncedSessionRepository` gives each
   * message one when it is appended, so a message pushed twice (a crash between the push and its
   * bookkeeping) is recognised as the same message. Never sent to a model (the model view rebuilds
   * each message from role and content); records written without it stay valid.
   */
  id: z.string().min(1).max(200).optional(),
})
export type Message = z.infer<typeof messageSchema>

/** The concatenated text blocks of a message: what `AgentResult.output` reports. */
export function messageText(message: Message): string {
  return message.content
    .filter((block): block is TextBlock => block.type === 'text')
    .map((block) => block.text)
    .join('')
}

export function toolUses(message: Message): ToolUseBlock[] {
  return message.content.filter((block): block is ToolUseBlock => block.type === 'toolUse')
}

export function toolResults(message: Message): ToolResultBlock[] {
  return message.content.filter((block): block is ToolResultBlock => block.type === 'toolResult')
}

export function userMessage(text: string): Message {
  return { role: 'user', content: [{ type: 'text', text }] }
}
