import { ConfigurationError } from '../../errors/configuration-error.ts'
import { UnsupportedSchemaVersionError } from '../../session/session-errors.ts'
import type { AgentRef } from '../../session/session-repository.ts'
import { encodeStorageName } from '../storage-name.ts'

/**
 * Where every object of the S3 repository lives (docs/s3-storage-format.md tells the story):
 *
 *   <prefix>sessions/<session>/session.json
 *   <prefix>sessions/<session>/agents/<agent>/agent.json
 *   <prefix>sessions/<session>/agents/<agent>/log/<slot>/q~<ballot>             prepare (format 2)
 *   <prefix>sessions/<session>/agents/<agent>/log/<slot>/p~<ballot>             prepare + proposed tail (format 1)
 *   <prefix>sessions/<session>/agents/<agent>/log/<slot>/a~<ballot>~<value>     accept (+ the tail, if it proposes it)
 *   <prefix>sessions/<session>/agents/<agent>/log/<slot>/d~<count>~<value>      decided
 *   <prefix>sessions/<session>/agents/<agent>/log/m<index>                        message (conditional writes)
 *   <prefix>sessions/<session>/agents/<agent>/log/m<index>.pack                   copies of 8 messages
 *   <prefix>sessions/<session>/agents/<agent>/seg/<segment>/<revision>          sealed segment
 *   <prefix>sessions/<session>/agents/<agent>/blobs/<slot>-<writer>-<n>         a large message (format 2)
 *   <prefix>sessions/<session>/agents/<agent>/quarantine/<name>                 damaged bytes kept aside
 *
 * `<session>` and `<agent>` are `encodeStorageName` outputs (`a-z0-9-_~` only): no ID, however
 * crafted, can add a `/`, a `..` or anything else that would leave its own folder, so every key
 * of a repository starts with its prefix. `<slot>` is 999999999999 minus the slot number, so a
 * LIST from the start of `log/` returns the newest slot first: the head is found in one request
 * whatever the history length.
 */

const DIGITS = 12
const MAX_SLOT = 10 ** DIGITS - 1

/** Checks and normalizes a user prefix: '' or segments ending in '/', none empty, '.' or '..'. */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return ''
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix
  const segments = trimmed.split('/')
  // '..' and empty segments mean nothing to S3 but escape folders on file-backed S3 servers.
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new ConfigurationError(
      `The S3 prefix ${JSON.stringify(prefix)} has an empty, '.' or '..' segment; use e.g. 'users/42/'.`,
    )
  }
  return `${trimmed}/`
}

export const pad = (value: number): string => String(value).padStart(DIGITS, '0')

export class KeyLayout {
  readonly prefix: string
  readonly sessionsRoot: string

  constructor(prefix: string | undefined) {
    this.prefix = normalizePrefix(prefix)
    this.sessionsRoot = `${this.prefix}sessions/`
  }

  sessionDir(sessionId: string): string {
    return `${this.sessionsRoot}${encodeStorageName(sessionId, 'session ID')}/`
  }

  sessionRecord(sessionId: string): string {
    return `${this.sessionDir(sessionId)}session.json`
  }

  agentsDir(sessionId: string): string {
    return `${this.sessionDir(sessionId)}agents/`
  }

  agentDir({ sessionId, agentId }: AgentRef): string {
    return `${this.agentsDir(sessionId)}${encodeStorageName(agentId, 'agent ID')}/`
  }

  agentRecord(ref: AgentRef): string {
    return `${this.agentDir(ref)}agent.json`
  }

  agentLayout(ref: AgentRef): AgentKeys {
    return new AgentKeys(this.agentDir(ref))
  }
}

/** A ballot: rounds grow; the writer ID breaks ties, so no two writers ever hold the same ballot. */
export interface Ballot {
  round: number
  writer: string
}

export const ballotName = (ballot: Ballot): string => `${pad(ballot.round)}.${ballot.writer}`

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round
  return a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0
}

/**
 * Slot formats. Format 1 (tether-agents 0.1): a proposal's tail rides on its proposer's first
 * prepare `p~<ballot>`, and its value is named `<ballot>`. Format 2: prepares `q~<ballot>` are
 * empty, the tail rides on the first accept that proposes it, `a~<ballot>~v<ballot>`, and the
 * value is named `v<ballot>`. Moving the tail to the accept is what lets the winner of a slot
 * accept at the next one without a prepare (see SlotProtocol). 0.1's key parser refuses `q~` and `v` names,
 * so an older reader refuses a format-2 log instead of misreading it.
 */
export type SlotFormat = 1 | 2

/** One parsed key of a log slot. `value` names the object that holds a proposal's tail. */
export type SlotKey =
  | { kind: 'prepare'; slot: number; ballot: Ballot; format: SlotFormat; key: string }
  | { kind: 'accept'; slot: number; ballot: Ballot; value: string; key: string }
  | { kind: 'decided'; slot: number; count: number; value: string; key: string }

/** The format a value name belongs to: format 2 names start with `v`. */
export const valueFormat = (value: string): SlotFormat => (value.startsWith('v') ? 2 : 1)

/** The name of the value a format-2 accept proposes (its own tail). */
export const ownValue = (ballot: Ballot): string => `v${ballotName(ballot)}`

