// webrtc-gateway JS SDK: a plain ES module (no build step) for the gateway's signaling API v1
// (docs/signaling.md). The browser is always the SDP offerer; candidates trickle both ways.
// Served by the gateway at /sdk/webrtc-gateway.js. Reference: docs/sdk.md; types: webrtc-gateway.d.ts.

/** Close code the gateway uses for a refused token. */
export const CLOSE_UNAUTHORIZED = 4401;

const DTMF_DIGITS = /^[0-9*#A-Da-d]{1,64}$/;
const DEFAULT_AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const HANGUP_FALLBACK_MS = 5000;

/** An SDK error: `code` is a gateway error code or one of the SDK's own (docs/sdk.md#error-codes). */
export class WebRTCGatewayError extends Error {
  /**
   * @param {string} code machine-readable code
   * @param {string} message human-readable explanation
   * @param {{ref?: string|null, callId?: string|null, cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'WebRTCGatewayError';
    /** Machine-readable code. */
    this.code = code;
    /** The `ref` the gateway named, if any. */
    this.ref = extra.ref ?? null;
    /** The call concerned, if known. */
    this.callId = extra.callId ?? null;
    /** The underlying error (a DOMException from getUserMedia, a close event...). */
    this.cause = extra.cause;
  }
}

/**
 * MOS estimate (1-4.5) with the gateway's simplified E-model (ITU-T G.107, media/src/quality.rs):
 * R = 93.2 - Idd - Ie,eff with G.711-with-PLC impairments; one-way delay = rtt/2 + 2*jitter + 20 ms.
 * @param {number} lossPct packets lost, in percent
 * @param {number} jitterMs interarrival jitter, in ms
 * @param {number|null} [rttMs] round-trip time, in ms
 * @returns {number}
 */
