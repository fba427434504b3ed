import { randomBytes } from 'node:crypto'
import { DamagedRecordError, StorageError } from '../../session/session-errors.ts'
import type { Decided } from './s3-batch-chain.ts'
import {
  type AgentKeys,
  type Ballot,
  ballotName,
  compareBallots,
  ownValue,
  type SlotFormat,
  type SlotKey,
} from './s3-key-layout.ts'
import { readValue } from './s3-log-objects.ts'
import type { ListPage, S3ObjectStore } from './s3-object-store.ts'
import { encode, type Tail, tailEnd } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'
import { sweepAfter, sweepSlot } from './s3-slot-sweep.ts'

/**
 * Deciding what each log slot holds, with PUT and LIST only: no conditional writes.
 *
 * S3 without `If-None-Match` is a set of read/write registers, and two writers racing for one
 * index is a consensus problem that registers cannot solve wait-free (Herlihy, 1991). What they
 * can do is Disk Paxos (Gafni and Lamport, 2003): every writer writes only its own keys and reads
 * everyone's with one LIST, and no step's safety depends on timing or clocks. Per slot:
 *
 *   prepare  PUT q~<ballot>, LIST. A higher ballot from another writer: back off and retry
 *            higher. Otherwise adopt the accepted value with the highest ballot, or propose ours.
 *   accept   PUT a~<ballot>~<value> (carrying the value if it is ours), LIST. No higher
 *            ballot appeared: the value is decided.
 *   decided  write the segments it seals, then PUT d~<count>~<value>. Readers trust only d~ keys.
 *
 * Why it holds: each writer writes before it reads, so of two writers racing at the same step at
 * least one sees the other (S3 LIST is strongly consistent since December 2020; so are MinIO,
 * R2 and s3rver). A value decided at a ballot is adopted by every higher ballot, so a slot can be
 * decided only once, and a writer that crashes mid-slot leaves keys the next writer finishes.
 * Progress under contention comes from randomized backoff; a crashed writer never blocks anyone.
 *
 * Round 0 belongs to the last winner (format 2). Phase 1 exists so that a proposer learns any
 * value a lower ballot may have had chosen. The lowest ballot has nothing below it, so its
 * proposer may skip phase 1, provided no other proposer uses that ballot. Every proposal starts
 * at round 1, except one: the proposal that won a slot owns round 0 of the next slot (a slot is
 * decided once, so it has one winner), and the winner's next append goes straight to its accept.
 * Whatever appeared at the slot meanwhile has a higher ballot and shows in the LIST after the
 * accept, which then does not decide. An append is then 3 requests (accept, LIST, decided key),
 * where a prepare of its own makes it 5. The round is used once: the handle forgets it before
 * proposing, so a retry after a failure (whose accept may have landed) never writes the same key
 * with other bytes. Format 1 (0.1's logs) carries the tail on the prepare and always prepares; a
 * log keeps the format it has.
 *
 * A value is a `Tail` envelope either way: in format 1 the last `segmentSize` messages, in format
 * 2 the batch one slot added (s3-batch-head.ts); "tail" below means that envelope.
 */

export interface LogView {
  /** Keys of the slots listed so far, by slot (the newest slots first in the listing). */
  slots: Map<number, SlotKey[]>
  /** The newest decided slot, or null for an empty log. */
  top: Extract<SlotKey, { kind: 'decided' }> | null
  /** Every key the LISTs returned, also those past the newest decided key (for a sweep). */
  listed: string[]
  /** Whether the log has keys past `listed`. */
  more: boolean
}

/**
 * Round 0 at `slot`, owned by the proposal that won the slot below (see above): the next proposal
 * at `slot`, and only it, may go straight to its accept with this writer ID.
 */
export interface Prepared {
  slot: number
  writer: string
}

/** `prepared`, if it is round 0 of `slot` (format 2 only). */
const roundZeroAt = (prepared: Prepared | null | undefined, slot: number, format: SlotFormat) =>
  format === 2 && prepared?.slot === slot ? prepared : null