/** The writer ID of the proposal a value name belongs to (`v<round>.<writer>`, `<round>.<writer>`). */
export const valueWriter = (value: string): string => value.slice(value.indexOf('.') + 1)

const BALLOT = String.raw`(\d{12})\.([0-9a-f]{1,32})`
const VALUE = String.raw`v?\d{12}\.[0-9a-f]{1,32}`
const SLOT_KEY = new RegExp(
  String.raw`^(\d{12})/(?:([pq])~${BALLOT}|a~${BALLOT}~(${VALUE})|d~(\d{12})~(${VALUE}))$`,
)

export class AgentKeys {
  readonly dir: string
  readonly log: string
  readonly segments: string
  readonly blobs: string

  constructor(dir: string) {
    this.dir = dir
    this.log = `${dir}log/`
    this.segments = `${dir}seg/`
    this.blobs = `${dir}blobs/`
  }

  slotDir(slot: number): string {
    if (!Number.isSafeInteger(slot) || slot < 0 || slot > MAX_SLOT) throw new RangeError(`slot ${slot}`)
    return `${this.log}${pad(MAX_SLOT - slot)}/`
  }

  prepare(slot: number, ballot: Ballot, format: SlotFormat): string {
    return `${this.slotDir(slot)}${format === 1 ? 'p' : 'q'}~${ballotName(ballot)}`
  }

  /**
   * The object holding the tail a value names: its proposer's first prepare (format 1) or the
   * accept that proposed it (format 2).
   */
  proposal(slot: number, value: string): string {
    if (valueFormat(value) === 1) return `${this.slotDir(slot)}p~${value}`
    return `${this.slotDir(slot)}a~${value.slice(1)}~${value}`
  }

  accept(slot: number, ballot: Ballot, value: string): string {
    return `${this.slotDir(slot)}a~${ballotName(ballot)}~${value}`
  }

  decided(slot: number, count: number, value: string): string {
    return `${this.slotDir(slot)}d~${pad(count)}~${value}`
  }

  /** Keys after this one belong to slots below `slot` (older ones). */
  belowSlot(slot: number): string {
    return `${this.slotDir(slot)}~`
  }

  /**
   * The conditional-write layout: one object per message, claimed with `If-None-Match: *`.
   * `m` sorts after the digits of the slot layout, so one LIST from the start of `log/` tells a
   * log's layout by its first key; the inverted index lists the newest message first.
   */
  message(index: number): string {
    if (!Number.isSafeInteger(index) || index < 0 || index > MAX_SLOT) throw new RangeError(`index ${index}`)
    return `${this.log}m${pad(MAX_SLOT - index)}`
  }

  /** A pack: copies of messages [last − size + 1, last], listed right after message `last`. */
  pack(last: number): string {
    return `${this.message(last)}.pack`
  }

  /** Keys after this one belong to messages below `index` (older ones). */
  belowMessage(index: number): string {
    return `${this.message(index)}~`
  }

  /** Whether a key under `log/` belongs to the conditional-write layout. */
  isMessageLayout(key: string): boolean {
    return key.startsWith(`${this.log}m`)
  }

  /** Parses a key of the conditional-write layout; a key this version does not know is refused. */
  parseMessageKey(key: string): { kind: 'message' | 'pack'; index: number } {
    const match = /^m(\d{12})(\.pack)?$/.exec(key.slice(this.log.length))
    if (!key.startsWith(this.log) || !match)
      throw new UnsupportedSchemaVersionError(`s3 key ${key}`, 3, [1, 2])
    return { kind: match[2] === undefined ? 'message' : 'pack', index: MAX_SLOT - Number(match[1]) }
  }

  segment(index: number, revision: number): string {
    return `${this.segments}${pad(index)}/${pad(revision)}`
  }

  /** A large message of the slot layout's format 2, stored once (s3-message-blob.ts). */
  blob(name: string): string {
    return `${this.blobs}${name}`
  }

  quarantine(name: string): string {
    return `${this.dir}quarantine/${name}`
  }

  /**
   * Parses a key under `log/`. A key this version does not know was written by a newer one: the
   * log is refused rather than misread (an older reader must never append over a newer layout).
   */
  parse(key: string): SlotKey {
    const match = SLOT_KEY.exec(key.slice(this.log.length))
    if (!key.startsWith(this.log) || !match) {
      throw new UnsupportedSchemaVersionError(`s3 key ${key}`, 3, [1, 2])
    }
    const slot = MAX_SLOT - Number(match[1])
    const ballot = (round?: string, writer?: string): Ballot => ({
      round: Number(round),
      writer: writer ?? '',
    })
    if (match[2] !== undefined) {
      const format = match[2] === 'p' ? 1 : 2
      return { kind: 'prepare', slot, ballot: ballot(match[3], match[4]), format, key }
    }
    if (match[5] !== undefined) {
      return { kind: 'accept', slot, ballot: ballot(match[5], match[6]), value: match[7] ?? '', key }
    }
    return { kind: 'decided', slot, count: Number(match[8]), value: match[9] ?? '', key }
  }

  parseSegment(key: string): { index: number; revision: number } | null {
    const match = /^(\d{12})\/(\d{12})$/.exec(key.slice(this.segments.length))
    return match ? { index: Number(match[1]), revision: Number(match[2]) } : null
  }
}
