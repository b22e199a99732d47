// The softphone page served at / by webrtc-gateway, built on the SDK (webrtc-gateway.js, also at
// /sdk/webrtc-gateway.js). Query parameters: ?token=... (remembered in localStorage, then removed
// from the address bar) and ?gateway=wss://host/ws (default: /ws of this page's host).
import { WebRTCGateway } from './webrtc-gateway.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'webrtc-gateway.token';
const LIVE = new Set(['connected', 'held']);

const ERRORS = {
  media_permission_denied:
    'Microphone permission denied. Allow microphone access for this site (the icon in the address bar), then call again.',
  media_unavailable: 'No usable microphone. Plug one in or close the application that holds it; this page also needs https or localhost.',
  unauthorized: 'The gateway refused the token: it is unknown or has expired. Enter a valid token and connect again.',
  token_error: 'Could not get a token. Sign in again.',
  unreachable: 'The gateway is unreachable. Check that it is running and that this address is right, then connect again.',
  connection_lost: 'The connection to the gateway was lost.',
  resume_failed: 'The connection came back too late: the calls in progress were ended.',
  invalid_number: 'This number cannot be dialled (use 0-9, *, #, +, letters, . - _).',
  no_common_codec: 'The browser and the gateway share no audio codec.',
  unavailable: 'The gateway cannot take the call now (no free media ports). Try again shortly.',
};

let gw = null;
let current = null; // the call shown on the dial pad
const ringing = new Map(); // call id -> inbound Call not yet answered
let dtmfSent = '';

// ---- small helpers ----
function log(text) {
  const el = $('log');
  const t = new Date().toLocaleTimeString(undefined, { hour12: false });
  el.textContent += `${t} ${text}\n`;
  const lines = el.textContent.split('\n');
  if (lines.length > 300) el.textContent = lines.slice(-300).join('\n');
  el.scrollTop = el.scrollHeight;
}

function showError(err) {
  const code = err?.code;
  const text = ERRORS[code] ?? err?.message ?? String(err);
  $('error').textContent = text;
  $('error').dataset.code = code ?? '';
  $('error').hidden = false;
  log(`error ${code ?? ''}: ${err?.message ?? err}`);
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function setText(id, text, state) {
  $(id).textContent = text;
  if (state !== undefined) $(id).dataset.state = state;
}

// ---- token ----
function initialToken() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete('token'); // keep the token out of history and shared links
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
    return fromUrl;
  }
  return localStorage.getItem(TOKEN_KEY) ?? 'alice-token';
}

// ---- ring tone (Web Audio; the context is made on a click so autoplay rules allow it) ----
let audioCtx = null;
let ringTimer = null;
function unlockAudio() {
  const Ctx = window.AudioContext ?? window.webkitAudioContext;
  if (!audioCtx && Ctx) audioCtx = new Ctx();
  audioCtx?.resume?.().catch(() => {});
}
function beep(seconds) {
  if (!audioCtx || audioCtx.state !== 'running') return;
  const gain = audioCtx.createGain();
  gain.gain.value = 0.08;
  gain.connect(audioCtx.destination);
  for (const f of [440, 480]) {
    const osc = audioCtx.createOscillator();
    osc.frequency.value = f;
    osc.connect(gain);
    osc.start();
    osc.stop(audioCtx.currentTime + seconds);
  }
}
function ring(on) {
  clearInterval(ringTimer);
  ringTimer = null;
  if (!on) return;
  beep(1.5);
  ringTimer = setInterval(() => beep(1.5), 4000);
  navigator.vibrate?.([400, 200, 400]);
}

// ---- connection ----
function gatewayUrl() {
  return new URLSearchParams(location.search).get('gateway') ?? undefined;
}

async function connect() {
  const token = $('token').value.trim();
  if (!token) {
    showError({ code: 'unauthorized', message: 'no token' });
    return false;
  }
  localStorage.setItem(TOKEN_KEY, token);
  clearError();
  gw?.disconnect();
  gw = new WebRTCGateway({ url: gatewayUrl(), token });
  applyDevices();
  gw.addEventListener('connection', (e) => {
    const { state, resumed } = e.detail;
    setText('conn', state === 'connected' ? `online · ${gw.user}` : state === 'disconnected' ? 'offline' : state, state);
    $('connect').textContent = state === 'disconnected' ? 'Connect' : 'Disconnect';
    $('login').toggleAttribute('data-connected', state !== 'disconnected');
    log(`connection ${state}${resumed ? ' (session resumed, calls kept)' : ''}`);
    if (state === 'disconnected') setText('registration', 'n/a', 'none');
  });
  gw.addEventListener('registration', (e) => {
    setText('registration', e.detail.state, e.detail.state);
    log(`registration ${e.detail.state}${e.detail.reason ? `: ${e.detail.reason}` : ''}`);
  });
  gw.addEventListener('error', (e) => showError(e.detail.error));
  gw.addEventListener('message', (e) => {
    const { direction, message: m } = e.detail;
    const what = [m.state, m.code, m.sip_code, m.reason, m.digit, m.from].filter((x) => x != null && x !== '').join(' ');
    if (m.type !== 'ice') log(`${direction === 'in' ? '<' : '>'} ${m.type}${what ? ` ${what}` : ''}`);
  });
  gw.addEventListener('incoming', (e) => onIncoming(e.detail.call));
  try {
    await gw.connect();
    return true;
  } catch {
    return false; // already shown by the `error` event
  }
}

