// Peer addresses as node reports them, made comparable with the addresses people write in config files.

/** The address of a socket's peer without the IPv4-mapped IPv6 prefix ('::ffff:192.0.2.1' → '192.0.2.1'). */
export function plainAddress(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') && /^\d+\.\d+\.\d+\.\d+$/.test(a.slice(7)) ? a.slice(7) : a;
}
