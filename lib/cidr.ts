// IPv4 CIDR arithmetic for the network's ranges; pure, shared by config.ts and the Network component.

export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

/** "10.0.0.0/20" as its first and last address; undefined unless it is a canonical IPv4 CIDR. */
export function parseCidr(cidr: string): Ipv4Range | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((octet) => octet > 255) || prefix > 32) return undefined;
  const address = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return undefined; // host bits set: GCP rejects the range
  return { first: address, last: address + size - 1 };
}

/** The first pair of named CIDRs that overlap, e.g. ["podsCidr", "servicesCidr"]; undefined if none. */
export function findOverlap(cidrs: Readonly<Record<string, string>>): [string, string] | undefined {
  const ranges = Object.entries(cidrs).flatMap(([name, cidr]) => {
    const range = parseCidr(cidr);
    return range ? [{ name, range }] : [];
  });
  for (const [index, a] of ranges.entries()) {
    for (const b of ranges.slice(index + 1)) {
      if (a.range.first <= b.range.last && b.range.first <= a.range.last) return [a.name, b.name];
    }
  }
  return undefined;
}