export function estimateMos(lossPct, jitterMs, rttMs = null) {
  const num = (x) => (Number.isFinite(x) ? x : 0);
  const ta = Math.max(0, num(rttMs ?? 0)) / 2 + 2 * Math.max(0, num(jitterMs)) + 20;
  let idd = 0;
  if (ta > 100) {
    const x = Math.log2(ta / 100);
    idd = 25 * ((1 + x ** 6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2);
  }
  const ppl = Math.min(100, Math.max(0, num(lossPct)));
  const r = 93.2 - idd - (95 * ppl) / (ppl + 25.1);
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return Math.round((1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6) * 100) / 100;
}

const emit = (target, type, detail) => target.dispatchEvent(new CustomEvent(type, { detail }));
const randomRef = () =>
  globalThis.crypto?.randomUUID?.() ?? `c${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;

/** Opens the microphone (and camera); getUserMedia failures become typed errors. */
async function openMedia(audio, video) {
  if (!globalThis.navigator?.mediaDevices?.getUserMedia) {
    throw new WebRTCGatewayError('media_unavailable', 'getUserMedia is not available: the page needs a secure context (https or localhost)');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video: Boolean(video) });
  } catch (e) {
    const denied = e?.name === 'NotAllowedError' || e?.name === 'SecurityError';
    throw new WebRTCGatewayError(
      denied ? 'media_permission_denied' : 'media_unavailable',
      denied ? 'microphone permission denied' : `no usable microphone (${e?.name ?? 'error'}: ${e?.message ?? e})`,
      { cause: e },
    );
  }
}

/**
 * One call, outbound or inbound. Made by {@link WebRTCGateway#call} or delivered by the `incoming`
 * event; never constructed directly. Events: `state`, `dtmf`, `warning`, `stats`, `error`, `ended`.
 */
export class Call extends EventTarget {
  #gw;
  #link;
  #pendingLocalIce = [];
  #pendingRemoteIce = [];
  #canTrickle = false;
  #statsTimer = null;
  #hangupTimer = null;
  #last = null;
  #prev = null;

  /** @param {WebRTCGateway} gw @param {object} link @param {object} init (internal) */
  constructor(gw, link, init) {
    super();
    this.#gw = gw;
    this.#link = link;
    /** The gateway's call id (16 hex characters); null until the first `state` or `answer` of an outbound call. */
    this.id = init.id ?? null;
    /** The client's reference of an outbound call; null for inbound calls. */
    this.ref = init.ref ?? null;
    /** `"outbound"` or `"inbound"`. */
    this.direction = init.direction;
    /** The other party's number: the dialled number, or the caller's. */
    this.remoteNumber = init.remoteNumber;
    /** The caller's display name (inbound calls), or null. */
    this.remoteName = init.remoteName ?? null;
    /** Where an inbound call comes from (`"sip"`, `"click_to_call"`); null for outbound calls. */
    this.origin = init.origin ?? null;
    /** An inbound call whose caller offers video (`incoming` with `call_type: "video"`): accept it
     * with `{video: true}` to get it. False for outbound calls. */
    this.offersVideo = Boolean(init.offersVideo);
    /** Whether the call asked for video (the gateway relays it when Asterisk shares a codec; else a `warning` `no_video`). `remoteStream` then carries the video track. */
    this.video = false;
    /** The call state (see {@link CallState}). */
    this.state = init.direction === 'inbound' ? 'incoming' : 'new';
    /** True while the microphone is muted with {@link Call#mute}. */
    this.muted = false;
    /** Date.now() of the first `connected`, or null. */
    this.connectedAt = null;
    /** The end reason (`normal_clearing`, `busy`, ...), once ended. */
    this.endReason = null;
    /** The SIP status code behind the last state change, if any. */
    this.sipCode = null;
    /** The gateway's quality report from `ended` (`{webrtc, sip}` legs), or null. */
    this.gatewayStats = null;
    /** The call's RTCPeerConnection, once media is set up. */
    this.peerConnection = null;
    /** The local (microphone) stream, once opened. */
    this.localStream = null;
    /** The remote stream, once the first track arrives. */
    this.remoteStream = null;
    /** The element playing the remote audio (created by the SDK unless one was given). */
    this.audioElement = init.audioElement ?? null;
  }

  /** Accepts an inbound call: opens the microphone and sends `accept` with a new offer. */
  async accept({ video = false, audioElement } = {}) {
    if (this.direction !== 'inbound' || this.state !== 'incoming') {
      throw new WebRTCGatewayError('invalid_state', `cannot accept a call in state ${this.state}`, { callId: this.id });
    }
    if (audioElement) this.audioElement = audioElement;
    this.#setState('answering');
    try {
      const sdp = await this._startMedia(video);
      this.#link.send({ type: 'accept', call_id: this.id, sdp });
      this._offerSent();
    } catch (e) {
      this.#closeMedia();
      if (this.state === 'answering') this.#setState('incoming');
      throw e;
    }
  }

  /** Declines an inbound call on this device (`"busy"` gives SIP 486 and `"decline"` 603, if this device is the last to decline). */
  reject(reason = 'busy') {
    if (this.direction !== 'inbound') throw new WebRTCGatewayError('invalid_state', 'only inbound calls can be rejected');
    if (this.state === 'ended') return;
    try {
      this.#link.send({ type: 'reject', call_id: this.id, reason });
    } catch {
      this._end({ reason: 'rejected' });
    }
  }

  /** Hangs up (or cancels, or stops ringing here). The call ends when the gateway confirms, or after 5 s regardless. */
  hangup() {
    if (this.state === 'ended') return;
    try {
      this.#link.send({ type: 'hangup', ...this.#target() });
    } catch {
      this._end({ reason: 'local_hangup' }); // not connected: the gateway ends the call by itself
      return;
    }
    clearTimeout(this.#hangupTimer);
    this.#hangupTimer = setTimeout(() => this._end({ reason: 'local_hangup' }), HANGUP_FALLBACK_MS);
  }

  /** Puts the call on hold (the gateway re-INVITEs the phone with `a=sendonly`); the `state` event says `held`. */
  hold() {
    this.#requireId('hold');
    this.#link.send({ type: 'hold', call_id: this.id });
  }

  /** Takes the call off hold; the `state` event says `connected`. */
  unhold() {
    this.#requireId('unhold');
    this.#link.send({ type: 'unhold', call_id: this.id });
  }

  /** Mutes (true) or unmutes (false) the microphone locally (`track.enabled`): no signaling, no renegotiation. */
  mute(on = true) {
    this.muted = Boolean(on);
    for (const t of this.localStream?.getAudioTracks() ?? []) t.enabled = !this.muted;
  }

  /**
   * Sends DTMF digits (0-9 * # A-D). `transport: "signaling"` (default) sends `{"type":"dtmf"}` and the gateway
   * plays them to the phone (RFC 4733, or SIP INFO); `"rtp"` uses the browser's RTCDTMFSender in the media.
   */
  sendDtmf(digits, { transport = 'signaling', duration = 100, gap = 70 } = {}) {
    const d = String(digits);
    if (!DTMF_DIGITS.test(d)) throw new WebRTCGatewayError('invalid_dtmf', 'digits may hold only 0-9 * # A-D (1 to 64)');
    this.#requireId('sendDtmf');
    if (transport === 'rtp') {
      const dtmf = this.peerConnection?.getSenders().find((s) => s.track?.kind === 'audio')?.dtmf;
      if (!dtmf?.canInsertDTMF) throw new WebRTCGatewayError('unsupported', 'no RTCDTMFSender (telephone-event not negotiated)');
      dtmf.insertDTMF(d, duration, gap);
      return;
    }
    this.#link.send({ type: 'dtmf', call_id: this.id, digits: d });
  }

  /** Restarts ICE after a network change: pc.restartIce(), then a new offer sent as `offer`; the gateway answers. */
  async restartIce() {
    this.#requireId('restartIce');
    const pc = this.peerConnection;
    if (!pc || pc.signalingState !== 'stable') {
      throw new WebRTCGatewayError('invalid_state', 'no stable peer connection to restart', { callId: this.id });
    }
    pc.restartIce();
    await pc.setLocalDescription(await pc.createOffer());
    this.#link.send({ type: 'offer', call_id: this.id, sdp: pc.localDescription.sdp });
  }

  /** Plays the remote audio on output device `deviceId` (HTMLMediaElement.setSinkId). */
  async setOutputDevice(deviceId) {
    const el = this.#ensureAudioElement();
    if (typeof el.setSinkId !== 'function') throw new WebRTCGatewayError('unsupported', 'this browser cannot choose the audio output (setSinkId)');
    await el.setSinkId(deviceId);
  }

  /** Switches the microphone to `deviceId` during the call (RTCRtpSender.replaceTrack, no renegotiation). */
  async setInputDevice(deviceId) {
    const sender = this.peerConnection?.getSenders().find((s) => s.track?.kind === 'audio');
    if (!sender) throw new WebRTCGatewayError('invalid_state', 'no audio is being sent yet', { callId: this.id });
    const stream = await openMedia({ ...this.#gw.audioConstraints, deviceId: { exact: deviceId } }, false);
    const track = stream.getAudioTracks()[0];
    track.enabled = !this.muted;
    const old = sender.track;
    await sender.replaceTrack(track);
    old?.stop();
    if (old) this.localStream?.removeTrack(old);
    this.localStream?.addTrack(track);
  }

  /**
   * The call's quality now: loss, jitter and RTT from getStats() and a MOS estimate; after `ended`, the last
   * sample with `mos` from the gateway's report (the worse of its two legs) when it sent one.
   * @returns {Promise<CallStats>}
   */
  async getStats() {
    const pc = this.peerConnection;
    let sample = this.#last;
    if (pc && pc.connectionState !== 'closed') sample = await this.#sample();
    const out = { ...(sample ?? emptyStats()), gateway: this.gatewayStats };
    const legs = [this.gatewayStats?.webrtc?.mos, this.gatewayStats?.sip?.mos].filter(Number.isFinite);
    if (legs.length > 0) {
      out.mos = Math.min(...legs);
      out.mosSource = 'gateway';
    }
    return out;
  }

  // ---- internal: used by WebRTCGateway ----

  /** Builds the peer connection, adds the microphone, and returns the local offer (internal). */
  async _startMedia(video) {
    this.video = Boolean(video);
    const stream = await openMedia(this.#gw.audioConstraints, video);
    if (this.state === 'ended') {
      stream.getTracks().forEach((t) => t.stop());
      throw new WebRTCGatewayError('invalid_state', 'the call ended while the microphone was opening', { callId: this.id });
    }
    this.localStream = stream;
    this.mute(this.muted);
    const pc = new RTCPeerConnection({ ...this.#gw.rtcConfiguration, iceServers: this.#gw.iceServers });
    this.peerConnection = pc;
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    pc.addEventListener('track', (e) => this.#onTrack(e));
    pc.addEventListener('icecandidate', (e) => {
      const candidate = e.candidate && e.candidate.candidate ? e.candidate.toJSON() : null;
      if (this.#canTrickle) this.#sendIce(candidate);
      else this.#pendingLocalIce.push(candidate);
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState === 'failed' && this.#gw.autoIceRestart && (this.state === 'connected' || this.state === 'held')) {
        this.restartIce().catch((e) => this.#error(e));
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.sdp;
  }

  /** The offer went out in `call` or `accept`: trickles the candidates held back until then (internal). */
  _offerSent() {
    if (this.state === 'new') this.#setState('calling');
    this.#canTrickle = true;
    for (const c of this.#pendingLocalIce.splice(0)) this.#sendIce(c);
  }

  /** Handles a gateway message for this call (internal). */
  async _onMessage(m) {
    if (m.call_id && !this.id) this.id = m.call_id;
    switch (m.type) {
      case 'answer': {
        const pc = this.peerConnection;
        if (!pc || pc.signalingState !== 'have-local-offer') return;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        } catch (e) {
          this.#error(new WebRTCGatewayError('webrtc', `the gateway's answer was refused: ${e?.message ?? e}`, { callId: this.id, cause: e }));
          this.hangup();
          return;
        }
        for (const c of this.#pendingRemoteIce.splice(0)) await this.#addRemoteIce(c);
        return;
      }
      case 'ice':
        if (this.peerConnection?.remoteDescription) await this.#addRemoteIce(m.candidate);
        else this.#pendingRemoteIce.push(m.candidate);
        return;
      case 'state':
        if (m.sip_code != null) this.sipCode = m.sip_code;
        if (m.state === 'ended') this._end({ reason: m.reason ?? 'ended', sipCode: m.sip_code ?? null, stats: m.stats ?? null });
        else this.#setState(m.state);
        return;
      case 'dtmf':
        emit(this, 'dtmf', { digit: m.digit });
        return;
      case 'warning':
        emit(this, 'warning', { code: m.code, message: m.message });
        return;
      default:
    }
  }

  /** Reports an error for this call; a call the gateway refused before it had an id ends (internal). */
  _onError(err) {
    this.#error(err);
    if (this.direction === 'outbound' && !this.id && err.code !== 'unavailable') {
      this._end({ reason: err.code });
    } else if (this.direction === 'inbound' && this.state === 'answering' && (err.code === 'bad_sdp' || err.code === 'no_common_codec')) {
      this.#closeMedia(); // the call keeps ringing: the user may accept again
      this.#setState('incoming');
    }
  }

  /** Ends the call locally: closes media, emits `state` and `ended` once (internal). */
  _end({ reason, sipCode = null, stats = null }) {
    if (this.state === 'ended') return;
    clearTimeout(this.#hangupTimer);
    this.endReason = reason;
    this.sipCode = sipCode;
    this.gatewayStats = stats;
    this.#closeMedia();
    this.#setState('ended', { reason, sipCode });
    this.#link.forget(this);
    emit(this, 'ended', { reason, sipCode, stats });
  }

  #setState(state, extra = {}) {
    const previous = this.state;
    if (state === previous) return;
    this.state = state;
    if (state === 'connected' && this.connectedAt === null) this.connectedAt = Date.now();
    const live = state === 'connected' || state === 'held';
    if (live && !this.#statsTimer) this.#statsTimer = setInterval(() => this.#tick(), this.#gw.statsInterval);
    if (!live && this.#statsTimer) {
      clearInterval(this.#statsTimer);
      this.#statsTimer = null;
    }
    const sipCode = 'sipCode' in extra ? extra.sipCode : this.sipCode;
    emit(this, 'state', { state, previous, sipCode, reason: extra.reason ?? null });
  }

  #target() {
    return this.id ? { call_id: this.id } : { ref: this.ref };
  }

  #requireId(what) {
    if (!this.id || this.state === 'ended') {
      throw new WebRTCGatewayError('invalid_state', `${what}: the call is not in progress`, { callId: this.id });
    }
  }

  #sendIce(candidate) {
    if (this.state !== 'ended') this.#link.send({ type: 'ice', ...this.#target(), candidate });
  }

  async #addRemoteIce(candidate) {
    try {
      await this.peerConnection?.addIceCandidate(candidate?.candidate ? candidate : { candidate: '' });
    } catch (e) {
      if (candidate?.candidate) this.#error(new WebRTCGatewayError('webrtc', `remote candidate refused: ${e?.message ?? e}`, { callId: this.id, cause: e }));
    }
  }

  #ensureAudioElement() {
    if (!this.audioElement) {
      const el = document.createElement('audio');
      el.autoplay = true;
      el.setAttribute('playsinline', ''); // iOS Safari: play inline, not full screen
      this.audioElement = el;
    }
    return this.audioElement;
  }

  #onTrack(e) {
    this.remoteStream = e.streams[0] ?? this.remoteStream ?? new MediaStream();
    if (!e.streams[0]) this.remoteStream.addTrack(e.track);
    if (e.track.kind !== 'audio') return;
    const el = this.#ensureAudioElement();
    el.srcObject = this.remoteStream;
    if (this.#gw.outputDeviceId && typeof el.setSinkId === 'function') {
      el.setSinkId(this.#gw.outputDeviceId).catch((err) => this.#error(new WebRTCGatewayError('unsupported', `setSinkId: ${err?.message ?? err}`, { cause: err })));
    }
    el.play()?.catch?.((err) => {
      if (err?.name === 'NotAllowedError') {
        emit(this, 'warning', { code: 'autoplay_blocked', message: 'the browser blocked audio playback: call audioElement.play() from a user gesture' });
      }
    });
  }

  #closeMedia() {
    clearInterval(this.#statsTimer);
    this.#statsTimer = null;
    this.#canTrickle = false;
    this.#pendingLocalIce = [];
    this.#pendingRemoteIce = [];
    this.localStream?.getTracks().forEach((t) => t.stop());
    if (this.peerConnection && this.peerConnection.connectionState !== 'closed') this.peerConnection.close();
    if (this.audioElement) this.audioElement.srcObject = null;
  }

  #error(err) {
    emit(this, 'error', { error: err });
  }

  async #tick() {
    try {
      emit(this, 'stats', await this.#sample());
    } catch {
      // a closing peer connection: the next tick or `ended` follows
    }
  }

  /** One getStats() sample: cumulative counters plus loss and MOS over the interval since the last one. */
  async #sample() {
    const report = await this.peerConnection.getStats();
    let inb = null;
    let outb = null;
    let rin = null;
    let pair = null;
    const codecs = new Map();
    report.forEach((s) => {
      if (s.type === 'codec') codecs.set(s.id, s.mimeType);
      else if (s.kind === 'audio' && s.type === 'inbound-rtp') inb = s;
      else if (s.kind === 'audio' && s.type === 'outbound-rtp') outb = s;
      else if (s.kind === 'audio' && s.type === 'remote-inbound-rtp') rin = s;
      else if (s.type === 'candidate-pair' && (s.nominated || s.selected) && s.state === 'succeeded') pair = s;
    });
    const received = inb?.packetsReceived ?? 0;
    const lost = Math.max(0, inb?.packetsLost ?? 0);
    const dRecv = received - (this.#prev?.received ?? 0);
    const dLost = Math.max(0, lost - (this.#prev?.lost ?? 0));
    this.#prev = { received, lost };
    const pct = (l, r) => (l + r > 0 ? (100 * l) / (l + r) : 0);
    const lossPct = pct(dLost, Math.max(0, dRecv));
    const jitterMs = (inb?.jitter ?? 0) * 1000;
    const rttS = rin?.roundTripTime ?? pair?.currentRoundTripTime;
    const rttMs = rttS == null ? null : rttS * 1000;
    const remoteLossPct = rin?.fractionLost == null ? null : rin.fractionLost * 100;
    const remoteJitterMs = rin?.jitter == null ? null : rin.jitter * 1000;
    let mos = estimateMos(lossPct, jitterMs, rttMs);
    if (remoteLossPct !== null) mos = Math.min(mos, estimateMos(remoteLossPct, remoteJitterMs ?? 0, rttMs));
    const round = (x, n = 2) => (x == null ? null : Math.round(x * 10 ** n) / 10 ** n);
    this.#last = {
      at: Date.now(),
      mos,
      mosSource: 'local',
      lossPct: round(lossPct),
      totalLossPct: round(pct(lost, received)),
      packetsLost: lost,
      jitterMs: round(jitterMs),
      rttMs: round(rttMs),
      codec: (inb && codecs.get(inb.codecId)) ?? (outb && codecs.get(outb.codecId)) ?? null,
      inbound: {
        packetsReceived: received,
        packetsLost: lost,
        bytesReceived: inb?.bytesReceived ?? 0,
        jitterMs: round(jitterMs),
        audioLevel: inb?.audioLevel ?? 0,
        totalAudioEnergy: inb?.totalAudioEnergy ?? 0,
      },
      outbound: {
        packetsSent: outb?.packetsSent ?? 0,
        bytesSent: outb?.bytesSent ?? 0,
        remoteLossPct: round(remoteLossPct),
        remoteJitterMs: round(remoteJitterMs),
      },
    };
    return this.#last;
  }
}

