import type { Message } from '../../messages/message.ts'
import type { MessageRecord } from '../../session/session-records.ts'
import type { AgentRef } from '../../session/session-repository.ts'
import { S3ConditionalLog, SlotLayoutFound } from './s3-conditional-log.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import { S3MessageLog } from './s3-message-log.ts'
import type { S3ObjectStore } from './s3-object-store.ts'

/** How a log stores messages: slots agreed with Disk Paxos, or one object per message. */
export type LogLayout = 'slots' | 'messages'

/**
 * One agent's history in whichever layout it was started in. A log's layout is a fact stored
 * in it (its first key under `log/`), never a client setting, so devices configured differently
 * still agree: a log started in the slot layout (by today's tether-agents, or on a store without
 * conditional writes) stays in it; an empty log takes the layout `chooseLayout` picks.
 */
export class S3AgentLog {
  readonly #messages: S3ConditionalLog
  readonly #slots: S3MessageLog
  readonly #chooseLayout: () => Promise<LogLayout>
  readonly #onMessagesLayout: () => void
  #layout: LogLayout | undefined

  constructor(
    store: S3ObjectStore,
    keys: AgentKeys,
    ref: AgentRef,
    segmentSize: number,
    chooseLayout: () => Promise<LogLayout>,
    onMessagesLayout: () => void,
  ) {
    this.#messages = new S3ConditionalLog(store, keys, ref)
    this.#slots = new S3MessageLog(store, keys, ref, segmentSize)
    this.#chooseLayout = chooseLayout
    this.#onMessagesLayout = onMessagesLayout
  }

  async count(): Promise<number> {
    if (this.#layout === 'slots') return this.#slots.count()
    try {
      const count = await this.#messages.count()
      if (count > 0) this.#learn('messages')
      return count
    } catch (error) {
      if (!(error instanceof SlotLayoutFound)) throw error
      this.#learn('slots')
      return this.#slots.count(error.page)
    }
  }

  async read(offset: number, limit?: number): Promise<MessageRecord[]> {
    if (this.#layout === 'slots') return this.#slots.read(offset, limit)
    try {
      // Unknown layout: list from the top, where a slot-layout log shows its keys first.
      const records = await this.#messages.read(offset, limit, this.#layout === undefined)
      if (records.length > 0) this.#learn('messages')
      return records
    } catch (error) {
      if (!(error instanceof SlotLayoutFound)) throw error
      this.#learn('slots')
      return this.#slots.read(offset, limit, error.page)
    }
  }

  async append(message: Message, expectedIndex?: number): Promise<MessageRecord> {
    const layout = await this.#writer()
    const record =
      layout === 'slots'
        ? await this.#slots.append(message, expectedIndex)
        : await this.#messages.append(message, expectedIndex)
    this.#learn(layout)
    return record
  }

  async appendMany(messages: Message[]): Promise<MessageRecord[]> {
    const layout = await this.#writer()
    const records =
      layout === 'slots' ? await this.#slots.appendMany(messages) : await this.#messages.appendMany(messages)
    this.#learn(layout)
    return records
  }

  async update(index: number, message: Message): Promise<MessageRecord> {
    return (await this.#writer()) === 'slots'
      ? this.#slots.update(index, message)
      : this.#messages.update(index, message)
  }

  async quarantine(index: number, placeholder: Message): Promise<MessageRecord> {
    return (await this.#writer()) === 'slots'
      ? this.#slots.quarantine(index, placeholder)
      : this.#messages.quarantine(index, placeholder)
  }

  forget(): void {
    this.#layout = undefined
    this.#slots.forget()
    this.#messages.forget()
  }

  /** The layout to write in: the log's own, or for an empty log the chosen one. */
  async #writer(): Promise<LogLayout> {
    if (this.#layout !== undefined) return this.#layout
    await this.count()
    // Empty: choose, but do not remember, since another device may start it first.
    return this.#layout ?? this.#chooseLayout()
  }

  #learn(layout: LogLayout): void {
    if (this.#layout === layout) return
    this.#layout = layout
    if (layout === 'messages') this.#onMessagesLayout()
  }
}
