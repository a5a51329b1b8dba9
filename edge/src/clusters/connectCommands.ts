/**
 * The commands that connect a cluster to the edge, in one place so the Helm chart (infra/helm/understory) and
 * the CLI (`understory up`) can be kept in line with them. Every interpolated value is shell-quoted even though
 * the inputs are validated (cluster names are DNS labels, tokens base64url, the URL parsed).
 */
export const HELM_RELEASE = 'understory';
export const HELM_CHART = './infra/helm/understory';
export const HELM_NAMESPACE = 'understory';

export type ConnectInput = { edgeUrl: string; installToken: string; clusterName: string };

/** POSIX single quotes, only when needed: 'it'\''s'. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function connectCommands({ edgeUrl, installToken, clusterName }: ConnectInput) {
  const url = new URL(edgeUrl).origin;
  const helm = [
    'helm upgrade --install',
    HELM_RELEASE,
    HELM_CHART,
    `--namespace ${HELM_NAMESPACE} --create-namespace`,
    `--set ${shellQuote(`portal.edgeUrl=${url}`)}`,
    `--set ${shellQuote(`portal.installToken=${installToken}`)}`,
    `--set ${shellQuote(`clusterName=${clusterName}`)}`,
  ].join(' ');
  const local = `understory up --edge-url ${shellQuote(url)} --install-token ${shellQuote(installToken)}`;
  return { helm, local };
}
