/**
 * vmalert's command line as Understory runs it (`understory up`, the tests; the Helm chart passes the same
 * flags). vmalert evaluates the rules file the evaluator writes and sends alerts to the evaluator's receiver.
 */
export interface VmalertArgsOptions {
  rulesFile: string;
  /** VictoriaMetrics base URL to query. */
  datasourceUrl: string;
  /** The evaluator's Alertmanager-compatible receiver base URL. */
  notifierUrl: string;
  listenAddr: string;
  /** Default group interval (each monitor's group sets its own). */
  evaluationInterval?: string;
  /** Minimum time between resends of a firing alert. */
  resendDelay?: string;
}

export function vmalertArgs(o: VmalertArgsOptions): { command: string; args: string[] } {
  return {
    command: 'vmalert',
    args: [
      `-rule=${o.rulesFile}`,
      `-datasource.url=${o.datasourceUrl}`,
      `-notifier.url=${o.notifierUrl}`,
      `-httpListenAddr=${o.listenAddr}`,
      `-evaluationInterval=${o.evaluationInterval ?? '30s'}`,
      ...(o.resendDelay ? [`-rule.resendDelay=${o.resendDelay}`] : []),
      // Templates of user rules are never used (messages are rendered by the evaluator): no Go template runs.
      '-rule.validateTemplates=true',
      '-loggerLevel=WARN',
    ],
  };
}
