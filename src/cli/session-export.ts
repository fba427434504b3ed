import { z } from 'zod'
import { ValidationError } from '../errors/validation-error.ts'
import {
  type AgentRecord,
  agentRecordSchema,
  type MessageRecord,
  messageRecordSchema,
  type SessionRecord,
  sessionRecordSchema,
} from '../session/session-records.ts'

/**
 * The export format of `tether sessions export` (docs/cli.md#export-format), read back by
 * `import`. The records inside are the stored records as they are (each with its own
 * `schemaVersion`); the envelope has its own version.
 *
 * Version history:
 * - 1: first format (tether-agents 0.1).
 */
export const EXPORT_FORMAT = 'tether-session'
export const EXPORT_SCHEMA_VERSION = 1

export interface SessionExport {
  format: typeof EXPORT_FORMAT
  schemaVersion: typeof EXPORT_SCHEMA_VERSION
  exportedAt: string
  session: SessionRecord
  agents: { agent: AgentRecord; messages: MessageRecord[] }[]
}

const exportSchema = z
  .object({
    format: z.literal(EXPORT_FORMAT),
    schemaVersion: z.literal(EXPORT_SCHEMA_VERSION),
    exportedAt: z.string(),
    session: sessionRecordSchema,
    agents: z.array(z.object({ agent: agentRecordSchema, messages: z.array(messageRecordSchema) })),
  })
  .superRefine((value, context) => {
    const seen = new Set<string>()
    for (const [position, { agent, messages }] of value.agents.entries()) {
      const path = ['agents', position]
      if (agent.sessionId !== value.session.sessionId) {
        context.addIssue({
          code: 'custom',
          path,
          message: `agent "${agent.agentId}" belongs to another session`,
        })
      }
      if (seen.has(agent.agentId))
        context.addIssue({ code: 'custom', path, message: `agent "${agent.agentId}" twice` })
      seen.add(agent.agentId)
      for (const [index, record] of messages.entries()) {
        if (
          record.index !== index ||
          record.agentId !== agent.agentId ||
          record.sessionId !== agent.sessionId
        ) {
          context.addIssue({
            code: 'custom',
            path: [...path, 'messages', index],
            message: `expected message ${index} of agent "${agent.agentId}" (messages are complete and in order)`,
          })
          return
        }
      }
    }
  })

/** `json`: one pretty-printed document. */
export function exportAsJson(data: SessionExport): string[] {
  return [JSON.stringify(data, null, 2)]
}

/** `jsonl`: a `session` line, then each agent's `agent` line followed by its `message` lines. */
export function* exportAsJsonLines(data: SessionExport): Iterable<string> {
  const { agents, ...header } = data
  yield JSON.stringify({ type: 'session', ...header })
  for (const { agent, messages } of agents) {
    yield JSON.stringify({ type: 'agent', record: agent })
    for (const record of messages) yield JSON.stringify({ type: 'message', record })
  }
}

/** Reads either format (told apart by the first line's `type`) and validates it whole. */
export function parseSessionExport(text: string, source: string): SessionExport {
  const trimmed = text.trim()
  if (trimmed === '')
    throw new ValidationError(source, [{ path: '', message: 'empty input; expected an export' }])
  const firstLine = trimmed.slice(0, trimmed.indexOf('\n') === -1 ? undefined : trimmed.indexOf('\n'))
  const first = parseJson(firstLine, source, 1, trimmed.includes('\n'))
  const raw =
    isRecord(first) && first.type === 'session'
      ? assembleJsonLines(trimmed, source)
      : parseJson(trimmed, source)
  if (isRecord(raw) && typeof raw.schemaVersion === 'number' && raw.schemaVersion > EXPORT_SCHEMA_VERSION) {
    throw new ValidationError(source, [
      {
        path: 'schemaVersion',
        message: `${raw.schemaVersion} is newer than this tether reads (${EXPORT_SCHEMA_VERSION}); upgrade tether-agents`,
      },
    ])
  }
  const parsed = exportSchema.safeParse(raw)
  if (!parsed.success) throw ValidationError.fromZod(source, parsed.error)
  return parsed.data as SessionExport
}

function assembleJsonLines(text: string, source: string): unknown {
  const lines = text.split('\n')
  const { type: _type, ...header } = parseJson(lines[0] ?? '', source, 1) as Record<string, unknown>
  const agents: { agent: unknown; messages: unknown[] }[] = []
  for (const [offset, line] of lines.slice(1).entries()) {
    if (line.trim() === '') continue
    const number = offset + 2
    const entry = parseJson(line, source, number)
    if (!isRecord(entry)) throw lineError(source, number, 'expected an object')
    if (entry.type === 'agent') agents.push({ agent: entry.record, messages: [] })
    else if (entry.type === 'message') {
      const agent = agents.at(-1)
      if (!agent) throw lineError(source, number, 'a message line before any agent line')
      agent.messages.push(entry.record)
    } else throw lineError(source, number, `unknown line type ${JSON.stringify(entry.type)}`)
  }
  return { ...header, agents }
}

function parseJson(text: string, source: string, line?: number, partial = false): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    // The first line of a pretty-printed JSON document is not JSON on its own: not an error yet.
    if (partial) return undefined
    throw lineError(
      source,
      line,
      `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    )
  }
}

function lineError(source: string, line: number | undefined, message: string): ValidationError {
  return new ValidationError(line === undefined ? source : `${source} line ${line}`, [{ path: '', message }])
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
