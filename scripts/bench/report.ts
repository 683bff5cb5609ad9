/** The bench's table: one row per measure, its value, its ratio against a baseline, the issue's target, notes. */

export interface Row {
  what: string;
  value: string;
  /** e.g. "0.82 of bare Express"; empty for a baseline. */
  ratio?: string;
  /** The issue's target for the ratio or the value; empty when it sets none. */
  target?: string;
  note?: string;
}

export class Report {
  private readonly rows: Row[] = [];

  add(row: Row): void {
    this.rows.push(row);
    console.error(`  ${row.what}: ${row.value}  ${row.ratio ?? ''}  ${row.target ? `(target ${row.target})` : ''}`);
  }

  print(): void {
    const cols: (keyof Row)[] = ['what', 'value', 'ratio', 'target', 'note'];
    const head: Row = { what: 'measure', value: 'value', ratio: 'ratio', target: 'target', note: 'notes' };
    const all = [head, ...this.rows];
    const width = cols.slice(0, -1).map((c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
    const line = (r: Row) =>
      cols.map((c, i) => (i < width.length ? (r[c] ?? '').padEnd(width[i]!) : (r[c] ?? ''))).join(' | ');
    console.log(`\n${line(head)}`);
    console.log(cols.map((_, i) => '-'.repeat(i < width.length ? width[i]! : 5)).join('-|-'));
    for (const r of this.rows) console.log(line(r));
    console.log();
  }
}

/** `a / b` to two decimals, or 'n/a' when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !Number.isFinite(a / b) ? 'n/a' : (a / b).toFixed(2);
}

export const round = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a');
