// A throwaway Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok with simulated nodes, under a temporary folder, with a kubeconfig for kubectl.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from './api.js';
import { waitFor } from './wait.js';

/** The simulated nodes' names. */
export const NODES = ['kwok-node-0', 'kwok-node-1', 'kwok-node-2'];

interface Component {
  name: string;
  child: ChildProcess;
  log: string;
  exited?: string;
}

export class Cluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'eddy-k8s-verify-'));
  readonly kubeconfig = join(this.dir, 'kubeconfig');
  private readonly token = randomBytes(24).toString('hex');
  private readonly components: Component[] = [];
  private closed = false;
  api!: Api;

  constructor(
    private readonly bin: string,
    private readonly kwokStages: string,
  ) {}

  /** Starts every component in turn, each once the one it needs is ready. */
  async start(): Promise<void> {
    const [etcdClient, etcdPeer, apiPort, cmPort, schedPort, kwokPort] = await freePorts(6);
    const server = `https://127.0.0.1:${apiPort}`;
    this.api = new Api(server, this.token);

    this.spawn('etcd', [
      '--name=verify',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=verify=http://127.0.0.1:${etcdPeer}`,
      // A cluster that lives for minutes: no fsync.
      '--unsafe-no-fsync',
    ]);
    await waitFor('etcd to report healthy', () =>
      get(`http://127.0.0.1:${etcdClient}/health`).then((b) => (b.includes('"true"') ? true : undefined)),
    );
    this.log(`etcd up on 127.0.0.1:${etcdClient}`);

    // The token file gives the one client (kubectl, the controllers, kwok, these checks) cluster-admin.
    writeFileSync(join(this.dir, 'tokens.csv'), `${this.token},verify-admin,verify-admin,system:masters\n`);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(this.dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(this.dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    this.spawn('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--token-auth-file=${join(this.dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      `--service-account-key-file=${join(this.dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(this.dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
    ]);
    writeFileSync(
      this.kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'verify', cluster: { server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'verify-admin', user: { token: this.token } }],
        contexts: [{ name: 'verify', context: { cluster: 'verify', user: 'verify-admin' } }],
        'current-context': 'verify',
      }),
    );
    await waitFor(
      'the API server to be ready (/readyz)',
      async () => ((await this.api.call('GET', '/readyz')).status === 200 ? true : undefined),
      () => this.exitedSummary(),
      { timeoutMs: 180_000 },
    );
    this.log(`kube-apiserver up on ${server}`);

    // Delegated authentication and authorization go through the same kubeconfig; the root CA published to pods is
    // the API server's own self-signed one.
    const delegation = [
      `--authentication-kubeconfig=${this.kubeconfig}`,
      `--authorization-kubeconfig=${this.kubeconfig}`,
    ];
    this.spawn('kube-controller-manager', [
      `--kubeconfig=${this.kubeconfig}`,
      ...delegation,
      `--root-ca-file=${join(this.dir, 'apiserver-certs', 'apiserver.crt')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(this.dir, 'sa.key')}`,
      '--use-service-account-credentials=false',
    ]);
    this.spawn('kube-scheduler', [
      `--kubeconfig=${this.kubeconfig}`,
      ...delegation,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--leader-elect=false',
    ]);
    for (const [name, port] of [
      ['kube-controller-manager', cmPort],
      ['kube-scheduler', schedPort],
    ] as const) {
      await waitFor(
        `${name} to be healthy (/healthz)`,
        () => getInsecure(`https://127.0.0.1:${port}/healthz`).then((b) => (b === 'ok' ? true : undefined)),
        () => this.exitedSummary(),
      );
      this.log(`${name} up on 127.0.0.1:${port}`);
    }

    const stages = readdirSync(this.kwokStages).map((f) => `--config=${join(this.kwokStages, f)}`);
    this.spawn('kwok', [
      `--kubeconfig=${this.kubeconfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--server-address=127.0.0.1:${kwokPort}`,
      '--cidr=10.244.0.0/16',
      '--node-ip=127.0.0.1',
      ...stages,
    ]);
    for (const [i, name] of NODES.entries()) {
      const res = await this.api.call('POST', '/api/v1/nodes', fakeNode(name, i));
      if (res.status !== 201) throw new Error(`creating node ${name}: HTTP ${res.status}`);
    }
    let ready = 0;
    await waitFor(
      `kwok to report the ${NODES.length} simulated nodes Ready`,
      async () => {
        const nodes = await this.api.get('/api/v1/nodes');
        ready = nodes.items.filter((n: { status?: { conditions?: { type: string; status: string }[] } }) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        return ready === NODES.length ? true : undefined;
      },
      () => `${ready} Ready; ${this.exitedSummary()}`,
    );
    this.log(`kwok up, ${NODES.length} simulated nodes Ready (${NODES.join(', ')})`);
  }

  /** A component's log, the last lines, for a failure report. */
  tail(name: string, lines = 15): string {
    const c = this.components.find((x) => x.name === name);
    if (c === undefined) return '';
    return readFileSync(c.log, 'utf8').split('\n').slice(-lines).join('\n');
  }

  /** Stops every component (SIGTERM, SIGKILL after 10 s) and removes the folder unless asked to keep it. */
  async close(keep = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.components].reverse().map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exited !== undefined || c.child.exitCode !== null || c.child.signalCode !== null)
              return resolve();
            const kill = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
            c.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.child.kill('SIGTERM');
          }),
      ),
    );
    if (keep) this.log(`kept ${this.dir} (logs of every component in it)`);
    else rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops everything at once, synchronously: for a process that is exiting. */
  killNow(): void {
    for (const c of this.components) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  }

  private spawn(name: string, args: string[]): void {
    const log = join(this.dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(join(this.bin, name), args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const component: Component = { name, child, log };
    child.on('exit', (code, signal) => {
      component.exited = `${name} exited (${signal ?? code}); log ${log}`;
    });
    child.on('error', (e) => {
      component.exited = `${name} could not start: ${e.message}`;
    });
    this.components.push(component);
  }

  private exitedSummary(): string {
    const gone = this.components.filter((c) => c.exited !== undefined && !this.closed);
    return gone.length === 0 ? 'all components running' : gone.map((c) => c.exited).join('; ');
  }

  private log(line: string): void {
    console.log(`  ${line}`);
  }
}

/** A node kwok manages (by its annotation), with room for every pod the checks create. */
function fakeNode(name: string, index: number): unknown {
  const capacity = { cpu: '32', memory: '128Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': `zone-${'abc'[index % 3]}`,
        type: 'kwok',
      },
    },
    status: { allocatable: capacity, capacity },
  };
}

/** Ports free on loopback now (the components bind them a moment later). */
async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        s.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

function getInsecure(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { timeout: 5_000, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}
