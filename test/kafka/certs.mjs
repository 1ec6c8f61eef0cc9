// Generates the test PKI of the secure broker with the JDK's keytool, offline: a trusted CA, the broker's keystore
// and truststore, a client certificate it signed, and a client certificate of a second CA the broker does not trust.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Password of every keystore; the stores live in the broker's throw-away data folder. */
export const STORE_PASSWORD = 'eddy-test-store';
const DAYS = '30';
const KEY = ['-keyalg', 'EC', '-groupname', 'secp256r1', '-validity', DAYS];
// Short-lived JVMs: skip the optimizing compiler and the parallel collector, which cost more than they save here.
const JVM = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData'];

/** Runs a JDK tool in `dir`; resolves when it exited 0. */
function jdk(dir, tool, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`${tool} could not run (a JDK is needed): ${err.message}`)));
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${tool} ${args.find((a) => !a.startsWith('-J'))} failed:\n${output}`)),
    );
  });
}

function keytool(dir, args) {
  const jvm = JVM.map((o) => `-J${o}`);
  return jdk(dir, 'keytool', [
    ...jvm,
    ...args,
    '-storetype',
    'PKCS12',
    '-storepass',
    STORE_PASSWORD,
    '-noprompt',
  ]);
}

async function newCa(dir, name, cn) {
  await keytool(dir, [
    '-genkeypair',
    '-keystore',
    `${name}.p12`,
    '-alias',
    'ca',
    '-dname',
    `CN=${cn}`,
    ...KEY,
    '-ext',
    'bc:c',
  ]);
  await keytool(dir, [
    '-exportcert',
    '-rfc',
    '-keystore',
    `${name}.p12`,
    '-alias',
    'ca',
    '-file',
    `${name}.pem`,
  ]);
}

/**
 * A key pair in `<name>.p12` (alias `leaf`) and its certificate signed by CA `ca` (once `caReady` resolves), as PEM
 * in `<name>.pem`.
 */
async function newLeaf(dir, name, cn, ca, caReady, ext = []) {
  await keytool(dir, [
    '-genkeypair',
    '-keystore',
    `${name}.p12`,
    '-alias',
    'leaf',
    '-dname',
    `CN=${cn}`,
    ...KEY,
  ]);
  await keytool(dir, ['-certreq', '-keystore', `${name}.p12`, '-alias', 'leaf', '-file', `${name}.csr`]);
  await caReady;
  await keytool(dir, [
    '-gencert',
    '-rfc',
    '-keystore',
    `${ca}.p12`,
    '-alias',
    'ca',
    '-infile',
    `${name}.csr`,
    '-outfile',
    `${name}.pem`,
    '-validity',
    DAYS,
    ...ext,
  ]);
}

// keytool cannot write a private key as PEM: this reads each PKCS12 store's key and prints it as PKCS#8 PEM.
const KEY_EXPORT = `
import java.io.FileInputStream;
import java.nio.file.*;
import java.security.KeyStore;
import java.util.Base64;
public class KeyExport {
  public static void main(String[] args) throws Exception {
    char[] password = args[0].toCharArray();
    for (int i = 1; i < args.length; i++) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      try (FileInputStream in = new FileInputStream(args[i] + ".p12")) { store.load(in, password); }
      String body = Base64.getMimeEncoder(64, "\\n".getBytes()).encodeToString(store.getKey("leaf", password).getEncoded());
      Files.writeString(Path.of(args[i] + "-key.pem"), "-----BEGIN PRIVATE KEY-----\\n" + body + "\\n-----END PRIVATE KEY-----\\n");
    }
  }
}
`;

function exportKeys(dir, names) {
  writeFileSync(join(dir, 'KeyExport.java'), KEY_EXPORT);
  return jdk(dir, 'java', [...JVM, 'KeyExport.java', STORE_PASSWORD, ...names]);
}

/** Where `generateCertificates(dir)` puts the broker's keystore and truststore. */
export function brokerStores(dir) {
  return { keystore: join(dir, 'broker.p12'), truststore: join(dir, 'truststore.p12') };
}

/**
 * Writes the PKI into `dir` and returns the file names: `broker.p12` (key and chain for `host`) and
 * `truststore.p12` (the trusted CA) for the broker; PEM files for Node clients.
 */
export async function generateCertificates(dir, { host = '127.0.0.1', clientCn = 'eddy-app' } = {}) {
  mkdirSync(dir, { recursive: true });
  // Independent steps run side by side: each keytool call is a JVM start.
  const ca = newCa(dir, 'ca', 'Eddy Test CA');
  const untrustedCa = newCa(dir, 'untrusted-ca', 'Eddy Untrusted CA');
  const broker = (async () => {
    await newLeaf(dir, 'broker', 'localhost', 'ca', ca, ['-ext', `SAN=dns:localhost,ip:${host}`]);
    // The broker presents its certificate with the chain: the CA first, then the signed certificate as its reply.
    await keytool(dir, ['-importcert', '-keystore', 'broker.p12', '-alias', 'ca', '-file', 'ca.pem']);
    await keytool(dir, ['-importcert', '-keystore', 'broker.p12', '-alias', 'leaf', '-file', 'broker.pem']);
  })();
  const truststore = ca.then(() =>
    keytool(dir, ['-importcert', '-keystore', 'truststore.p12', '-alias', 'ca', '-file', 'ca.pem']),
  );
  const clients = Promise.all([
    newLeaf(dir, 'client', clientCn, 'ca', ca),
    newLeaf(dir, 'untrusted-client', clientCn, 'untrusted-ca', untrustedCa),
  ]).then(() => exportKeys(dir, ['client', 'untrusted-client']));
  await Promise.all([broker, truststore, clients]);
  const pem = (name) => readFileSync(join(dir, name), 'utf8');
  return {
    ...brokerStores(dir),
    ca: pem('ca.pem'),
    untrustedCa: pem('untrusted-ca.pem'),
    client: { cert: pem('client.pem'), key: pem('client-key.pem') },
    untrustedClient: { cert: pem('untrusted-client.pem'), key: pem('untrusted-client-key.pem') },
  };
}
