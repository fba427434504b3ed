import type { MessageRecord, SessionRecord } from '../session/session-records.ts'
import type { AgentRef, SessionRepository, UnreadableSession } from '../session/session-repository.ts'
import { NotFoundError } from './cli-errors.ts'
import type { Progress } from './progress.ts'
import type { OpenStore } from './store.ts'

/** Messages are read in pages of this many, so a long session streams instead of loading in one call. */
const PAGE = 500

/** Every session in the store, following the repository's pages, and those whose record is unreadable. */
export async function listAllSessions(
  repository: SessionRepository,
): Promise<{ sessions: SessionRecord[]; unreadable: UnreadableSession[] }> {
  const sessions: SessionRecord[] = []
  const unreadable: UnreadableSession[] = []
  let cursor: string | undefined
  do {
    const page = await repository.listSessions(cursor === undefined ? {} : { cursor })
    sessions.push(...page.sessions)
    unreadable.push(...(page.unreadable ?? []))
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return { sessions, unreadable }
}

/** The session record, or a NotFoundError that says where we looked and how to see what is there. */
export async function requireSession(store: OpenStore, sessionId: string): Promise<SessionRecord> {
  const session = await store.repository.readSession({ sessionId })
  if (session) return session
  throw sessionNotFound(store, sessionId)
}

export function sessionNotFound(store: OpenStore, sessionId: string): NotFoundError {
  return new NotFoundError(
    `No session "${sessionId}" in ${store.label}; \`tether sessions list --store ${store.label}\` shows the sessions there.`,
  )
}

/** All of an agent's messages, page by page, advancing `progress` per message. */
export async function readAllMessages(
  repository: SessionRepository,
  ref: AgentRef,
  progress?: Progress,
): Promise<MessageRecord[]> {
  const messages: MessageRecord[] = []
  for (;;) {
    const page = await repository.readMessages({ ...ref, offset: messages.length, limit: PAGE })
    messages.push(...page)
    progress?.advance(page.length)
    if (page.length < PAGE) return messages
  }
}
