import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Kubelet's container log layout: <root>/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log
 * (rotated files get a suffix: `0.log.20261125-185000`, and are not followed: the tailer reads a rotated
 * file to its end through the descriptor it already has).
 */
export interface PodLogFile {
  path: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  restartCount: number;
}

const CURRENT = /^(\d+)\.log$/;

/** Identity of one log file, or undefined when the path does not follow the layout. */
export function podLogFileOf(root: string, path: string): PodLogFile | undefined {
  const parts = relative(root, path).split(sep);
  if (parts.length !== 3) return undefined;
  const [podDir, container, file] = parts as [string, string, string];
  const m = CURRENT.exec(file);
  // Namespaces and pod names cannot contain `_`; the uid is last.
  const p = /^([^_]+)_([^_]+)_([^_]+)$/.exec(podDir);
  if (!m || !p || container.length === 0) return undefined;
  return { path, namespace: p[1]!, pod: p[2]!, podUid: p[3]!, container, restartCount: Number(m[1]) };
}

/** Current container log files under `root` (missing directories count as empty). */
export function listPodLogFiles(root: string): PodLogFile[] {
  const out: PodLogFile[] = [];
  for (const podDir of safeReaddir(root)) {
    for (const container of safeReaddir(join(root, podDir))) {
      for (const file of safeReaddir(join(root, podDir, container))) {
        const f = podLogFileOf(root, join(root, podDir, container, file));
        if (f) out.push(f);
      }
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
