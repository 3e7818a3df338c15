// One line of a benchmark table: our figure beside SKS's on the same data and machine (bench/run.ts prints them).
export interface Row {
  metric: string;
  ours: number | string;
  sks: number | string;
  /** ours/sks where bigger is better, sks/ours where smaller is better. */
  ratio?: number;
  unit?: string;
  target?: string;
}
