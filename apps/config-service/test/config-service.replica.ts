/**
 * One running config-service of a ConfigServiceBed (the primary or a further
 * replica on the same database): its app, the REST mirror and a gRPC client
 * for it, called with a tenant's admin token.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AgentCertificateReconciler, AgentCertificateSweeper, AgentCredentialServices, FleetApiService, PackageReconciler, PackageRetrySweeper, Reconciler, RolloutDriver } from '@opamp/desired-state';
import { FLEET_API, findFleetApiProto, LOADER_OPTIONS } from '@opamp/platform-api';
import { createConfigServiceApp } from '../src/app';
import { IDENTITY, PACKAGE_RETRIES, PACKAGES, RECONCILER, ROLLOUT_DRIVER } from '../src/config-service.module';
import type { ConfigServiceConfig } from '../src/config/config-service.config';

export interface BedTenant {
  readonly id: string;
  readonly token: string;
}

export interface RestResult {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

/** Whose credential a call carries: a bed tenant's admin token (default the first), or any `token`. */
export interface CallAs {
  tenant?: number;
  token?: string;
}

export type GrpcClient = grpc.Client &
  Record<
    string,
    ((req: unknown, md: grpc.Metadata, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall) &
      ((req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<Record<string, unknown>>)
  >;

export class ConfigServiceReplica {
  private constructor(
    readonly config: ConfigServiceConfig,
    readonly app: NestExpressApplication,
    readonly httpBase: string,
    readonly grpcClient: GrpcClient,
    private readonly tenants: readonly BedTenant[],
  ) {}

  /** Starts config-service with `config` (ports included); its reconciler may still be joining its group. */
  static async start(config: ConfigServiceConfig, tenants: readonly BedTenant[]): Promise<ConfigServiceReplica> {
    const app = await createConfigServiceApp(config, { logger: false });
    const def = protoLoader.loadSync(findFleetApiProto().protoPath, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { fleet: { v1: { FleetService: grpc.ServiceClientConstructor } } };
    const client = new pkg.fleet.v1.FleetService(`127.0.0.1:${config.grpcPort}`, grpc.credentials.createInsecure()) as GrpcClient;
    return new ConfigServiceReplica(config, app, `http://127.0.0.1:${config.httpPort}`, client, tenants);
  }

  get api(): FleetApiService {
    return this.app.get<FleetApiService>(FLEET_API);
  }

  get reconciler(): Reconciler {
    return this.app.get<Reconciler>(RECONCILER);
  }

  get rolloutDriver(): RolloutDriver {
    return this.app.get<RolloutDriver>(ROLLOUT_DRIVER);
  }

  /** Desired packages: the package reconciler. */
  get packages(): PackageReconciler {
    return this.app.get<PackageReconciler>(PACKAGES);
  }

  /** Agents' identity: their credentials, the directory, the reconciler of enrollments and offers. */
  get identity(): AgentCredentialServices {
    return this.app.get<AgentCredentialServices>(IDENTITY);
  }

  /** Agents' CSRs (issue 18): judged, waiting or signed. */
  get certificateRequests(): AgentCertificateReconciler {
    return this.app.get<{ certificateReconciler: AgentCertificateReconciler }>(IDENTITY).certificateReconciler;
  }

  /** Failed package installs offered again after their back-off. */
  get packageRetries(): PackageRetrySweeper {
    return this.app.get<PackageRetrySweeper>(PACKAGE_RETRIES);
  }

  /** Certificates' expiry and CAs' retirement. */
  get certificateSweeper(): AgentCertificateSweeper {
    return this.app.get<{ certificateSweeper: AgentCertificateSweeper }>(IDENTITY).certificateSweeper;
  }

  /** The authorization header value of a call. */
  bearer(as: CallAs = {}): string {
    return `Bearer ${as.token ?? this.tenants[as.tenant ?? 0].token}`;
  }

  /** A REST call with a JSON body (or `raw` as it is, with its own headers). */
  async rest(method: string, path: string, body?: unknown, options: CallAs & { headers?: Record<string, string>; raw?: string | Uint8Array } = {}): Promise<RestResult> {
    const res = await fetch(`${this.httpBase}/api/v1${path}`, {
      method,
      headers: { authorization: this.bearer(options), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
  }

  /** A gRPC call; rejects with the ServiceError. Bounded by `deadlineMs` so that a wedged call fails instead of hanging. */
  rpc(name: string, req: unknown, options: CallAs & { deadlineMs?: number } = {}): Promise<Record<string, unknown>> {
    const md = new grpc.Metadata();
    md.set('authorization', this.bearer(options));
    const deadline = new Date(Date.now() + (options.deadlineMs ?? 10_000));
    return new Promise((resolve, reject) => this.grpcClient[name](req, md, { deadline }, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>))));
  }

  async close(): Promise<void> {
    this.grpcClient.close();
    await this.app.close();
  }
}
