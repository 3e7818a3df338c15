// Keys made by GnuPG for the Hockeypuck vectors: every algorithm GnuPG 2.2 makes, certified by each other, with
// added and revoked user IDs, signing subkeys, a photo ID, a local (non-exportable) signature exported anyway, and a
// key revoked by the certificate GnuPG writes at key generation. Real-world packets next to the hand-made ones of
// hockeypuck-rule-keys.ts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPackets, splitKeys } from '../../src/index.js';
import type { RuleKey } from './hockeypuck-rule-keys.js';

export function gnupgKeys(): RuleKey[] {
  const home = mkdtempSync(join(tmpdir(), 'hp-gnupg-'));
  const gpg = (args: string[], input?: string) => execFileSync('gpg', [
    '--homedir', home, '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--no-tty',
    '--expert', '--with-colons', ...args,
  ], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  const fingerprintOfUid = (uid: string) => {
    const line = gpg(['--list-keys', uid]).split('\n').find((l) => l.startsWith('fpr:'));
    return line!.split(':')[9]!;
  };
  try {
    const made: Array<{ label: string; fpr: string }> = [];
    const gen = (label: string, uid: string, algo: string, sub?: string) => {
      gpg(['--quick-gen-key', uid, algo, 'cert,sign', 'never']);
      const fpr = fingerprintOfUid(uid);
      if (sub) gpg(['--quick-add-key', fpr, sub, 'encr', 'never']);
      made.push({ label, fpr });
      return fpr;
    };
    const rsa = gen('GnuPG: RSA-3072 + RSA-3072 encryption', 'GnuPG RSA <rsa@gnupg.example>', 'rsa3072', 'rsa3072');
    const dsa = gen('GnuPG: DSA-2048 + ElGamal-2048', 'GnuPG DSA <dsa@gnupg.example>', 'dsa2048', 'elg2048');
    const ed = gen('GnuPG: EdDSA Ed25519 + Curve25519', 'GnuPG Ed25519 <ed25519@gnupg.example>', 'ed25519', 'cv25519');
    gen('GnuPG: ECDSA NIST P-256 + ECDH', 'GnuPG P-256 <p256@gnupg.example>', 'nistp256', 'nistp256');
    gen('GnuPG: ECDSA NIST P-384 + ECDH', 'GnuPG P-384 <p384@gnupg.example>', 'nistp384', 'nistp384');
    gen('GnuPG: ECDSA NIST P-521 + ECDH', 'GnuPG P-521 <p521@gnupg.example>', 'nistp521', 'nistp521');
    gen('GnuPG: ECDSA brainpoolP256r1 + ECDH', 'GnuPG BP-256 <bp256@gnupg.example>', 'brainpoolP256r1', 'brainpoolP256r1');
    gen('GnuPG: ECDSA brainpoolP384r1 + ECDH', 'GnuPG BP-384 <bp384@gnupg.example>', 'brainpoolP384r1', 'brainpoolP384r1');
    gen('GnuPG: ECDSA brainpoolP512r1 + ECDH', 'GnuPG BP-512 <bp512@gnupg.example>', 'brainpoolP512r1', 'brainpoolP512r1');
    gen('GnuPG: ECDSA secp256k1 + ECDH', 'GnuPG K-256 <k256@gnupg.example>', 'secp256k1', 'secp256k1');
    gen('GnuPG: RSA-1024 with SHA-1 preference', 'GnuPG RSA1024 <rsa1024@gnupg.example>', 'rsa1024', 'rsa1024');

    // A well-used key: a second user ID, certifications by the others, a revoked user ID, signing subkeys.
    gpg(['--quick-add-uid', rsa, 'GnuPG RSA (work) <rsa.work@gnupg.example>']);
    gpg(['--quick-add-uid', rsa, 'GnuPG RSA (old) <rsa.old@gnupg.example>']);
    gpg(['--quick-revoke-uid', rsa, 'GnuPG RSA (old) <rsa.old@gnupg.example>']);
    gpg(['--quick-add-key', rsa, 'ed25519', 'sign', 'never']);
    gpg(['--quick-add-key', rsa, 'nistp256/ecdsa', 'sign', 'never']);
    for (const signer of [dsa, ed]) gpg(['-u', signer, '--quick-sign-key', rsa]);
    gpg(['-u', rsa, '--quick-sign-key', dsa]);
    gpg(['-u', ed, '--quick-lsign-key', dsa]);
    made.find((m) => m.fpr === rsa)!.label += ', two more user IDs (one revoked), signing subkeys, certified by DSA and EdDSA keys';
    made.find((m) => m.fpr === dsa)!.label += ', certified by RSA and locally (non-exportable) by EdDSA';

    // A photo ID: a JPEG header is all GnuPG checks. (Made unprotected: with --command-fd GnuPG would ask for the
    // empty passphrase of a quick-gen-key key on that descriptor.)
    gpg(['--gen-key'], '%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nSubkey-Type: ecdh\n' +
      'Subkey-Curve: cv25519\nName-Real: GnuPG Photo\nName-Email: photo@gnupg.example\nExpire-Date: 0\n%commit\n');
    const photo = fingerprintOfUid('photo@gnupg.example');
    made.push({ label: 'GnuPG: Ed25519 with a photo ID', fpr: photo });
    const jpeg = join(home, 'photo.jpg');
    writeFileSync(jpeg, Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), Buffer.alloc(300, 7), Buffer.from('ffd9', 'hex')]));
    gpg(['--command-fd', '0', '--edit-key', photo, 'addphoto', 'save'], `${jpeg}\n`);
    gpg(['-u', rsa, '--quick-sign-key', photo]);

    // A key revoked by the revocation certificate GnuPG made with it (reason 0, "no reason"): a hard revocation.
    const revoked = gen('GnuPG: RSA-2048 revoked by its generated revocation certificate (hard)', 'GnuPG Revoked <revoked@gnupg.example>', 'rsa2048', 'rsa2048');
    gpg(['-u', ed, '--quick-sign-key', revoked]);
    const rev = readdirSync(join(home, 'openpgp-revocs.d')).find((f) => f.startsWith(revoked))!;
    const cert = readFileSync(join(home, 'openpgp-revocs.d', rev), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
    const certFile = join(home, 'rev.asc');
    writeFileSync(certFile, cert);
    gpg(['--import', certFile]);

    return made.map(({ label, fpr }) => {
      const bytes = execFileSync('gpg', ['--homedir', home, '--batch', '--export', '--export-options', 'export-local-sigs', fpr]);
      const keys = splitKeys(readPackets(bytes));
      if (keys.length !== 1) throw new Error(`gpg exported ${keys.length} keys for ${fpr}`);
      return { label, packets: keys[0]! };
    });
  } finally {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    } catch {
      // no agent running
    }
    rmSync(home, { recursive: true, force: true });
  }
}
