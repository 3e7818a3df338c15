// ASCII armor (RFC 9580 §6): decode every armored block in a text, encode one.
// OWNER: keystore-openpgp helper.

/** Returns the binary contents of every `-----BEGIN PGP ...-----` block in text; checks the CRC when present. */
export function dearmor(text: string): Buffer[] {
  throw new Error('not implemented');
}

/** Armors binary data as a PUBLIC KEY BLOCK (or another type), as SKS and GnuPG write it. */
export function armor(data: Buffer, type = 'PUBLIC KEY BLOCK', headers: Record<string, string> = {}): string {
  throw new Error('not implemented');
}

/** Accepts armored or binary input (what /pks/add and the loader get) and returns binary. */
export function toBinary(input: Buffer | string): Buffer {
  throw new Error('not implemented');
}