function emptyStats() {
  return {
    at: Date.now(), mos: null, mosSource: 'local', lossPct: 0, totalLossPct: 0, packetsLost: 0, jitterMs: 0, rttMs: null, codec: null,
    inbound: { packetsReceived: 0, packetsLost: 0, bytesReceived: 0, jitterMs: 0, audioLevel: 0, totalAudioEnergy: 0 },
    outbound: { packetsSent: 0, bytesSent: 0, remoteLossPct: null, remoteJitterMs: null },
  };
}

/**
 * A connection to the gateway: one signaling WebSocket (a "device" of the token's user) carrying any
 * number of calls. Events: `connection`, `registration`, `incoming`, `error`, `message`.
 */
export class WebRTCGateway extends EventTarget {
  #opts;
  #ws = null;
  #calls = new Set();
  #outbox = [];
  #attempt = 0;
  #timer = null;
  #wanted = false;
  #resuming = null;
  #connectWaiters = [];

  /**
   * @param {WebRTCGatewayOptions} options `url` (default: `/ws` of this page's host), `token` or `getToken()`,
   *   `iceServers` (added to the gateway's), `audioConstraints`, `reconnect`, `statsInterval`, `autoIceRestart`.
   */
  constructor(options = {}) {
    super();
    if (!options.token && typeof options.getToken !== 'function') {
      throw new WebRTCGatewayError('bad_options', 'give a token or a getToken() function');
    }
    this.#opts = { reconnect: {}, ...options };
    /** Connection state: `"disconnected"`, `"connecting"`, `"connected"` or `"reconnecting"`. */
    this.state = 'disconnected';
    /** The user the token belongs to (from `hello`). */
    this.user = null;
    /** The current session id (after a resume: the resumed session's). */
    this.sessionId = null;
    /** The ICE servers in use: the gateway's (`hello`) followed by `options.iceServers`. */
    this.iceServers = options.iceServers ?? [];
    /** Extra RTCConfiguration fields for every call's RTCPeerConnection (e.g. `{iceTransportPolicy: "relay"}`). */
    this.rtcConfiguration = options.rtcConfiguration ?? {};
    /** getUserMedia audio constraints for new calls; set `deviceId` here to choose the microphone. */
    this.audioConstraints = { ...DEFAULT_AUDIO, ...options.audioConstraints };
    /** Output device (setSinkId) for the remote audio of new calls; null = the default. */
    this.outputDeviceId = options.outputDeviceId ?? null;
    /** Interval of each call's `stats` event while connected, in ms. */
    this.statsInterval = options.statsInterval ?? 2000;
    /** Restart ICE by itself when a call's ICE connection fails. */
    this.autoIceRestart = options.autoIceRestart ?? true;
    /** The last `registration` (`{state, reason}`), or null if the user has no SIP account. */
    this.registration = null;
    if (typeof window !== 'undefined') window.addEventListener('online', () => this.#retryNow());
  }

  /** The calls in progress (including ringing inbound calls). */
  get calls() {
    return [...this.#calls];
  }

  /** Opens the WebSocket; resolves with `{user, sessionId, iceServers}` on `hello`, rejects with `unauthorized` or `unreachable`. */
  connect() {
    this.#wanted = true;
    if (this.state === 'connected') return Promise.resolve(this.#info());
    const p = new Promise((resolve, reject) => this.#connectWaiters.push({ resolve, reject }));
    if (this.state === 'disconnected') {
      this.#attempt = 0;
      this.#setState('connecting');
      this.#open();
    }
    return p;
  }

  /** Closes the WebSocket for good: the gateway hangs up this device's calls; no reconnection. */
  disconnect() {
    // The gateway treats any close as a drop and keeps calls for the resume grace: hang them up first.
    for (const c of this.#calls) if (c.state !== 'new') c.hangup();
    this.#wanted = false;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    this.#ws = null;
    ws?.close(1000, 'client disconnect');
    for (const c of this.#calls) c._end({ reason: 'disconnected' });
    this.#settle(new WebRTCGatewayError('disconnected', 'disconnect() was called'));
    this.#setState('disconnected');
  }

  /**
   * Places a call: opens the microphone, sends `call` with the offer, then trickles candidates.
   * Rejects with `media_permission_denied`, `media_unavailable` or `not_connected`; the gateway's refusal
   * (`invalid_number`, `no_common_codec`...) ends the call with that reason and an `error` event.
   * @returns {Promise<Call>}
   */
  async call(number, { video = false, ref = randomRef(), audioElement } = {}) {
    if (this.state !== 'connected') throw new WebRTCGatewayError('not_connected', 'connect() first');
    const call = new Call(this, this.#link, { direction: 'outbound', ref, remoteNumber: String(number), audioElement });
    this.#calls.add(call);
    try {
      const sdp = await call._startMedia(video);
      this.#send({ type: 'call', ref, to: String(number), sdp, call_type: video ? 'video' : 'audio' }, false);
      call._offerSent();
    } catch (e) {
      call._end({ reason: e.code ?? 'failed' });
      throw e;
    }
    return call;
  }

  // What a Call may do with its gateway.
  #link = {
    send: (m) => this.#send(m),
    forget: (c) => this.#calls.delete(c),
  };

  #info() {
    return { user: this.user, sessionId: this.sessionId, iceServers: this.iceServers };
  }

  #setState(state, extra = {}) {
    if (state === this.state) return;
    const previous = this.state;
    this.state = state;
    emit(this, 'connection', { state, previous, resumed: false, ...extra });
  }

  /** Sends now, or (`queue`) keeps the message for when a dropped session is back. */
  #send(m, queue = true) {
    if (this.#ws?.readyState === 1 && !this.#resuming) {
      this.#ws.send(JSON.stringify(m));
      emit(this, 'message', { direction: 'out', message: m });
    } else if (queue && this.#wanted && this.state === 'reconnecting') {
      this.#outbox.push(m); // sent once the session is back (after `resumed`)
    } else {
      throw new WebRTCGatewayError('not_connected', 'the gateway is not connected');
    }
  }

  #settle(err) {
    for (const w of this.#connectWaiters.splice(0)) (err ? w.reject(err) : w.resolve(this.#info()));
  }

  async #open() {
    let token = this.#opts.token;
    try {
      if (this.#opts.getToken) token = await this.#opts.getToken();
    } catch (e) {
      this.#fail(new WebRTCGatewayError('token_error', `getToken() failed: ${e?.message ?? e}`, { cause: e }));
      return;
    }
    if (!this.#wanted) return;
    const base = this.#opts.url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const url = new URL(base, typeof location !== 'undefined' ? location.href : undefined);
    url.protocol = url.protocol.replace(/^http/, 'ws'); // accept https://host/ws as well
    url.searchParams.set('token', token);
    let ws;
    try {
      ws = new WebSocket(url.toString());
    } catch (e) {
      this.#fail(new WebRTCGatewayError('unreachable', `bad gateway URL: ${e?.message ?? e}`, { cause: e }));
      return;
    }
    this.#ws = ws;
    let opened = false;
    let helloSeen = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (ev) => {
      if (ws !== this.#ws) return;
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type === 'hello') helloSeen = true;
      emit(this, 'message', { direction: 'in', message: m });
      this.#onMessage(m).catch((e) => emit(this, 'error', { error: new WebRTCGatewayError('webrtc', String(e?.message ?? e), { cause: e }) }));
    };
    ws.onclose = (ev) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#onClose(ev, opened, helloSeen);
    };
  }

  #onClose(ev, opened, helloSeen) {
    if (!this.#wanted) return;
    if (ev.code === CLOSE_UNAUTHORIZED) {
      this.#fail(new WebRTCGatewayError('unauthorized', 'the gateway refused the token (expired or unknown)', { cause: ev }));
      return;
    }
    const first = this.state === 'connecting';
    if (first) {
      const what = opened ? `the gateway closed the connection before hello (code ${ev.code})` : 'the gateway is unreachable';
      this.#fail(new WebRTCGatewayError(opened ? 'connection_lost' : 'unreachable', what, { cause: ev }));
      return;
    }
    if (this.#opts.reconnect === false) {
      this.#fail(new WebRTCGatewayError('connection_lost', `the connection closed (code ${ev.code})`, { cause: ev }));
      return;
    }
    if (helloSeen) this.#attempt = 0;
    this.#setState('reconnecting');
    const { minDelay = 500, maxDelay = 10000, maxAttempts = Infinity } = this.#opts.reconnect;
    if (this.#attempt >= maxAttempts) {
      this.#fail(new WebRTCGatewayError('connection_lost', `gave up after ${this.#attempt} reconnection attempts`, { cause: ev }));
      return;
    }
    const delay = Math.min(maxDelay, minDelay * 2 ** this.#attempt) * (0.75 + Math.random() / 2);
    this.#attempt += 1;
    this.#timer = setTimeout(() => this.#open(), delay);
  }

  #retryNow() {
    if (this.state !== 'reconnecting' || this.#ws) return;
    clearTimeout(this.#timer);
    this.#open();
  }

  /** Gives up: ends every call, rejects connect(), emits `error`. */
  #fail(err) {
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#outbox = [];
    this.#resuming = null;
    this.#ws?.close();
    this.#ws = null;
    for (const c of this.#calls) c._end({ reason: err.code });
    this.#settle(err);
    this.#setState('disconnected');
    emit(this, 'error', { error: err });
  }

  #find(m) {
    for (const c of this.#calls) {
      if (m.call_id && c.id === m.call_id) return c;
    }
    for (const c of this.#calls) {
      if (m.ref != null && (c.ref === m.ref || c.id === m.ref)) return c;
    }
    return null;
  }

  async #onMessage(m) {
    switch (m.type) {
      case 'hello':
        return this.#onHello(m);
      case 'resumed':
        return this.#onResumed(m);
      case 'registration':
        this.registration = { state: m.state, reason: m.reason ?? null };
        emit(this, 'registration', this.registration);
        return;
      case 'incoming': {
        const call = new Call(this, this.#link, {
          direction: 'inbound', id: m.call_id, remoteNumber: m.from, remoteName: m.from_name, origin: m.origin,
          offersVideo: m.call_type === 'video',
        });
        this.#calls.add(call);
        emit(this, 'incoming', { call });
        return;
      }
      case 'error':
        return this.#onError(m);
      default: {
        const call = this.#find(m);
        if (call) await call._onMessage(m);
      }
    }
  }

  #onHello(m) {
    // Calls whose offer went out live on the old session: take it over so they go on.
    const live = [...this.#calls].filter((c) => c.state !== 'new' && c.state !== 'ended');
    const old = this.sessionId;
    this.user = m.user;
    this.iceServers = [...(m.ice_servers ?? []), ...(this.#opts.iceServers ?? [])];
    if (this.state === 'reconnecting' && old && live.length > 0) {
      this.#resuming = old; // `resume` must be the first message of the new connection
      this.#ws.send(JSON.stringify({ type: 'resume', session_id: old }));
      emit(this, 'message', { direction: 'out', message: { type: 'resume', session_id: old } });
      this.#pendingSession = m.session_id;
      return;
    }
    this.sessionId = m.session_id;
    this.#outbox = [];
    this.#online(false);
  }

  #pendingSession = null;

  #onResumed(m) {
    this.#resuming = null;
    this.sessionId = m.session_id;
    // A call without an id yet learns it from the buffered messages that follow `resumed`.
    const kept = new Set(m.calls ?? []);
    for (const c of this.#calls) if (c.id && !kept.has(c.id)) c._end({ reason: 'connection_lost' });
    this.#online(true);
  }

  #online(resumed) {
    this.#attempt = 0;
    this.#setState('connected', { resumed, sessionId: this.sessionId });
    const live = new Set(this.calls.flatMap((c) => [c.id, c.ref]).filter(Boolean));
    for (const msg of this.#outbox.splice(0)) if (live.has(msg.call_id ?? msg.ref)) this.#send(msg);
    this.#settle(null);
  }

  #onError(m) {
    if (this.#resuming) {
      // the old session is gone (grace period over): its calls are lost; this connection is a new session
      this.#resuming = null;
      this.sessionId = this.#pendingSession;
      this.#outbox = [];
      const err = new WebRTCGatewayError('resume_failed', `could not resume the session: ${m.message}`);
      for (const c of this.#calls) c._end({ reason: 'connection_lost' });
      emit(this, 'error', { error: err });
      this.#online(false);
      return;
    }
    const call = m.ref != null ? this.#find({ ref: m.ref }) : this.#answeringCall();
    const err = new WebRTCGatewayError(m.code, m.message, { ref: m.ref ?? null, callId: call?.id ?? null });
    emit(this, 'error', { error: err });
    call?._onError(err);
  }

  /** The inbound call waiting for its `answer` (an `accept` refused with bad_sdp comes with `ref: null`). */
  #answeringCall() {
    return [...this.#calls].reverse().find((c) => c.direction === 'inbound' && c.state === 'answering') ?? null;
  }
}
