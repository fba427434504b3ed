import { z } from 'zod'
import { ConfigurationError } from '../errors/configuration-error.ts'
import type { JsonValue, ToolResultContent } from '../messages/message.ts'
import type { ToolSpec } from '../models/model.ts'

/** What a tool callback receives besides its validated input. */
export interface ToolContext {
  toolUseId: string
  /** Aborted when the run is cancelled; long-running tools should stop. */
  signal: AbortSignal
}

/** A tool callback may return a string, any JSON value, or ready tool-result content blocks. */
export type ToolOutput = string | JsonValue | { content: ToolResultContent[] }

export interface Tool {
  readonly spec: ToolSpec
  /** Validates raw input from the model; returns the parsed input or the validation issues. */
  parseInput(input: unknown): { success: true; data: unknown } | { success: false; issues: string[] }
  invoke(input: unknown, context: ToolContext): Promise<ToolOutput>
}

/** A JSON Schema object, for tools whose schema comes from elsewhere (an MCP server, a config file). */
export type JsonSchemaObject = { [key: string]: JsonValue }

export interface ToolDefinition<Schema extends z.ZodType> {
  name: string
  description: string
  inputSchema: Schema | JsonSchemaObject
  callback: (input: z.output<Schema>, context: ToolContext) => ToolOutput | Promise<ToolOutput>
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/

/**
 * Defines a tool. With a zod schema the callback's input is typed; with a JSON Schema object the
 * input is validated by the same schema converted to zod, and typed as `unknown`.
 */
export function tool<Schema extends z.ZodType>(definition: ToolDefinition<Schema>): Tool {
  if (!TOOL_NAME.test(definition.name)) {
    throw new ConfigurationError(
      `Tool name "${definition.name}" is invalid: use 1-64 letters, digits, "_" or "-" (every provider accepts these).`,
    )
  }
  const isZod = definition.inputSchema instanceof z.ZodType
  const validator = isZod
    ? (definition.inputSchema as z.ZodType)
    : z.fromJSONSchema(definition.inputSchema as Parameters<typeof z.fromJSONSchema>[0])
  const jsonSchema = isZod
    ? (z.toJSONSchema(definition.inputSchema as z.ZodType, { io: 'input' }) as JsonSchemaObject)
    : (definition.inputSchema as JsonSchemaObject)
  const { $schema: _dialect, ...inputSchema } = jsonSchema

  return {
    spec: { name: definition.name, description: definition.description, inputSchema },
    parseInput(input) {
      const result = validator.safeParse(input)
      if (result.success) return { success: true, data: result.data }
      return {
        success: false,
        issues: result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
      }
    },
    async invoke(input, context) {
      return definition.callback(input as z.output<Schema>, context)
    },
  }
}