/**
 * The writer ID a proposal at `slot` uses: round 0's if `prepared` is it, else a fresh one. Fresh
 * per proposal, so a ballot (and so a key) is never reused, even by one process proposing twice
 * at the same slot from a stale view: reusing one would overwrite a decided tail.
 */
export function proposalWriter(
  prepared: Prepared | null | undefined,
  slot: number,
  format: SlotFormat,
): string {
  return roundZeroAt(prepared, slot, format)?.writer ?? randomBytes(8).toString('hex')
}

/** What the proposer built on: the slot below its own and the value decided there. */
export interface Base {
  slot: number
  value: string | null
}

export type SlotOutcome =
  | { kind: 'won'; value: string; tail: Tail; prepared: Prepared | null }
  /** Another value was decided; the log's newest decided slot is `view.top`. */
  | { kind: 'lost'; view: LogView }
  /** The log changed under us (deleted, or the base is gone): start again from a fresh read. */
  | { kind: 'restart' }
  /**
   * `giveUpIfContended` was set and a higher ballot competes before any accept of ours exists:
   * nothing of ours can be decided (our prepare is removed). `highest` is the highest round seen,
   * for the caller's next proposal at this slot to start above it.
   */
  | { kind: 'contended'; highest: number }

const MAX_ROUNDS = 64
/** Keys per LIST of the log: the newest slots and the newest decided key, in the usual case. */
export const LIST_PAGE = 12
/** Keys of the LIST after a sweeping slot's accept: the last ~50 slots, swept from that listing. */
const SWEEP_PAGE = 200

type CheckState =
  | { kind: 'ok'; accepted: Extract<SlotKey, { kind: 'accept' }> | null }
  | { kind: 'decided' }
  | { kind: 'restart' }
  | { kind: 'outbid'; highest: number }
  /** Keys above the slot, left by proposals on a log that is gone: remove them, then look again. */
  | { kind: 'stale'; keys: string[] }

/** A check once stale keys are out of the way. */
type Checked = Exclude<CheckState, { kind: 'stale' }>

export class SlotProtocol {
  readonly store: S3ObjectStore
  readonly keys: AgentKeys

  constructor(store: S3ObjectStore, keys: AgentKeys) {
    this.store = store
    this.keys = keys
  }

  /**
   * Lists the log from its newest key until the newest decided slot is seen: usually one request.
   * `first` is a page already listed from the top of the log (the layout check's).
   */
  async view(first?: ListPage, maxKeys = LIST_PAGE): Promise<LogView> {
    const slots = new Map<number, SlotKey[]>()
    const listed: string[] = []
    let top: LogView['top'] = null
    let startAfter: string | undefined
    let given = first
    for (;;) {
      const page =
        given ??
        (await this.store.list(this.keys.log, {
          maxKeys,
          ...(startAfter === undefined ? {} : { startAfter }),
        }))
      given = undefined
      listed.push(...page.keys)
      for (const key of page.keys) {
        if (top !== null) break
        const parsed = this.keys.parse(key)
        const group = slots.get(parsed.slot) ?? []
        group.push(parsed)
        slots.set(parsed.slot, group)
        if (parsed.kind === 'decided') top = parsed
      }
      startAfter = page.keys.at(-1)
      const more = page.truncated && startAfter !== undefined
      if (top !== null || !more) return { slots, top, listed, more }
    }
  }

  /**
   * The decided keys of the view's listing by slot, listing further down the log until `enough`
   * says they reach far enough (or the log ends).
   */
  async decidedSlots(
    view: LogView,
    enough: (decided: Map<number, Decided>) => boolean,
  ): Promise<Map<number, Decided>> {
    const decided = new Map<number, Decided>()
    const add = (keys: string[]) => {
      for (const key of keys) {
        const parsed = this.keys.parse(key)
        if (parsed.kind === 'decided') decided.set(parsed.slot, parsed)
      }
    }
    add(view.listed)
    let after = view.listed.at(-1)
    let more = view.more
    while (more && after !== undefined && !enough(decided)) {
      const page = await this.store.list(this.keys.log, { startAfter: after, maxKeys: 1000 })
      add(page.keys)
      after = page.keys.at(-1)
      more = page.truncated
    }
    return decided
  }

