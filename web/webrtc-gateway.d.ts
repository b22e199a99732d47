// Types of the webrtc-gateway JS SDK (webrtc-gateway.js). Reference: docs/sdk.md.

/** Close code the gateway uses for a refused token. */
export declare const CLOSE_UNAUTHORIZED: 4401;

/** Codes the gateway sends in `error` frames (docs/signaling.md#errors). */
export type GatewayErrorCode =
  | 'bad_request'
  | 'bad_sdp'
  | 'no_common_codec'
  | 'invalid_number'
  | 'unknown_call'
  | 'unavailable';

/** Codes the SDK adds. */
export type SdkErrorCode =
  | 'unauthorized'
  | 'unreachable'
  | 'connection_lost'
  | 'resume_failed'
  | 'token_error'
  | 'not_connected'
  | 'disconnected'
  | 'media_permission_denied'
  | 'media_unavailable'
  | 'invalid_state'
  | 'invalid_dtmf'
  | 'unsupported'
  | 'webrtc'
  | 'bad_options';

/** Every error code. */
export type ErrorCode = GatewayErrorCode | SdkErrorCode;

/** An SDK error: `code` is a gateway error code or one of the SDK's own. */
export declare class WebRTCGatewayError extends Error {
  constructor(code: ErrorCode | string, message: string, extra?: { ref?: string | null; callId?: string | null; cause?: unknown });
  /** Machine-readable code. */
  readonly code: ErrorCode | string;
  /** The `ref` the gateway named, if any. */
  readonly ref: string | null;
  /** The call concerned, if known. */
  readonly callId: string | null;
  /** The underlying error (a DOMException from getUserMedia, a close event...). */
  readonly cause: unknown;
}

/**
 * MOS estimate (1-4.5) with the gateway's simplified E-model (ITU-T G.107): R = 93.2 - Idd - Ie,eff with
 * G.711-with-PLC impairments; one-way delay = rtt/2 + 2*jitter + 20 ms.
 */
export declare function estimateMos(lossPct: number, jitterMs: number, rttMs?: number | null): number;

/** Connection state of a {@link WebRTCGateway}. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/**
 * Call state: outbound `new` → `calling` → `ringing`* → `early_media`? → `connected` ⇄ `held` → `ended`;
 * inbound `incoming` → `answering` → `connected` ⇄ `held` → `ended`. Any state can go to `ended`.
 */
export type CallState =
  | 'new'
  | 'calling'
  | 'ringing'
  | 'early_media'
  | 'incoming'
  | 'answering'
  | 'connected'
  | 'held'
  | 'ended';

/** The user's SIP registration, as the gateway reports it. */
export interface Registration {
  state: 'registered' | 'failed' | 'unregistered';
  /** With `failed`: what went wrong and what to check (for people; wording not stable). */
  reason: string | null;
}

/** Options of {@link WebRTCGateway}. Give `token` or `getToken`. */
export interface WebRTCGatewayOptions {
  /** The signaling URL, `wss://host/ws` (http(s):// is turned into ws(s)://). Default: `/ws` of this page's host. */
  url?: string;
  /** The access token (sent as `?token=`). */
  token?: string;
  /** Called before every connection and reconnection; returns a fresh token. */
  getToken?: () => string | Promise<string>;
  /** ICE servers added after the gateway's own (from `hello`). */
  iceServers?: RTCIceServer[];
  /** Extra RTCConfiguration fields for every call (e.g. `{ iceTransportPolicy: 'relay' }`). */
  rtcConfiguration?: RTCConfiguration;
  /** getUserMedia audio constraints. Default: echo cancellation, noise suppression and AGC on. */
  audioConstraints?: MediaTrackConstraints;
  /** Output device for the remote audio of new calls (setSinkId). */
  outputDeviceId?: string | null;
  /** Automatic reconnection: `false` to disable; delays in ms, doubled per attempt with ±25 % jitter. */
  reconnect?: false | { minDelay?: number; maxDelay?: number; maxAttempts?: number };
  /** Interval of each call's `stats` event while connected, in ms. Default 2000. */
  statsInterval?: number;
  /** Restart ICE by itself when a call's ICE connection fails. Default true. */
  autoIceRestart?: boolean;
}

/** What `connect()` resolves with. */
export interface SessionInfo {
  user: string | null;
  sessionId: string | null;
  iceServers: RTCIceServer[];
}

/** The gateway's quality report for one leg, in `ended` (docs/signaling.md). */
export interface GatewayLegStats {
  packets_received: number;
  packets_lost: number;
  loss: number;
  loss_pct: number;
  jitter_ms: number;
  remote_loss_pct: number | null;
  rtt_ms: number | null;
  mos: number;
}

