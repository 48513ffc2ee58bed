/**
 * Owns the simulated OpAMP agent: its protocol state (instance uid, sequence
 * numbers, reported status) and its life cycle over either transport
 * (WebSocket or plain-HTTP polling). Where and how it connects (the offered connection settings, its
 * client certificate) is connection-target.ts's; remote configs and package offers are run by
 * remote-config / package-install .runner.ts, the WebSocket connection by ws-connection.runner.ts,
 * the plain-HTTP exchange in flight by http-exchange.runner.ts, error responses decided by
 * server-error.response.ts; the agent owns its protocol state, its timer and what it sends when.
 *
 * Cost per agent is kept small for swarms:
 *  - shared settings live in one resolved profile object (agent-options.ts);
 *  - exactly one timer per agent, armed for the earliest of its deadlines
 *    (heartbeat / poll, reconnect, simulated apply); a deadline that moves
 *    later does not re-arm the timer, the timer fires and re-arms itself;
 *  - socket event handlers and the message flush are module-level / static,
 *    so an agent holds no closures;
 *  - `received` is bounded (receivedLimit, 0 disables it).
 *
 * Sending: state changes set bits in `dirty` and queue the agent for one
 * flush on a microtask, so everything that changed while handling one
 * ServerToAgent goes out as one AgentToServer. WS sends at once; HTTP sends
 * with the next request, which starts immediately unless one is in flight
 * (one request at a time) or a retry delay is pending.
 */
import { EventEmitter } from 'node:events';
import {
  AgentCapabilities,
  CommandType,
  hasCapability,
  instanceUidToString,
  INSTANCE_UID_BYTES,
  newInstanceUidV7,
  opamp,
  ServerToAgentFlags,
} from '@opamp/protocol';
import {
  checkInstanceUid,
  resolveAgentProfile,
  type ResolvedProfile,
  type SimulatedAgentOptions,
  type TransportKind,
} from './agent-options';
import { fullJitterDelayMs, type Rng } from './backoff';
import { sameBytes } from './config-apply';
import { HttpExchangeRunner, type HttpExchangeHost } from './http-exchange.runner';
import { parseRetryAfterMs } from './retry-after';
import { serverErrorAction } from './server-error.response';
import {
  buildAgentToServer,
  FULL_STATE_PARTS,
  StatusPart,
  type AgentDescriptionInput,
  type HealthInput,
  type MessageExtras,
  type ConnectionSettingsReport,
  type RemoteConfigState,
} from './status-builder';
import { OneOffQueue, type OneOffItems } from './one-off.queue';
import type { AgentErrorKind, SimulatedAgentEvents } from './agent-events';
import { RemoteConfigRunner, type RemoteConfigHost } from './remote-config.runner';
import { PackageInstallRunner, type PackageInstallHost } from './package-install.runner';
import { OwnMetricsRunner } from './own-metrics.runner';
import { ConnectionTarget, type ConnectionTargetHost } from './connection-target';
import { WS_CLOSE_NORMAL, WsConnectionRunner, type WsConnectionHost } from './ws-connection.runner';

type ServerToAgent = opamp.proto.v1.ServerToAgent;

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

const DEFAULT_HEALTH: HealthInput = Object.freeze({ healthy: true, status: 'StatusOK' });
const NONE = Number.POSITIVE_INFINITY;
const EMPTY_BYTES = new Uint8Array(0);
/** Restart handling (plain HTTP): 1 = the disconnect message is queued, 2 = it is in flight. */
const RESTART_NONE = 0;
const RESTART_QUEUED = 1;
const RESTART_SENT = 2;