  /** The decided key of one slot, listed directly (for a slot below the newest). */
  async decidedAt(slot: number): Promise<Extract<SlotKey, { kind: 'decided' }> | null> {
    for await (const page of this.store.listAll(this.keys.slotDir(slot))) {
      for (const key of page) {
        const parsed = this.keys.parse(key)
        if (parsed.kind === 'decided') return parsed
      }
    }
    return null
  }

  /**
   * Runs Disk Paxos for `slot` until it is decided, proposing `tail`. Returns `won` only if our
   * tail was decided. A proposal whose value was ever accepted is driven to a decision before
   * returning, so it can never be decided later behind the caller's back: a lost append really
   * wrote no message, which is what `expectedIndex` promises and what keeps retries from
   * duplicating a message. Prepares left by crashed writers are outbid, never waited for: a
   * proposal that gives up (`giveUpIfContended`, for a compare-and-append, which then reports a
   * conflict and is retried by its caller) starts its next try above every round it saw
   * (`fromRound`). Until 0.1 the retry started at round 1, below the leftovers of writers killed
   * mid-slot, and lost to them every time: a restore's repair failed (issue 9).
   *
   * `format` is the log's (format 2 for a new log). `prepared`, from the previous slot's `won`,
   * lets a format-2 proposal skip its prepare.
   */
  async decide(
    slot: number,
    base: Base,
    tail: Tail,
    options: {
      giveUpIfContended?: boolean
      fromRound?: number
      format: SlotFormat
      prepared?: Prepared | null
      /**
       * This proposal's writer ID, when the caller named something after it (a format-2 blob). It
       * must be `prepared.writer` when round 0 is used here.
       */
      writer?: string
      /** Format 2: the records the segments are cut from, given the decided batch (see complete). */
      sealing?: (decided: Tail) => Tail
    },
  ): Promise<SlotOutcome> {
    const { format } = options
    const ahead = roundZeroAt(options.prepared, slot, format)
    const writer = options.writer ?? proposalWriter(options.prepared, slot, format)
    if (ahead && writer !== ahead.writer) {
      // A bug, never a storage fault: blobs named for one writer, a value named for another.
      throw new Error(`round 0 at slot ${slot} belongs to writer ${ahead.writer}, not ${writer}`)
    }
    let round = ahead ? 0 : Math.max(1, options.fromRound ?? 1)
    let oursAccepted = false
    // Our value's name, once an object holding our tail exists (or is being written: a PUT that
    // fails may still have landed, so the name is taken before it).
    let ours: string | undefined
    for (let attempt = 0; attempt < MAX_ROUNDS; attempt++) {
      const ballot: Ballot = { round, writer }
      let view: LogView
      let state: Checked
      if (ahead && attempt === 0) {
        // Round 0 is ours alone at this slot (we won the slot below), and no ballot is lower: no
        // proposal can have accepted anything that phase 1 would have to adopt.
        view = { slots: new Map(), top: null, listed: [], more: false }
        state = { kind: 'ok', accepted: null }
      } else {
        const carriesTail = format === 1 && ours === undefined
        if (carriesTail) ours = ballotName(ballot)
        await this.store.put(this.keys.prepare(slot, ballot, format), carriesTail ? encode(tail) : '-\n')
        ;({ view, state } = await this.#listAndCheck(slot, base, ballot, LIST_PAGE))
      }
      if (state.kind === 'ok') {
        let body = '-\n'
        let value = state.accepted?.value ?? ours
        if (value === undefined) {
          // Format 2: nothing accepted yet, so this accept proposes our tail and carries it.
          ours = ownValue(ballot)
          value = ours
          body = encode(tail)
        }
        if (value === ours) oursAccepted = true
        await this.store.put(this.keys.accept(slot, ballot, value), body)
        // The LIST a sweep works from: deeper where this slot will sweep (or may: another's value).
        const sweeping = value !== ours || sweepAfter(tail) !== 'none'
        ;({ view, state } = await this.#listAndCheck(slot, base, ballot, sweeping ? SWEEP_PAGE : LIST_PAGE))
        if (state.kind === 'ok') {
          const decidedTail = value === ours ? tail : await this.#proposalTail(slot, value)
          await this.complete(slot, value, decidedTail, view, options.sealing?.(decidedTail))
          if (value === ours)
            return { kind: 'won', value, tail, prepared: this.#roundZeroAbove(view, slot, format) }
          await this.#dropLoser(slot, view, writer)
          return { kind: 'lost', view: await this.view() }
        }
      }
      if (state.kind === 'decided') {
        const decided = view.top?.slot === slot ? view.top : await this.decidedAt(slot)
        if (decided === null) return { kind: 'restart' }
        if (decided.value === ours) return { kind: 'won', value: decided.value, tail, prepared: null }
        await this.#dropLoser(slot, view, writer)
        return { kind: 'lost', view }
      }
      if (state.kind === 'restart') {
        // The log under us was deleted or rebuilt. Our keys here name a base that is gone: remove
        // them now, so that nobody building the new log at this slot adopts a value built on it.
        await this.#dropLoser(slot, view, writer)
        return state
      }
      // Outbid. If none of our accepts exists, our tail can never be chosen: a compare-and-append
      // may stop here (fewer duelling proposers), removing its prepare, which nobody can adopt.
      if (options.giveUpIfContended && !oursAccepted) {
        await this.#dropLoser(slot, view, writer)
        return { kind: 'contended', highest: Math.max(round, state.highest) }
      }
      round = Math.max(round, state.highest) + 1
      // Full-jitter backoff up to 3 s: a round is 4 requests, and with several devices on a slow
      // store (hundreds of ms a round) a 400 ms ceiling let 6 of them collide for 64 rounds.
      await sleep(Math.random() * Math.min(3_000, 10 * 2 ** Math.min(attempt, 9)))
    }
    throw new StorageError(
      'append to',
      `${this.store.where(this.keys.log)} (slot ${slot} stayed contended for ${MAX_ROUNDS} rounds)`,
    )
  }

  /**
   * Makes a decided slot visible: first the segments it seals and rewrites (so a decided key
   * never points past a segment that is missing), then the decided key. A format-2 value holds
   * only its slot's batch, so the segments it seals are cut from `sealing`: the head's unsealed
   * messages followed by the batch. Every writer that
   * learns the decision writes the same bytes, so a repeat or a race between them is harmless.
   */
  async complete(
    slot: number,
    value: string,
    tail: Tail,
    view?: LogView,
    sealing: Tail = tail,
  ): Promise<void> {
    const size = tail.segmentSize
    const count = tailEnd(tail)
    const before = count - tail.appended
    const writes: Promise<unknown>[] = []
    for (let segment = Math.floor(before / size); (segment + 1) * size <= count; segment++) {
      if ((segment + 1) * size <= before) continue
      const from = segment * size - sealing.start
      if (from < 0 || from + size > sealing.records.length) {
        // A bug, never a storage fault: sealing from records that do not cover the segment.
        throw new Error(`segment ${segment} is not within the records to seal from (start ${sealing.start})`)
      }
      writes.push(
        this.store.put(
          this.keys.segment(segment, 0),
          encode({
            schemaVersion: 1,
            kind: 'segment',
            segment,
            start: segment * size,
            records: sealing.records.slice(from, from + size),
          }),
        ),
      )
    }
    for (const rewrite of tail.rewrites) {
      writes.push(
        this.store.put(
          this.keys.segment(rewrite.segment, rewrite.revision),
          encode({
            schemaVersion: 1,
            kind: 'segment',
            segment: rewrite.segment,
            start: rewrite.segment * size,
            records: rewrite.records,
          }),
        ),
      )
    }
    await Promise.all(writes)
    await this.store.put(this.keys.decided(slot, count, value), '-\n', { ifNoneMatch: true })
    if (sweepAfter(tail) !== 'none') await sweepSlot(this.store, this.keys, { slot, value, tail, view })
  }

  async #proposalTail(slot: number, value: string): Promise<Tail> {
    const key = this.keys.proposal(slot, value)
    const stored = await readValue(this.store, key)
    if (stored === null)
      throw new StorageError('read', `${this.store.where(key)} (accepted proposal is gone)`)
    if (stored instanceof DamagedRecordError) throw stored
    return stored
  }

  /** Our losing (or orphaned) proposal at a slot holds a tail nobody will read: remove it now. */
  async #dropLoser(slot: number, view: LogView, writer: string): Promise<void> {
    const mine = (view.slots.get(slot) ?? [])
      .filter(
        (key) =>
          (key.kind === 'prepare' && key.ballot.writer === writer) ||
          (key.kind === 'accept' && key.ballot.writer === writer && key.value === ownValue(key.ballot)),
      )
      .map((key) => key.key)
    if (mine.length === 0) return
    try {
      await this.store.deleteMany(mine)
    } catch (error) {
      // Garbage only: a later sweep lists and removes every non-decided key below its slot.
      if (!(error instanceof StorageError)) throw error
    }
  }

  /**
   * Round 0 of the next slot, which only the winner of this one may use (format 2): every other
   * proposal starts at round 1. Taken only if the deciding LIST showed nothing there yet (else
   * the next append would be outbid anyway).
   */
  #roundZeroAbove(view: LogView, slot: number, format: SlotFormat): Prepared | null {
    if (format !== 2 || (view.slots.get(slot + 1)?.length ?? 0) > 0) return null
    return { slot: slot + 1, writer: randomBytes(8).toString('hex') }
  }