/** The gateway's quality report in `ended`: the WebRTC leg and the SIP leg. */
export interface GatewayStats {
  webrtc: GatewayLegStats;
  sip: GatewayLegStats;
}

/** A quality sample: the `stats` event's detail, and what {@link Call.getStats} returns. */
export interface CallStats {
  /** Date.now() of the sample. */
  at: number;
  /** MOS 1-4.5: the local E-model estimate, or (after `ended`) the gateway's; null before any sample. */
  mos: number | null;
  /** Where `mos` comes from. */
  mosSource: 'local' | 'gateway';
  /** Received packets lost since the previous sample, in percent. */
  lossPct: number;
  /** Received packets lost since the call started, in percent. */
  totalLossPct: number;
  /** Received packets lost since the call started. */
  packetsLost: number;
  /** Interarrival jitter of the received audio, in ms. */
  jitterMs: number;
  /** Round-trip time (RTCP, or the ICE candidate pair), in ms; null if unknown. */
  rttMs: number | null;
  /** The audio codec, e.g. `audio/PCMU`. */
  codec: string | null;
  inbound: {
    packetsReceived: number;
    packetsLost: number;
    bytesReceived: number;
    jitterMs: number;
    audioLevel: number;
    totalAudioEnergy: number;
  };
  outbound: {
    packetsSent: number;
    bytesSent: number;
    /** Loss the gateway reports for what the browser sends (RTCP RR), in percent. */
    remoteLossPct: number | null;
    /** Jitter the gateway reports for what the browser sends, in ms. */
    remoteJitterMs: number | null;
  };
}

/** {@link Call.getStats}'s result: a sample plus the gateway's report once the call has ended. */
export interface CallStatsReport extends CallStats {
  gateway: GatewayStats | null;
}

/** Events of a {@link Call}. */
export interface CallEventMap {
  state: CustomEvent<{ state: CallState; previous: CallState; sipCode: number | null; reason: string | null }>;
  dtmf: CustomEvent<{ digit: string }>;
  warning: CustomEvent<{ code: 'one_way_audio' | 'autoplay_blocked' | string; message: string }>;
  stats: CustomEvent<CallStats>;
  error: CustomEvent<{ error: WebRTCGatewayError }>;
  ended: CustomEvent<{ reason: string; sipCode: number | null; stats: GatewayStats | null }>;
}

/** Events of a {@link WebRTCGateway}. */
export interface WebRTCGatewayEventMap {
  connection: CustomEvent<{ state: ConnectionState; previous: ConnectionState; resumed: boolean; sessionId?: string | null }>;
  registration: CustomEvent<Registration>;
  incoming: CustomEvent<{ call: Call }>;
  error: CustomEvent<{ error: WebRTCGatewayError }>;
  message: CustomEvent<{ direction: 'in' | 'out'; message: { type: string; [key: string]: unknown } }>;
}

/** One call, outbound or inbound; made by {@link WebRTCGateway.call} or delivered by `incoming`. */
export declare class Call extends EventTarget {
  /** @internal */
  constructor(gw: WebRTCGateway, link: object, init: object);
  /** The gateway's call id; null until the first `state` or `answer` of an outbound call. */
  id: string | null;
  /** The client's reference of an outbound call; null for inbound calls. */
  ref: string | null;
  /** `"outbound"` or `"inbound"`. */
  direction: 'outbound' | 'inbound';
  /** The other party's number: the dialled number, or the caller's. */
  remoteNumber: string;
  /** The caller's display name (inbound calls), or null. */
  remoteName: string | null;
  /** Where an inbound call comes from (`"sip"`, `"click_to_call"`); null for outbound calls. */
  origin: string | null;
  /** An inbound call whose caller offers video (`incoming` with `call_type: "video"`): accept it with `{video: true}` to get it. False for outbound calls. */
  offersVideo: boolean;
  /** Whether the call asked for video (the gateway relays it when Asterisk shares a codec; else a `warning` `no_video`). `remoteStream` then carries the video track. */
  video: boolean;
  /** The call state. */
  state: CallState;
  /** True while the microphone is muted with {@link Call.mute}. */
  muted: boolean;
  /** Date.now() of the first `connected`, or null. */
  connectedAt: number | null;
  /** The end reason (`normal_clearing`, `busy`, ...), once ended. */
  endReason: string | null;
  /** The SIP status code behind the last state change, if any. */
  sipCode: number | null;
  /** The gateway's quality report from `ended`, or null. */
  gatewayStats: GatewayStats | null;
  /** The call's RTCPeerConnection, once media is set up. */
  peerConnection: RTCPeerConnection | null;
  /** The local (microphone) stream, once opened. */
  localStream: MediaStream | null;
  /** The remote stream, once the first track arrives. */
  remoteStream: MediaStream | null;
  /** The element playing the remote audio (created by the SDK unless one was given). */
  audioElement: HTMLAudioElement | null;