// ---- calls ----
async function placeCall() {
  const number = $('number').value.trim();
  if (!number) {
    showError({ message: 'Enter a number to call.' });
    return;
  }
  clearError();
  unlockAudio();
  if (gw?.state !== 'connected' && !(await connect())) return;
  $('call').disabled = true;
  try {
    show(await gw.call(number));
  } catch (err) {
    if (err?.code !== 'not_connected' || gw?.state === 'connected') showError(err);
    render();
  }
  refreshDevices();
}

function onIncoming(call) {
  ringing.set(call.id, call);
  log(`incoming call from ${call.remoteNumber}${call.remoteName ? ` (${call.remoteName})` : ''}`);
  call.addEventListener('ended', () => {
    ringing.delete(call.id);
    renderIncoming();
  });
  renderIncoming();
}

function renderIncoming() {
  const call = [...ringing.values()].filter((c) => c.state === 'incoming').pop();
  $('incoming').hidden = !call;
  ring(Boolean(call));
  if (!call) return;
  $('caller').textContent = call.remoteNumber || 'unknown';
  $('caller-name').textContent = call.remoteName ?? '';
  $('incoming').dataset.callId = call.id;
}

async function accept() {
  const call = ringing.get($('incoming').dataset.callId);
  if (!call) return;
  unlockAudio();
  clearError();
  if (current && current !== call) current.hangup(); // one call at a time on this page
  ringing.delete(call.id);
  renderIncoming();
  show(call);
  try {
    await call.accept();
  } catch (err) {
    showError(err);
    if (call.state === 'incoming') {
      ringing.set(call.id, call); // still ringing: the user may try again
      renderIncoming();
    }
  }
  refreshDevices();
}

function decline() {
  const call = ringing.get($('incoming').dataset.callId);
  call?.reject('decline');
}

function show(call) {
  current = call;
  dtmfSent = '';
  $('timer').textContent = '00:00';
  $('dtmf-sent').textContent = '';
  $('detail').textContent = '';
  resetQuality();
  call.addEventListener('state', (e) => {
    const { state, sipCode, reason } = e.detail;
    log(`call ${call.remoteNumber}: ${state}${sipCode ? ` ${sipCode}` : ''}${reason ? ` (${reason})` : ''}`);
    if (call === current) render();
  });
  call.addEventListener('stats', (e) => call === current && renderQuality(e.detail));
  call.addEventListener('dtmf', (e) => log(`digit from the phone: ${e.detail.digit}`));
  call.addEventListener('warning', (e) => {
    log(`warning ${e.detail.code}: ${e.detail.message}`);
    if (e.detail.code === 'autoplay_blocked') showError({ message: 'Tap anywhere to hear the call (the browser blocked audio playback).' });
  });
  call.addEventListener('ended', async (e) => {
    const { reason, sipCode } = e.detail;
    const s = await call.getStats();
    log(`call ended: ${reason}${sipCode ? ` ${sipCode}` : ''}${s.mos ? `, MOS ${s.mos.toFixed(2)} (${s.mosSource})` : ''}`);
    if (call !== current) return;
    if (s.mos) renderQuality(s);
    $('detail').textContent = `${reason}${sipCode ? ` · ${sipCode}` : ''}`;
    current = null;
    render();
    setText('state', 'ended', 'ended');
  });
  render();
}

function render() {
  const c = current;
  const state = c?.state ?? 'idle';
  setText('state', state === 'early_media' ? 'early media' : state, state);
  const progress = c && (c.state === 'ringing' || c.state === 'early_media');
  if (c && c.state !== 'ended') $('detail').textContent = progress && c.sipCode ? String(c.sipCode) : '';
  const active = Boolean(c) && c.state !== 'ended';
  const live = active && LIVE.has(c.state);
  $('dialer').toggleAttribute('data-active', active);
  $('call').disabled = active;
  $('call').hidden = active;
  $('hangup').disabled = !active;
  $('hangup').hidden = !active;
  $('controls').hidden = !active;
  $('mute').disabled = !live;
  $('hold').disabled = !live;
  $('mute').setAttribute('aria-pressed', String(Boolean(c?.muted)));
  $('mute').textContent = c?.muted ? 'Unmute' : 'Mute';
  const held = c?.state === 'held';
  $('hold').setAttribute('aria-pressed', String(held));
  $('hold').textContent = held ? 'Resume' : 'Hold';
  $('dtmf-hint').hidden = !active;
  $('number').readOnly = active;
}

