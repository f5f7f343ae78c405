// BIRD 2 `birdc show protocols all`: one block per protocol, headed by a table line
// `Name Proto Table State Since Info`, BGP blocks carrying `BGP state:` and
// `Neighbor address:` lines.

export interface BirdBgpSession {
  name: string;
  /** BGP state (Established, Active, Connect, Idle...). */
  state: string;
  neighborIp?: string;
  neighborAs?: number;
  /** The Info column, e.g. `Socket: Connection refused`. */
  info: string;
}

export function parseBirdProtocols(text: string): BirdBgpSession[] {
  const out: BirdBgpSession[] = [];
  let current: BirdBgpSession | undefined;
  for (const line of text.split('\n')) {
    const head = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (head && !line.startsWith(' ') && head[1] !== 'Name' && !line.startsWith('BIRD ')) {
      current = head[2] === 'BGP' ? { name: head[1], state: head[6].split(/\s+/)[0] || head[4], info: head[6].trim() } : undefined;
      if (current) out.push(current);
      continue;
    }
    if (!current) continue;
    const field = /^\s+(BGP state|Neighbor address|Neighbor AS):\s+(\S+)/.exec(line);
    if (!field) continue;
    if (field[1] === 'BGP state') current.state = field[2];
    else if (field[1] === 'Neighbor address') current.neighborIp = field[2];
    else current.neighborAs = Number(field[2]);
  }
  return out;
}
