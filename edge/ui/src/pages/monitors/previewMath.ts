/** The comparison a monitor applies to its value (vmalert and the SQL evaluator apply the same). */
export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** Whether `value <op> threshold` holds: the alert condition. */
export function conditionHolds(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