  /** Accepts an inbound call: opens the microphone and sends `accept` with a new offer. */
  accept(options?: { video?: boolean; audioElement?: HTMLAudioElement }): Promise<void>;
  /** Declines an inbound call on this device (`busy` → SIP 486, `decline` → 603, if this device is the last to decline). */
  reject(reason?: 'busy' | 'decline'): void;
  /** Hangs up (or cancels, or stops ringing here). The call ends when the gateway confirms, or after 5 s regardless. */
  hangup(): void;
  /** Puts the call on hold; the `state` event says `held`. */
  hold(): void;
  /** Takes the call off hold; the `state` event says `connected`. */
  unhold(): void;
  /** Mutes (true) or unmutes (false) the microphone locally: no signaling, no renegotiation. */
  mute(on?: boolean): void;
  /** Sends DTMF digits (0-9 * # A-D): `signaling` (default) uses `{"type":"dtmf"}`, `rtp` the browser's RTCDTMFSender. */
  sendDtmf(digits: string, options?: { transport?: 'signaling' | 'rtp'; duration?: number; gap?: number }): void;
  /** Restarts ICE: pc.restartIce(), then a new offer sent as `offer`; the gateway answers. */
  restartIce(): Promise<void>;
  /** Plays the remote audio on output device `deviceId` (setSinkId). */
  setOutputDevice(deviceId: string): Promise<void>;
  /** Switches the microphone during the call (replaceTrack, no renegotiation). */
  setInputDevice(deviceId: string): Promise<void>;
  /** The call's quality now; after `ended`, the last sample with the gateway's MOS. */
  getStats(): Promise<CallStatsReport>;

  /** @internal */ _startMedia(video: boolean): Promise<string>;
  /** @internal */ _offerSent(): void;
  /** @internal */ _onMessage(message: object): Promise<void>;
  /** @internal */ _onError(error: WebRTCGatewayError): void;
  /** @internal */ _end(end: { reason: string; sipCode?: number | null; stats?: GatewayStats | null }): void;

  addEventListener<K extends keyof CallEventMap>(type: K, listener: (ev: CallEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof CallEventMap>(type: K, listener: (ev: CallEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

/** A connection to the gateway: one signaling WebSocket carrying any number of calls. */
export declare class WebRTCGateway extends EventTarget {
  constructor(options: WebRTCGatewayOptions);
  /** Connection state. */
  state: ConnectionState;
  /** The user the token belongs to (from `hello`). */
  user: string | null;
  /** The current session id (after a resume: the resumed session's). */
  sessionId: string | null;
  /** The ICE servers in use: the gateway's followed by `options.iceServers`. */
  iceServers: RTCIceServer[];
  /** Extra RTCConfiguration fields for every call's RTCPeerConnection. */
  rtcConfiguration: RTCConfiguration;
  /** getUserMedia audio constraints for new calls; set `deviceId` here to choose the microphone. */
  audioConstraints: MediaTrackConstraints;
  /** Output device for the remote audio of new calls; null = the default. */
  outputDeviceId: string | null;
  /** Interval of each call's `stats` event while connected, in ms. */
  statsInterval: number;
  /** Restart ICE by itself when a call's ICE connection fails. */
  autoIceRestart: boolean;
  /** The last `registration`, or null if the user has no SIP account. */
  registration: Registration | null;
  /** The calls in progress (including ringing inbound calls). */
  readonly calls: Call[];

  /** Opens the WebSocket; resolves on `hello`; rejects with `unauthorized` or `unreachable`. */
  connect(): Promise<SessionInfo>;
  /** Hangs up this device's calls and closes the WebSocket for good. */
  disconnect(): void;
  /** Places a call; rejects with `media_permission_denied`, `media_unavailable` or `not_connected`. */
  call(number: string, options?: { video?: boolean; ref?: string; audioElement?: HTMLAudioElement }): Promise<Call>;

  addEventListener<K extends keyof WebRTCGatewayEventMap>(type: K, listener: (ev: WebRTCGatewayEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof WebRTCGatewayEventMap>(type: K, listener: (ev: WebRTCGatewayEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}