  /**
   * Lists the log (after a write of ours) and checks the slot. Stale keys above the slot are
   * deleted first and the log listed again: a read after our write either way, as Paxos needs.
   * If they cannot be deleted, the proposal starts again rather than build below them.
   */
  async #listAndCheck(
    slot: number,
    base: Base,
    ballot: Ballot,
    maxKeys: number,
  ): Promise<{ view: LogView; state: Checked }> {
    for (let attempt = 0; ; attempt++) {
      const view = await this.view(undefined, maxKeys)
      const state = this.#check(view, slot, base, ballot)
      if (state.kind !== 'stale') return { view, state }
      if (attempt >= 2) return { view, state: { kind: 'restart' } }
      try {
        await this.store.deleteMany(state.keys)
      } catch (error) {
        if (!(error instanceof StorageError)) throw error
        return { view, state: { kind: 'restart' } }
      }
    }
  }

  #check(view: LogView, slot: number, base: Base, ballot: Ballot): CheckState {
    const top = view.top
    if (top !== null && top.slot >= slot) return { kind: 'decided' }
    // Our base must still be the newest decided slot: otherwise the log was deleted or rebuilt.
    if (base.slot !== (top?.slot ?? -1) || base.value !== (top?.value ?? null)) return { kind: 'restart' }
    // Nothing above the slot can be live: a proposal at a slot starts only once the slot below it
    // has its decided key, and ours has none yet. What stands there was built on a log that is
    // gone (a writer whose head predates a delete, killed before it removed its keys): removed
    // here, before this slot is decided, so that no proposal at those slots ever adopts it.
    // Round-0 prepares (which builds before this one wrote ahead) hold no value and are left.
    const stale: string[] = []
    for (const [above, keys] of view.slots) {
      if (above <= slot) continue
      for (const key of keys) if (!(key.kind === 'prepare' && key.ballot.round === 0)) stale.push(key.key)
    }
    if (stale.length > 0) return { kind: 'stale', keys: stale }
    let accepted: Extract<SlotKey, { kind: 'accept' }> | null = null
    let highest = 0
    let outbid = false
    for (const key of view.slots.get(slot) ?? []) {
      if (key.kind === 'decided') continue
      highest = Math.max(highest, key.ballot.round)
      if (key.ballot.writer !== ballot.writer && compareBallots(key.ballot, ballot) > 0) outbid = true
      if (key.kind === 'accept' && (accepted === null || compareBallots(key.ballot, accepted.ballot) > 0)) {
        accepted = key
      }
    }
    return outbid ? { kind: 'outbid', highest } : { kind: 'ok', accepted }
  }
}
