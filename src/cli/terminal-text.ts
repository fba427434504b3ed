import stringWidth from 'string-width'

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts screen clears, cursor
 * moves, OSC 52 clipboard writes; CR overwrites a line), DEL, C1 controls (0x9b is a one-byte CSI
 * on some terminals), line/paragraph separators, and the bidirectional overrides that make text
 * read differently from what it is. A session ID or a message is data from the store: every one
 * of these is shown as a visible `\uXXXX` escape. The same escape is valid inside a JSON string,
 * so JSON output (which cannot hold a raw C0 control anyway) stays valid and means the same.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Columns the text takes on a terminal: CJK and most emoji take two, combining marks none. */
export function displayWidth(text: string): number {
  return stringWidth(text, { countAnsiEscapeCodes: true })
}

/**
 * Escapes like `escapeForTerminal` but keeps line breaks and tabs, which only move the cursor
 * forward: for lines of text and replies streamed as they arrive. Table cells use
 * `escapeForTerminal`, where a tab would break the columns.
 */
export function escapeKeepingLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.split('\t').map(escapeForTerminal).join('\t'))
    .join('\n')
}
