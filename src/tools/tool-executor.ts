import type { ToolResultBlock, ToolResultContent, ToolUseBlock } from '../messages/message.ts'
import type { Tool, ToolOutput } from './tool.ts'

function toContent(output: ToolOutput): ToolResultContent[] {
  if (typeof output === 'string') return [{ type: 'text', text: output }]
  if (output !== null && typeof output === 'object' && !Array.isArray(output) && 'content' in output) {
    const { content } = output
    if (Array.isArray(content)) return content as ToolResultContent[]
  }
  return [{ type: 'json', json: output as Exclude<ToolOutput, { content: ToolResultContent[] }> }]
}

function errorResult(toolUseId: string, text: string): ToolResultBlock {
  return { type: 'toolResult', toolUseId, status: 'error', content: [{ type: 'text', text }] }
}

/**
 * Runs one tool call and always returns a result block: an unknown tool, invalid input or a
 * callback that throws becomes an error result the model can read and react to, not a crashed run.
 * An abort is the exception: it propagates, because the run itself is being cancelled.
 */
export async function executeToolUse(
  toolUse: ToolUseBlock,
  tools: ReadonlyMap<string, Tool>,
  signal: AbortSignal,
): Promise<ToolResultBlock> {
  const found = tools.get(toolUse.name)
  if (!found) {
    const known = [...tools.keys()].join(', ') || 'none'
    return errorResult(toolUse.toolUseId, `Unknown tool "${toolUse.name}". Available tools: ${known}.`)
  }
  const parsed = found.parseInput(toolUse.input)
  if (!parsed.success) {
    return errorResult(
      toolUse.toolUseId,
      `Invalid input for tool "${toolUse.name}": ${parsed.issues.join('; ')}`,
    )
  }
  try {
    const output = await found.invoke(parsed.data, { toolUseId: toolUse.toolUseId, signal })
    return { type: 'toolResult', toolUseId: toolUse.toolUseId, status: 'success', content: toContent(output) }
  } catch (error) {
    if (signal.aborted) throw signal.reason
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return errorResult(toolUse.toolUseId, `Tool "${toolUse.name}" failed: ${text}`)
  }
}
