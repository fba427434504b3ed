import type { AnyCliCommand } from './cli-command.ts'

export interface OptionSpec {
  /** cac syntax: `--store <store>` takes a value, `--json` is a switch. */
  flags: string
  description: string
}

export interface CommandSpec {
  /** `chat`, or `sessions list`: the first word groups commands. */
  name: string
  /** cac syntax for positional arguments: `<id>` required, `[file]` optional. */
  args?: string
  description: string
  /** The usage line in `--help` when the arguments alone do not tell it. */
  usage?: string
  options: OptionSpec[]
  examples?: string[]
  /** Loaded only when this command runs, so `tether chat` never loads the export code and vice versa. */
  load(): Promise<{ command: AnyCliCommand }>
}

export const storeOption: OptionSpec = {
  flags: '--store <store>',
  description:
    'Where sessions live: file:DIR (or a path), or s3://BUCKET/PREFIX. Default: $TETHER_STORE, else the per-user data directory',
}
const endpointOption: OptionSpec = {
  flags: '--endpoint <url>',
  description: 'S3-compatible endpoint for s3:// stores (MinIO, R2, a local server)',
}
const jsonOption: OptionSpec = { flags: '--json', description: 'Print JSON for scripts instead of a table' }
const keyFileOption: OptionSpec = {
  flags: '--key-file <file>',
  description:
    'Keys of an encrypted store, one ID:BASE64 a line, first encrypts (default: $TETHER_KEY_FILE; docs/encryption.md)',
}

/** Options every command takes. */
export const globalOptions: OptionSpec[] = [
  { flags: '--debug', description: 'Print stack traces and causes of errors' },
]

const sessionOptions = [storeOption, endpointOption, keyFileOption, jsonOption]

/** The command table: what `tether` can do. Each entry's module holds its schema, run and render. */
export const commandTable: CommandSpec[] = [
  {
    name: 'chat',
    usage: 'chat --session <id> [options]',
    description: 'Chat with a model; the conversation is stored in a session and restored next time',
    options: [
      { flags: '--session <id>', description: 'The session to restore and continue (created if new)' },
      storeOption,
      endpointOption,
      keyFileOption,
      {
        flags: '--provider <name>',
        description: 'openai, anthropic or bedrock (default: from the environment)',
      },
      { flags: '--model <name>', description: 'Model name, e.g. gpt-4.1-mini, claude-sonnet-4-6, llama3.2' },
      {
        flags: '--base-url <url>',
        description: 'An OpenAI-compatible server, e.g. http://localhost:11434/v1',
      },
      { flags: '--window <n>', description: 'Keep the last N messages in the context (default 40)' },
      { flags: '--system <text>', description: 'System prompt' },
    ],
    examples: [
      'tether chat --session user-123',
      'tether chat --session demo --provider openai --base-url http://localhost:11434/v1 --model llama3.2',
      "printf 'Hi\\nWhat did I say?\\n' | tether chat --session scripted",
    ],
    load: () => import('./commands/chat.ts'),
  },
  {
    name: 'sessions list',
    description: 'List the stored sessions',
    options: sessionOptions,
    load: () => import('./commands/sessions-list.ts'),
  },
  {
    name: 'sessions show',
    args: '<id>',
    description: 'Show the messages of a session (roles, tool calls and repairs marked)',
    options: [...sessionOptions, { flags: '--agent <id>', description: 'Only this agent of the session' }],
    load: () => import('./commands/sessions-show.ts'),
  },
  {
    name: 'sessions export',
    args: '<id>',
    description: 'Write a session as JSON or JSONL to stdout (or --output FILE)',
    options: [
      ...sessionOptions,
      {
        flags: '--format <format>',
        description: 'json (one document, default) or jsonl (one record a line)',
      },
      { flags: '--output <file>', description: 'Write to this file (mode 0600) instead of stdout' },
      { flags: '--force', description: 'Replace the --output file if it exists' },
    ],
    load: () => import('./commands/sessions-export.ts'),
  },
  {
    name: 'sessions import',
    args: '[file]',
    description: 'Read an exported session (JSON or JSONL; stdin when no file or -) into the store',
    options: [...sessionOptions, { flags: '--replace', description: 'Replace a session with the same ID' }],
    load: () => import('./commands/sessions-import.ts'),
  },
  {
    name: 'sessions delete',
    args: '<id>',
    description: 'Delete a session with all its messages (its record need not be readable)',
    options: [
      ...sessionOptions,
      {
        flags: '--force',
        description: 'Remove whatever is stored under the ID even without a session record (leftovers)',
      },
    ],
    load: () => import('./commands/sessions-delete.ts'),
  },
  {
    name: 'sessions repair',
    args: '<id>',
    description: 'Repair a broken history (damaged records, interrupted tool calls) and print the report',
    options: [
      ...sessionOptions,
      { flags: '--dry-run', description: 'Report what would be repaired; write nothing' },
    ],
    load: () => import('./commands/sessions-repair.ts'),
  },
  {
    name: 'sessions verify',
    description: 'Check every session without writing; exit 3 if any is damaged',
    options: sessionOptions,
    load: () => import('./commands/sessions-verify.ts'),
  },
  {
    name: 'sessions migrate',
    description: 'Move file sessions in the older format (a file per message) to the current one',
    options: sessionOptions,
    load: () => import('./commands/sessions-migrate.ts'),
  },
  {
    name: 'sessions encrypt',
    args: '[id]',
    description: 'Seal a session stored in plaintext with --key-file (adopting encryption is never silent)',
    options: [...sessionOptions, { flags: '--all', description: 'Encrypt every session' }],
    examples: ['tether sessions encrypt --all --store file:./sessions --key-file ./tether.keys'],
    load: () => import('./commands/sessions-encrypt.ts'),
  },
  {
    name: 'sessions copy',
    args: '[id]',
    description: 'Copy a session (or --all) to another store: file <-> S3 migration, backups',
    options: [
      ...sessionOptions,
      { flags: '--all', description: 'Copy every session' },
      { flags: '--to <store>', description: 'The destination store (file:DIR or s3://BUCKET/PREFIX)' },
      { flags: '--to-endpoint <url>', description: 'S3-compatible endpoint for the destination' },
      { flags: '--replace', description: 'Replace sessions that already exist at the destination' },
    ],
    examples: ['tether sessions copy --all --store file:./sessions --to s3://my-bucket/tether'],
    load: () => import('./commands/sessions-copy.ts'),
  },
  {
    name: 'sync',
    args: '[id]',
    description: 'Sync local sessions (--store) with a remote store and show what is pending (docs/sync.md)',
    options: [
      ...sessionOptions,
      {
        flags: '--remote <store>',
        description: 'The store to sync with (s3://BUCKET/PREFIX or file:DIR); default $TETHER_REMOTE',
      },
      { flags: '--remote-endpoint <url>', description: 'S3-compatible endpoint for an s3:// remote' },
      { flags: '--status', description: 'Only show what is pending, last sync and last error (no network)' },
      { flags: '--recheck', description: "Compare whole histories (pulls other devices' redactions)" },
    ],
    examples: ['tether sync --store file:./sessions --remote s3://my-bucket/tether', 'tether sync --status'],
    load: () => import('./commands/sync.ts'),
  },
]
