/*
 * The JQL subset Jira accepts in a dynamic webhook's `jqlFilter` (REST reference, "Register
 * dynamic webhooks"): fields issueKey, project, issuetype, status, assignee, reporter,
 * issue.property and cf[id]; operators =, !=, IN and NOT IN. Jira answers a registration with
 * anything else by an error inside a 200 body, so we refuse it at start-up instead.
 * Clauses may be joined with AND / OR and grouped with parentheses.
 */

const FIELDS = ['issuekey', 'project', 'issuetype', 'status', 'assignee', 'reporter'];

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

function tokenize(jql: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*")|('(?:[^'\\]|\\.)*')|(!=|=|\(|\)|,)|([^\s=!(),"']+))/y;
  let i = 0;
  while (i < jql.length) {
    if (/^\s*$/.test(jql.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(jql);
    if (!m) throw new Error(`unexpected character at position ${i}: "${jql.slice(i, i + 10)}"`);
    if (m[1] || m[2]) tokens.push({ kind: 'string', text: (m[1] ?? m[2]).slice(1, -1) });
    else if (m[3]) tokens.push({ kind: 'punct', text: m[3] });
    else tokens.push({ kind: 'word', text: m[4] });
    i = re.lastIndex;
  }
  return tokens;
}

const isField = (word: string): boolean => {
  const w = word.toLowerCase();
  return FIELDS.includes(w) || /^cf\[\d+\]$/.test(w) || /^issue\.property\[[^\]]+\](\.[\w.]+)?$/.test(w);
};

/** Throws an Error saying what is wrong when `jql` is outside the webhook subset. */
export function assertWebhookJql(jql: string): void {
  const tokens = tokenize(jql);
  if (tokens.length === 0) throw new Error('the JQL filter is empty');
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const word = (t: Token | undefined, w: string): boolean => t?.kind === 'word' && t.text.toUpperCase() === w;
  const punct = (t: Token | undefined, p: string): boolean => t?.kind === 'punct' && t.text === p;
  const expect = (p: string): void => {
    if (!punct(peek(), p)) throw new Error(`expected "${p}" ${peek() ? `before "${peek()!.text}"` : 'at the end'}`);
    pos += 1;
  };
  const value = (): void => {
    const t = peek();
    if (!t || t.kind === 'punct') throw new Error(`expected a value ${t ? `before "${t.text}"` : 'at the end'}`);
    if (t.kind === 'word' && ['AND', 'OR', 'NOT', 'IN', 'ORDER'].includes(t.text.toUpperCase())) {
      throw new Error(`expected a value, got the keyword "${t.text}"`);
    }
    pos += 1;
    if (punct(peek(), '(')) throw new Error(`functions such as "${t.text}()" are not supported in webhook JQL`);
  };
  const clause = (): void => {
    const field = peek();
    if (!field || field.kind !== 'word' || !isField(field.text)) {
      throw new Error(`"${field?.text ?? ''}" is not a field webhook JQL supports (issueKey, project, issuetype, status, assignee, reporter, issue.property, cf[id])`);
    }
    pos += 1;
    const op = peek();
    if (punct(op, '=') || punct(op, '!=')) {
      pos += 1;
      value();
      return;
    }
    const list = (): void => {
      expect('(');
      value();
      while (punct(peek(), ',')) {
        pos += 1;
        value();
      }
      expect(')');
    };
    if (word(op, 'IN')) {
      pos += 1;
      return list();
    }
    if (word(op, 'NOT') && word(tokens[pos + 1], 'IN')) {
      pos += 2;
      return list();
    }
    throw new Error(`operator "${op?.text ?? ''}" after ${field.text} is not supported in webhook JQL (only =, !=, IN, NOT IN)`);
  };
  const term = (): void => {
    if (punct(peek(), '(')) {
      pos += 1;
      expr();
      expect(')');
    } else {
      clause();
    }
  };
  const expr = (): void => {
    term();
    while (word(peek(), 'AND') || word(peek(), 'OR')) {
      pos += 1;
      term();
    }
  };
  expr();
  if (pos < tokens.length) throw new Error(`unexpected "${tokens[pos].text}" (ORDER BY and other keywords are not supported in webhook JQL)`);
}
