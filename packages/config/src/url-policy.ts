/**
 * Which webhook URLs ttpush may call (SSRF): http and https only, no credentials in the URL, and every address the
 * host resolves to outside loopback, private, shared (100.64/10), link-local, unspecified, multicast and reserved
 * ranges (IPv4-mapped IPv6 addresses count as their IPv4 address), unless TTPUSH_WEBHOOK_ALLOWED_NETWORKS names
 * the range. The caller connects to the address checked here (never resolving again), so DNS rebinding between
 * the check and the connection cannot reach a refused address.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export class UrlRefusedError extends Error {
  override readonly name = 'UrlRefusedError';
  constructor(
    /** invalid_url, scheme_refused, credentials_refused, unresolvable, address_refused */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const REFUSED_V4: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const REFUSED_V6: [string, number][] = [
  // Unspecified, loopback and IPv4-compatible (::a.b.c.d) addresses.
  ['::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  // 6to4 and NAT64 prefixes reach IPv4 addresses (private ones too) through a gateway.
  ['2002::', 16],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

export interface ResolvedTarget {
  url: URL;
  /** The address to connect to: checked, never resolved again. */
  address: string;
  family: 4 | 6;
}

export type Lookup = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** `::ffff:a.b.c.d` (or its hex form) → a.b.c.d; other addresses unchanged. */
function unmapped(address: string): { address: string; family: 4 | 6 } {
  const lower = address.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return { address: dotted[1]!, family: 4 };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const a = parseInt(hex[1]!, 16);
    const b = parseInt(hex[2]!, 16);
    return { address: `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`, family: 4 };
  }
  return { address, family: isIP(address) === 4 ? 4 : 6 };
}

export class UrlPolicy {
  private readonly refused = new BlockList();
  private readonly allowed = new BlockList();

  constructor(
    allowedNetworks: readonly string[] = [],
    private readonly lookup: Lookup = systemLookup,
  ) {
    for (const [net, bits] of REFUSED_V4) this.refused.addSubnet(net, bits, 'ipv4');
    for (const [net, bits] of REFUSED_V6) this.refused.addSubnet(net, bits, 'ipv6');
    for (const cidr of allowedNetworks) {
      const [net, bits] = cidr.split('/') as [string, string];
      this.allowed.addSubnet(net, Number(bits), isIP(net) === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** True when ttpush may connect to `address` (an IP literal). */
  addressAllowed(address: string): boolean {
    const a = unmapped(address);
    const type = a.family === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(a.address, type)) return true;
    return !this.refused.check(a.address, type);
  }

  /** Checks the URL's form only (no DNS): scheme, credentials, a host. */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UrlRefusedError('invalid_url', 'is not an absolute URL: write it like https://example.com/hooks');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new UrlRefusedError(
        'scheme_refused',
        `uses ${url.protocol.slice(0, -1)}: only https and http URLs are called`,
      );
    }
    if (url.username || url.password) {
      throw new UrlRefusedError('credentials_refused', 'carries a user name or password: remove them from the URL');
    }
    if (!url.hostname) throw new UrlRefusedError('invalid_url', 'has no host: write it like https://example.com/hooks');
    return url;
  }

  /**
   * The check that needs no DNS: the URL's form, and the address when the host is an IP literal. A host name is
   * resolved and checked when ttpush connects (resolve()), where the address is used.
   */
  checkWithoutDns(raw: string): void {
    const url = this.parse(raw);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) && !this.addressAllowed(host)) {
      throw new UrlRefusedError(
        'address_refused',
        `is ${host}, a loopback, private, link-local or reserved address: use a public address, or allow the range in TTPUSH_WEBHOOK_ALLOWED_NETWORKS`,
      );
    }
  }

  /** Parses, resolves and checks every address of the host; the target to connect to, or UrlRefusedError. */
  async resolve(raw: string): Promise<ResolvedTarget> {
    const url = this.parse(raw);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: { address: string; family: number }[];
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await this.lookup(host);
      } catch (err) {
        throw new UrlRefusedError(
          'unresolvable',
          `names the host ${host}, which does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'}): check the host name`,
        );
      }
      if (addresses.length === 0)
        throw new UrlRefusedError('unresolvable', `names the host ${host}, which has no address`);
    }
    // Every address must pass: a host that also resolves to a refused one could be rebound to it.
    for (const a of addresses) {
      if (!this.addressAllowed(a.address)) {
        // The address is named only when the caller wrote it: what a host name resolves to inside our network is
        // not the caller's to learn.
        throw new UrlRefusedError(
          'address_refused',
          `${isIP(host) ? `is ${a.address},` : `names the host ${host}, which resolves to`} a loopback, private, link-local or reserved address: use a public address, or allow the range in TTPUSH_WEBHOOK_ALLOWED_NETWORKS`,
        );
      }
    }
    const first = addresses[0]!;
    return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
  }
}