export class SimulatedAgent
  extends EventEmitter<SimulatedAgentEvents>
  implements WsConnectionHost, HttpExchangeHost, RemoteConfigHost, ConnectionTargetHost, PackageInstallHost
{
  private static flushQueue: SimulatedAgent[] = [];
  private static flushScheduled = false;

  private readonly profile: ResolvedProfile;
  private readonly options: SimulatedAgentOptions;
  private uid: Buffer;
  private seq = 0;
  private phase: Phase = 'idle';

  // Reported state.
  private healthState: HealthInput;
  private healthTimeMs = 0;
  private startTimeMs = 0;
  private readonly remote: RemoteConfigRunner;
  private heartbeatMs: number;

  // What goes out next.
  private dirty = 0;
  private readonly oneOff = new OneOffQueue();
  private flushQueued = false;
  private lastSentParts = 0;
  private lastSentAt = 0;

  // Connection.
  private readonly target: ConnectionTarget;
  /** WebSocket: the connection (undefined for HTTP agents). */
  private readonly ws: WsConnectionRunner | undefined;
  /** Plain HTTP: the exchange in flight (undefined for WS agents). */
  private readonly http: HttpExchangeRunner | undefined;
  private isConnected = false;
  private everConnected = false;
  private attempt = 0;
  private restartState = RESTART_NONE;
  private idleWaiter: (() => void) | undefined;

  // The one timer and its deadlines (ms since epoch, NONE when unset).
  private timer: NodeJS.Timeout | undefined;
  private timerAt = NONE;
  private reconnectAt = NONE;

  /** Package offers (AcceptsPackages): created with the first. */
  private packages: PackageInstallRunner | undefined;
  /** Own metrics (profile ownMetrics, ReportsOwnMetrics): created with the first own_metrics offer. */
  private ownMetricsRunner: OwnMetricsRunner | undefined;

  /** Received ServerToAgent messages (oldest first), at most `receivedLimit`. */
  readonly received: ServerToAgent[] = [];
  /** AgentToServer messages sent. */
  sent = 0;
  /** ServerToAgent messages received (including ignored ones). */
  receivedCount = 0;
  /** Problems seen, by kind. */
  readonly errorsByKind: Partial<Record<AgentErrorKind, number>> = {};

  constructor(options: SimulatedAgentOptions) {
    super();
    this.options = options;
    this.profile = resolveAgentProfile(options);
    this.uid = options.instanceUid ? checkInstanceUid(options.instanceUid) : newInstanceUidV7();
    this.healthState = options.health ?? DEFAULT_HEALTH;
    this.remote = new RemoteConfigRunner(this.profile, this);
    this.heartbeatMs = this.profile.heartbeatIntervalMs;
    this.target = new ConnectionTarget(this.profile, this);
    this.ws = this.profile.transport === 'ws' ? new WsConnectionRunner(this.profile, options.localAddress, this.target, this) : undefined;
    this.http = this.profile.transport === 'http' ? new HttpExchangeRunner(this.profile, options.localAddress, this.target, this) : undefined;
  }

  // ---------------------------------------------------------------- state

  /** The current instance uid (changes when the server assigns a new one). */
  get instanceUid(): Buffer {
    return this.uid;
  }

  /** The instance uid as canonical UUID text. */
  get instanceUidString(): string {
    return instanceUidToString(this.uid);
  }

  /** The sequence_num the next AgentToServer will carry. */
  get sequenceNum(): number {
    return this.seq;
  }

  /** WS: the socket is open. HTTP: the last exchange succeeded. */
  get connected(): boolean {
    return this.isConnected;
  }

  get transport(): TransportKind {
    return this.profile.transport;
  }

  get capabilities(): number {
    return this.profile.capabilities;
  }

  get remoteConfigStatus(): RemoteConfigState {
    return this.remote.status;
  }

  get effectiveConfig(): opamp.proto.v1.IAgentConfigMap | undefined {
    return this.remote.effective;
  }

  get health(): HealthInput {
    return this.healthState;
  }

  /** The heartbeat / poll interval in force (the server may have changed it). */
  get heartbeatIntervalMs(): number {
    return this.heartbeatMs;
  }

  /** The package statuses it reports; undefined before the first package offer. */
  get packageStatuses(): opamp.proto.v1.IPackageStatuses | undefined {
    return this.packages?.statuses;
  }

  /** The last connection settings offer handled and how that went (undefined before the first). */
  get connectionSettingsStatus(): ConnectionSettingsReport | undefined {
    return this.target.outcome;
  }

  /** Where the agent connects now (the profile's endpoint until an offer was applied). */
  get endpoint(): string {
    return this.target.current.url.href;
  }

  /** The request headers the agent connects with now. */
  get connectionHeaders(): Readonly<Record<string, string>> {
    return this.target.current.headers;
  }

  /** The client certificate (PEM) it connects with now; undefined without one. */
  get clientCertificatePem(): string | undefined {
    return this.target.current.clientCertificate?.certPem;
  }

  /** The description it reports: with service.version of its own package once it installed one. */
  get description(): AgentDescriptionInput | undefined {
    return this.packages ? this.packages.description(this.options.description) : this.options.description;
  }

  get running(): boolean {
    return this.phase === 'running';
  }

  // ------------------------------------------------------------ life cycle

  /** Start the simulated process: connect (WS) or start polling (HTTP) with a full status report. */
  start(): void {
    if (this.phase === 'running' || this.phase === 'stopping') return;
    this.phase = 'running';
    this.beginProcess();
    this.target.start();
    if (this.ws) this.ws.connect();
    else this.scheduleFlush();
  }

  /**
   * Graceful shutdown: send an AgentToServer with agent_disconnect, then
   * close the WebSocket (or stop polling). Resolves when done or after
   * `stopTimeoutMs`.
   */
  async stop(): Promise<void> {
    if (this.phase !== 'running') return;
    this.phase = 'stopping';
    this.remote.cancel();
    this.packages?.cancel();
    await this.ownMetricsRunner?.stop();
    this.reconnectAt = NONE;
    this.clearTimer();
    const deadline = Date.now() + this.profile.stopTimeoutMs;
    if (this.ws) {
      if (this.ws.open) {
        this.sendWs(0, { disconnect: true });
        this.ws.close('agent stopping');
        await this.waitIdle(deadline);
      }
      this.ws.terminate();
    } else {
      if (this.httpBusy) await this.waitIdle(deadline);
      if (!this.httpBusy && Date.now() < deadline) {
        this.sendHttp(0, { disconnect: true });
        await this.waitIdle(deadline);
      }
      this.http?.abort();
    }
    this.finishStop();
  }

  /** Abrupt death: destroy the socket, no disconnect message. */
  kill(): void {
    if (this.phase === 'idle' || this.phase === 'stopped') return;
    void this.ownMetricsRunner?.stop();
    this.phase = 'stopping';
    this.remote.cancel();
    this.packages?.cancel();
    this.reconnectAt = NONE;
    this.clearTimer();
    this.ws?.terminate();
    this.http?.abort();
    this.finishStop();
  }

  /** Change the reported health (sent at once on WS, with the next request on HTTP). */
  setHealth(health: HealthInput): void {
    this.healthState = health;
    this.healthTimeMs = Date.now();
    if (hasCapability(this.profile.capabilities, AgentCapabilities.ReportsHealth)) this.markDirty(StatusPart.Health);
  }

  /** Ask for the full state to be reported with the next message (and send it now). */
  reportFullState(): void {
    this.markDirty(FULL_STATE_PARTS);
  }

  /** Send a custom message for one of the declared custom capabilities. */
  sendCustomMessage(capability: string, type: string, data: Uint8Array): void {
    if (!this.profile.customCapabilities.includes(capability)) {
      throw new Error(`custom capability "${capability}" is not declared by this agent`);
    }
    this.oneOff.pushCustom({ capability, type, data });
    this.scheduleFlush();
  }

  /** Send a certificate signing request (PEM) in connection_settings_request with the next message (issue 18). */
  requestCertificate(csr: Uint8Array): void {
    this.oneOff.setCertificateRequest(csr);
    this.scheduleFlush();
  }

  /** Simulate a process restart (what a restart command does): disconnect, reconnect, seq from 0, full state. */
  restart(): void {
    if (this.phase !== 'running') return;
    this.emit('restart');
    this.remote.cancel();
    const ws = this.ws;
    if (ws) {
      ws.retryAfter(0);
      this.restartState = RESTART_SENT;
      if (ws.open) {
        this.sendWs(0, { disconnect: true });
        ws.close('agent restarting');
      } else if (ws.exists) {
        ws.terminate();
      } else {
        this.beginProcess();
        this.restartState = RESTART_NONE;
        this.reconnectAt = Date.now();
        this.armTimer();
      }
    } else {
      this.restartState = RESTART_QUEUED;
      this.scheduleFlush();
    }
  }

  private beginProcess(): void {
    this.seq = 0;
    this.startTimeMs = Date.now();
    if (this.healthTimeMs === 0) this.healthTimeMs = this.startTimeMs;
    this.everConnected = false;
    this.attempt = 0;
    this.ws?.retryAfter(undefined);
    this.dirty = FULL_STATE_PARTS;
  }

  private finishStop(): void {
    this.phase = 'stopped';
    this.ws?.forget();
    this.http?.abort();
    this.restartState = RESTART_NONE;
    this.setDisconnected(undefined, 'stopped');
    this.notifyIdle();
  }

  private waitIdle(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timeout);
        if (this.idleWaiter === done) this.idleWaiter = undefined;
        resolve();
      };
      const timeout = setTimeout(done, Math.max(0, deadline - Date.now()));
      this.idleWaiter = done;
    });
  }

  private notifyIdle(): void {
    const waiter = this.idleWaiter;
    this.idleWaiter = undefined;
    waiter?.();
  }

  private get httpBusy(): boolean {
    return this.http?.inFlight ?? false;
  }

  private setConnected(): void {
    if (this.isConnected) return;
    this.isConnected = true;
    this.emit('connected');
  }

  private setDisconnected(code: number | undefined, reason: string): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.emit('disconnected', { code, reason });
  }

  // ---------------------------------------------------------------- timer

  private static onTimer(agent: SimulatedAgent): void {
    agent.timer = undefined;
    agent.timerAt = NONE;
    agent.runDue(Date.now());
  }

  private runDue(now: number): void {
    this.remote.runDue(now);
    if (this.phase === 'running') {
      if (this.reconnectAt <= now) {
        this.reconnectAt = NONE;
        // WS: reconnect. HTTP: retry now (the failed message was requeued; a failed poll is a poll again).
        if (this.ws) this.ws.connect();
        else if (!this.httpBusy) this.sendPending();
      }
      if (this.idleSendAt() <= now) {
        if (this.profile.transport === 'ws') this.sendWs(this.takeDirty());
        else this.sendPending();
      }
    }
    this.armTimer();
  }

  /** When the next heartbeat (WS) or poll (HTTP) is due, NONE if not applicable now. */
  private idleSendAt(): number {
    if (this.phase !== 'running') return NONE;
    if (this.profile.transport === 'ws') {
      if (!this.ws?.open) return NONE;
      if (!hasCapability(this.profile.capabilities, AgentCapabilities.ReportsHeartbeat)) return NONE;
      return this.lastSentAt + this.heartbeatMs;
    }
    if (this.httpBusy || this.reconnectAt !== NONE || this.lastSentAt === 0) return NONE;
    return this.lastSentAt + this.heartbeatMs;
  }

  /** @internal (RemoteConfigHost) */
  armTimer(): void {
    const next = Math.min(this.remote.applyAt, this.phase === 'running' ? Math.min(this.reconnectAt, this.idleSendAt()) : NONE);
    if (next === NONE) {
      this.clearTimer();
      return;
    }
    // A timer that fires earlier than needed re-arms itself; only re-arm when the deadline moved earlier.
    if (this.timer && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(SimulatedAgent.onTimer, Math.max(0, next - Date.now()), this);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = NONE;
  }

  private scheduleRetry(delayMs: number): void {
    this.reconnectAt = Date.now() + delayMs;
    this.armTimer();
  }

  private backoffMs(): number {
    return fullJitterDelayMs(this.attempt++, this.profile.reconnect, this.rng());
  }

  /** @internal (RemoteConfigHost) */
  rng(): Rng {
    return this.options.rng ?? this.profile.rng;
  }

  private serverDelay(ms: number): number {
    return Math.max(this.profile.minRetryMs, ms);
  }

  // ---------------------------------------------------------------- flush

  /** @internal (RemoteConfigHost, ConnectionSettingsHost) */
  markDirty(parts: number): void {
    this.dirty |= parts;
    this.scheduleFlush();
  }

  /** @internal (ConnectionSettingsHost) */
  scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    SimulatedAgent.flushQueue.push(this);
    if (!SimulatedAgent.flushScheduled) {
      SimulatedAgent.flushScheduled = true;
      queueMicrotask(SimulatedAgent.drainFlushQueue);
    }
  }

  private static drainFlushQueue(this: void): void {
    const queue = SimulatedAgent.flushQueue;
    SimulatedAgent.flushQueue = [];
    SimulatedAgent.flushScheduled = false;
    for (const agent of queue) {
      agent.flushQueued = false;
      agent.flush();
    }
  }

  private flush(): void {
    if (this.phase !== 'running') return;
    if (this.profile.transport === 'ws') {
      if (!this.ws?.open) return;
      if (this.dirty !== 0 || !this.oneOff.pending) this.sendPending();
      while (this.oneOff.pending && this.ws.open) this.sendPending();
      this.maybeSwitch();
      return;
    }
    if (this.httpBusy || this.reconnectAt !== NONE) return;
    this.maybeSwitch();
    if (this.dirty !== 0 || this.oneOff.pending || this.restartState === RESTART_QUEUED) {
      this.sendPending();
    }
  }

  private takeDirty(): number {
    const parts = this.dirty;
    this.dirty = 0;
    return parts;
  }

  private sendPending(): void {
    if (this.profile.transport === 'ws') {
      const parts = this.takeDirty();
      const items = this.oneOff.take();
      if (parts === 0 && !items) return;
      this.sendWs(parts, items);
      return;
    }
    if (this.restartState === RESTART_QUEUED) {
      this.restartState = RESTART_SENT;
      this.sendHttp(0, { disconnect: true });
      return;
    }
    this.sendHttp(this.takeDirty(), this.oneOff.take());
  }

  private buildMessage(parts: number, extras?: MessageExtras): opamp.proto.v1.IAgentToServer {
    const profile = this.profile;
    return buildAgentToServer(
      {
        instanceUid: this.uid,
        sequenceNum: this.seq,
        capabilities: profile.capabilities,
        description: this.description,
        health: this.healthState,
        startTimeMs: this.startTimeMs,
        healthTimeMs: this.healthTimeMs,
        effectiveConfig: this.remote.effective,
        remoteConfig: this.remote.status,
        customCapabilities: profile.customCapabilities,
        availableComponents: profile.availableComponents,
        availableComponentsHash: profile.availableComponentsHash,
        connectionSettings: this.target.status,
        packageStatuses: this.packages?.statuses,
      },
      parts,
      extras,
    );
  }

  private noteSent(parts: number): void {
    this.seq++;
    this.sent++;
    this.lastSentParts = parts;
    this.lastSentAt = Date.now();
  }

  // ------------------------------------------------------------------- WS

  private sendWs(parts: number, extras?: MessageExtras): void {
    if (!this.ws?.open) return;
    this.ws.send(this.buildMessage(parts, extras));
    this.target.sentWs(parts);
    this.noteSent(parts);
    this.armTimer();
  }

  /** @internal (WsConnectionHost) */
  wsOpened(): void {
    this.attempt = 0;
    this.setConnected();
    // First message on a connection: the full state, except on a Go-style reconnect (only what changed).
    const compressed = this.everConnected && this.profile.firstMessageCompressedOnReconnect;
    this.everConnected = true;
    const parts = this.takeDirty() | (compressed ? 0 : FULL_STATE_PARTS);
    this.sendWs(parts);
    if (this.oneOff.pending) this.scheduleFlush();
    this.maybeSwitch();
  }

  /** @internal (WsConnectionHost) */
  wsMessage(message: ServerToAgent): void {
    this.handleServerMessage(message);
  }

  /** @internal (WsConnectionHost) */
  wsClosed(code: number, reason: string, retryMs: number | undefined): void {
    this.setDisconnected(code, reason);
    if (this.phase !== 'running') {
      this.notifyIdle();
      return;
    }
    if (this.restartState === RESTART_SENT) {
      this.restartState = RESTART_NONE;
      this.beginProcess();
      this.scheduleRetry(0);
      return;
    }
    if (this.target.closed()) {
      // The candidate was refused: back to the settings that worked a moment ago, at once.
      this.dirty |= FULL_STATE_PARTS;
      this.scheduleRetry(0);
      return;
    }
    if (retryMs === undefined && code !== WS_CLOSE_NORMAL && code !== 1006) {
      this.countError('transport', `WebSocket closed by the server (${code}${reason ? ` ${reason}` : ''})`);
    }
    this.scheduleRetry(retryMs ?? this.backoffMs());
  }

  /** @internal (WsConnectionHost) Retry delay for a throttling status with Retry-After; backoff for anything else. */
  throttleDelay(status: number, retryAfter: string | readonly string[] | undefined): number {
    if (status === 429 || status === 503) {
      const ms = parseRetryAfterMs(retryAfter);
      if (ms !== undefined) return this.serverDelay(ms);
    }
    return this.backoffMs();
  }

  // ----------------------------------------------------------------- HTTP

  private sendHttp(parts: number, extras?: MessageExtras): void {
    this.http?.send(parts, extras);
  }

  /** @internal (HttpExchangeHost) */
  httpMessage(parts: number, extras: MessageExtras | undefined): opamp.proto.v1.IAgentToServer {
    const message = this.buildMessage(parts, extras);
    this.noteSent(parts);
    this.target.sentHttp(parts);
    return message;
  }

  /** @internal (HttpExchangeHost) */
  httpFailed(carried: OneOffItems | undefined, text: string, status?: number, retryAfter?: string | readonly string[]): void {
    if (status === undefined) {
      this.failHttp(carried, 'transport', text, this.backoffMs());
    } else {
      const delay = this.throttleDelay(status, retryAfter);
      // 429 / 5xx: the server did not take the message, send it again. Other 4xx: it never will, drop it.
      const retry = status === 429 || status >= 500;
      this.failHttp(retry ? carried : undefined, 'http_status', text, delay, status, retry);
    }
    this.rollBackHttp(text);
  }

  /** @internal (HttpExchangeHost) */
  httpAnswered(): void {
    this.target.httpDone(undefined);
  }

  /** @internal (HttpExchangeHost) */
  httpMessageReceived(message: ServerToAgent): void {
    this.attempt = 0;
    this.setConnected();
    if (this.restartState === RESTART_SENT) {
      // The disconnect of the old process went out; the new process starts over.
      this.restartState = RESTART_NONE;
      this.receivedCount++;
      this.beginProcess();
      this.setDisconnected(undefined, 'restarting');
      return this.httpSettled();
    }
    this.handleServerMessage(message);
    this.maybeSwitch();
    this.httpSettled();
  }

  /** @internal (HttpExchangeHost) */
  httpStopped(): void {
    this.notifyIdle();
  }

  private failHttp(
    custom: OneOffItems | undefined,
    kind: AgentErrorKind,
    text: string,
    delayMs: number,
    status?: number,
    requeue = true,
  ): void {
    if (requeue) this.requeueLast(custom);
    this.setDisconnected(undefined, text);
    this.countError(kind, text, status, delayMs);
    this.reconnectAt = Date.now() + delayMs;
  }

  private requeueLast(items: OneOffItems | undefined): void {
    this.dirty |= this.lastSentParts;
    this.oneOff.requeue(items);
    if (this.restartState === RESTART_SENT) this.restartState = RESTART_QUEUED;
  }

  /** @internal (HttpExchangeHost) */
  httpSettled(): void {
    this.scheduleFlush();
    this.armTimer();
  }

  // ------------------------------------------------------- ServerToAgent

  private handleServerMessage(message: ServerToAgent): void {
    this.receivedCount++;
    if (this.phase !== 'running') return;
    if (!message.instanceUid || !sameBytes(message.instanceUid, this.uid)) {
      this.countError('uid_mismatch', 'ServerToAgent.instance_uid does not match the agent');
      return;
    }
    const limit = this.profile.receivedLimit;
    if (limit > 0) {
      if (this.received.length >= limit) this.received.shift();
      this.received.push(message);
    }
    this.emit('serverMessage', message);
    const caps = this.profile.capabilities;

    if (message.errorResponse) {
      this.handleErrorResponse(message.errorResponse);
      return;
    }
    // A command comes alone; like opamp-go, nothing else in the message is looked at.
    if (message.command) {
      if (
        hasCapability(caps, AgentCapabilities.AcceptsRestartCommand) &&
        (message.command.type ?? CommandType.CommandType_Restart) === CommandType.CommandType_Restart
      ) {
        this.restart();
      }
      return;
    }
    this.target.offer(message.connectionSettings);
    const ownMetrics = message.connectionSettings?.ownMetrics;
    if (ownMetrics && this.profile.ownMetrics && hasCapability(caps, AgentCapabilities.ReportsOwnMetrics)) {
      (this.ownMetricsRunner ??= new OwnMetricsRunner(this.profile.ownMetrics, () => this.uid, this.profile.rng, Date.now, () => this.remote.effective)).offer(ownMetrics);
    }
    const newUid = message.agentIdentification?.newInstanceUid;
    if (newUid && newUid.length > 0) {
      if (newUid.length === INSTANCE_UID_BYTES) {
        this.uid = Buffer.from(newUid);
        this.emit('instanceUid', this.uid);
      } else {
        this.countError('invalid_new_uid', `new_instance_uid must be ${INSTANCE_UID_BYTES} bytes, got ${newUid.length}`);
      }
    }
    if (message.remoteConfig) this.remote.offer(message.remoteConfig);
    if (message.packagesAvailable) (this.packages ??= new PackageInstallRunner(this.profile, this, this.options.description)).offer(message.packagesAvailable);
    const flags = message.flags ?? 0;
    if (flags & ServerToAgentFlags.ReportFullState) this.markDirty(FULL_STATE_PARTS);
    if (
      flags & ServerToAgentFlags.ReportAvailableComponents &&
      this.profile.availableComponents &&
      hasCapability(caps, AgentCapabilities.ReportsAvailableComponents)
    ) {
      this.markDirty(StatusPart.AvailableComponentsFull);
    }
    const custom = message.customMessage;
    if (custom && custom.capability && this.profile.customCapabilities.includes(custom.capability)) {
      this.emit('customMessage', { capability: custom.capability, type: custom.type ?? '', data: custom.data ?? EMPTY_BYTES });
    }
  }

  private handleErrorResponse(error: opamp.proto.v1.IServerErrorResponse): void {
    const action = serverErrorAction(error);
    if (action.kind !== 'unavailable') return this.countError(action.kind, action.text);
    const delay = action.retryMs !== undefined ? this.serverDelay(action.retryMs) : this.backoffMs();
    this.countError('unavailable', action.text, undefined, delay);
    // The server did not take the last message: it goes out again after the delay.
    this.requeueLast(undefined);
    if (this.ws) {
      this.ws.retryAfter(delay);
      this.ws.close('server unavailable');
    } else {
      this.setDisconnected(undefined, 'server unavailable');
      this.reconnectAt = Date.now() + delay;
    }
  }

  // ---------------------------------------------------- connection settings

  /** @internal (ConnectionSettingsHost) the key of its client certificates ('' without one) */
  get clientKeyPem(): string {
    return this.target.clientKeyPem;
  }

  /** @internal (ConnectionSettingsHost) */
  setHeartbeat(ms: number): void {
    if (ms === this.heartbeatMs || !hasCapability(this.profile.capabilities, AgentCapabilities.ReportsHeartbeat)) return;
    this.heartbeatMs = ms;
    this.armTimer();
  }

  /** HTTP: a refused candidate is rolled back; back to the settings that worked a moment ago, at once. */
  private rollBackHttp(reason: string): void {
    if (!this.target.httpDone(reason)) return;
    this.dirty |= FULL_STATE_PARTS;
    this.reconnectAt = Date.now();
  }

  /**
   * Disconnects to try the pending candidate once its APPLYING report is out.
   * The next connection is the candidate's; its first message carries the full state.
   */
  private maybeSwitch(): void {
    if (this.phase !== 'running' || !this.target.takeSwitch()) return;
    this.dirty |= FULL_STATE_PARTS;
    if (this.profile.transport === 'http') {
      this.scheduleFlush();
      return;
    }
    const ws = this.ws;
    if (!ws?.exists) return; // a reconnect is scheduled already: it uses the candidate
    ws.retryAfter(0);
    ws.close('switching connection settings');
  }

  // --------------------------------------------------------------- errors

  /** @internal (HttpExchangeHost) */
  countError(kind: AgentErrorKind, message: string, status?: number, retryAfterMs?: number): void {
    this.errorsByKind[kind] = (this.errorsByKind[kind] ?? 0) + 1;
    if (this.listenerCount('error') > 0) this.emit('error', { kind, message, status, retryAfterMs });
  }
}
