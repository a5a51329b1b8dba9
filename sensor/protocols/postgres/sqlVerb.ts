/**
 * The SQL verb of a statement (`SELECT`, `INSERT`, ...): the first keyword after leading blanks,
 * comments and parentheses. Shared by the PostgreSQL and MySQL parsers. Looks at a bounded prefix only.
 */
const MAX_SCAN = 256;

export function sqlVerb(query: string): string {
  const end = Math.min(query.length, MAX_SCAN);
  let i = 0;
  while (i < end) {
    const c = query.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x28 /* ( */) {
      i++;
    } else if (c === 0x2d && query.charCodeAt(i + 1) === 0x2d) {
      const nl = query.indexOf('\n', i);
      i = nl < 0 ? end : nl + 1;
    } else if (c === 0x2f && query.charCodeAt(i + 1) === 0x2a) {
      const close = query.indexOf('*/', i + 2);
      i = close < 0 ? end : close + 2;
    } else {
      break;
    }
  }
  let j = i;
  while (j < end && isWordChar(query.charCodeAt(j))) j++;
  if (j === i || j - i > 12) return '';
  const word = query.slice(i, j).toUpperCase();
  // Only known keywords become methods: garbage text must not create new metric label values.
  return SQL_VERBS.has(word) ? word : '';
}

const SQL_VERBS = new Set(
  (
    'SELECT INSERT UPDATE DELETE MERGE UPSERT REPLACE WITH VALUES TABLE CREATE ALTER DROP TRUNCATE RENAME ' +
    'GRANT REVOKE BEGIN START COMMIT ROLLBACK SAVEPOINT RELEASE END ABORT PREPARE EXECUTE DEALLOCATE SET ' +
    'RESET SHOW SHOW USE DESC DESCRIBE EXPLAIN ANALYZE VACUUM COPY CALL DO DECLARE FETCH MOVE CLOSE LOCK ' +
    'LISTEN NOTIFY UNLISTEN DISCARD CHECKPOINT CLUSTER REINDEX REFRESH COMMENT SECURITY LOAD HANDLER KILL ' +
    'FLUSH OPTIMIZE REPAIR CHECKSUM INSTALL UNINSTALL XA'
  ).split(' '),
);

function isWordChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
