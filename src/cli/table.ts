import { displayWidth, escapeForTerminal } from './terminal-text.ts'

/**
 * Plain-text columns padded to the widest cell as a terminal shows it (CJK and emoji are two
 * columns wide, not one `.length`); the last column is never padded. Cells are escaped first, so
 * a control character in an ID can neither act nor skew the columns.
 */
export function renderTable(headers: string[], data: string[][]): string[] {
  const rows = data.map((row) => row.map(escapeForTerminal))
  const widths = headers.map((header, column) =>
    Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[column] ?? ''))),
  )
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + ' '.repeat((widths[column] ?? 0) - displayWidth(cell)),
      )
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)]
}