// ---- quality and timer ----
function resetQuality() {
  for (const id of ['mos', 'loss', 'jitter']) $(id).textContent = '–';
  $('quality').dataset.level = 'none';
}

function renderQuality(s) {
  if (s.mos == null) return;
  $('mos').textContent = s.mos.toFixed(1);
  $('loss').textContent = `${(s.lossPct ?? 0).toFixed(1)} %`;
  $('jitter').textContent = `${Math.round(s.jitterMs ?? 0)} ms`;
  $('quality').dataset.level = s.mos >= 4 ? 'good' : s.mos >= 3.6 ? 'fair' : 'poor';
}

setInterval(() => {
  if (!current?.connectedAt || current.state === 'ended') return;
  const secs = Math.floor((Date.now() - current.connectedAt) / 1000);
  const mm = String(Math.floor(secs / 60)).padStart(2, '0');
  const ss = String(secs % 60).padStart(2, '0');
  $('timer').textContent = secs >= 3600 ? `${Math.floor(secs / 3600)}:${mm.slice(-2)}:${ss}` : `${mm}:${ss}`;
}, 250);

// ---- dial pad: digits into the number field, or DTMF during a call ----
function press(digit) {
  if (current && LIVE.has(current.state)) {
    try {
      current.sendDtmf(digit);
      dtmfSent += digit;
      $('dtmf-sent').textContent = dtmfSent;
    } catch (err) {
      showError(err);
    }
    return;
  }
  if (current && current.state !== 'ended') return;
  $('number').value += digit;
}

// ---- devices ----
async function refreshDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  fill($('mic'), devices.filter((d) => d.kind === 'audioinput'), 'Microphone');
  fill($('speaker'), devices.filter((d) => d.kind === 'audiooutput'), 'Speaker');
}

function fill(select, devices, noun) {
  const chosen = select.value;
  select.replaceChildren(new Option('Default', ''));
  devices
    .filter((d) => d.deviceId && d.deviceId !== 'default')
    .forEach((d, i) => select.add(new Option(d.label || `${noun} ${i + 1}`, d.deviceId)));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
}

function applyDevices() {
  if (!gw) return;
  const mic = $('mic').value;
  if (mic) gw.audioConstraints.deviceId = { exact: mic };
  else delete gw.audioConstraints.deviceId;
  gw.outputDeviceId = $('speaker').value || null;
}

// ---- wiring ----
function init() {
  $('token').value = initialToken();
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    unlockAudio();
    if (gw && gw.state !== 'disconnected') {
      gw.disconnect();
      gw = null;
    } else {
      connect();
    }
  });
  $('call').addEventListener('click', placeCall);
  $('hangup').addEventListener('click', () => current?.hangup());
  $('accept').addEventListener('click', accept);
  $('decline').addEventListener('click', decline);
  $('mute').addEventListener('click', () => {
    current?.mute(!current.muted);
    render();
  });
  $('hold').addEventListener('click', () => {
    try {
      if (current?.state === 'held') current.unhold();
      else current?.hold();
    } catch (err) {
      showError(err);
    }
  });
  $('backspace').addEventListener('click', () => {
    if (!$('number').readOnly) $('number').value = $('number').value.slice(0, -1);
  });
  $('number').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !$('call').disabled) placeCall();
  });
  for (const b of document.querySelectorAll('#dialpad button[data-digit]')) {
    b.addEventListener('click', () => press(b.dataset.digit));
  }
  document.addEventListener('keydown', (e) => {
    // a hardware keypad during a call sends tones
    if (current && LIVE.has(current.state) && /^[0-9*#]$/.test(e.key) && e.target.tagName !== 'INPUT') press(e.key);
  });
  $('mic').addEventListener('change', () => {
    applyDevices();
    if (current?.peerConnection && $('mic').value) current.setInputDevice($('mic').value).catch(showError);
  });
  $('speaker').addEventListener('change', () => {
    applyDevices();
    current?.setOutputDevice($('speaker').value).catch(showError);
  });
  if (!('setSinkId' in HTMLMediaElement.prototype)) {
    $('speaker').disabled = true;
    $('speaker-note').hidden = false;
  }
  navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);
  document.addEventListener('click', () => current?.audioElement?.paused && current.audioElement.play().catch(() => {}));
  if (!window.isSecureContext) {
    showError({ message: 'This page is not a secure context: browsers allow the microphone only over https (or on localhost).' });
  }
  refreshDevices();
  render();
}

// For the browser console and tests: the live gateway and the call on the dial pad.
window.softphone = {
  get gateway() { return gw; },
  get call() { return current; },
};

init();
