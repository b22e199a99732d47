// Test client of the gateway's signaling API v1, injected by WebDriver `execute` into a page of
// http://127.0.0.1 (a secure context, so getUserMedia works). It keeps everything it sees in
// window.__gw so the Rust side can poll it:
//   __gw.events  every server message, as {at: ms (performance.now()), msg}
//   __gw.log     client-side notes and errors, as {at, text}
//   __gw.timing  {callSentAt} in the same clock as `at`
// Only candidates on 127.0.0.1 are sent or accepted: the tests use loopback only.
window.__gw = (() => {
  const gw = {
    events: [],
    log: [],
    timing: {},
    ws: null,
    pc: null,
    callId: null,
    ref: null,
    sender: null,
    // Video calls: the <video> elements showing the camera ('local') and the received video
    // ('remote'), see showVideo.
    videos: {},
  };
  const now = () => performance.now();
  const note = (text) => gw.log.push({ at: now(), text: String(text) });
  const withTimeout = (promise, ms, what) =>
    Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)),
    ]);

  const isLoopbackCandidate = (candidate) => {
    // candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
    const fields = String(candidate).replace(/^a=/, '').split(' ');
    return fields.length > 5 && fields[4] === '127.0.0.1';
  };
  // Drops a=candidate lines that are not on 127.0.0.1.
  const loopbackOnlySdp = (sdp) =>
    sdp
      .split('\r\n')
      .filter((line) => !line.startsWith('a=candidate:') || isLoopbackCandidate(line))
      .join('\r\n');

  const send = (msg) => {
    gw.ws.send(JSON.stringify(msg));
  };

  const waitIceGatheringComplete = (pc, ms) =>
    withTimeout(
      new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
      }),
      ms,
      'ICE gathering'
    );

  // Shows `stream` in a muted, autoplaying <video> kept as gw.videos[name]: Chromium decodes
  // received video only for a sink, and videoFrame reads the frames back from the element.
  const showVideo = (name, stream) => {
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    document.body.appendChild(video);
    gw.videos[name] = video;
    video.play().catch((e) => note(`video.play (${name}): ${e}`));
  };

  const playRemote = (pc) => {
    // Chromium decodes (and reports totalAudioEnergy for) received audio only while it is played.
    pc.addEventListener('track', (event) => {
      if (event.track.kind === 'video') {
        showVideo('remote', new MediaStream([event.track]));
        return;
      }
      const audio = document.createElement('audio');
      audio.autoplay = true;
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      document.body.appendChild(audio);
      audio.play().catch((e) => note(`audio.play: ${e}`));
    });
  };

  // The fake microphone, plus the fake camera (a moving test pattern under
  // --use-fake-device-for-media-stream) when `video`.
  const openMic = (video) =>
    navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      video: !!video,
    });

  // Restricts the transceiver's codecs to `mimeTypes` (e.g. ['audio/opus'], or ['video/H264']
  // with kind 'video'), in that order.
  const preferCodecs = (transceiver, mimeTypes, kind = 'audio') => {
    const all = RTCRtpReceiver.getCapabilities(kind).codecs;
    const chosen = [];
    for (const mime of mimeTypes) {
      for (const codec of all) {
        if (codec.mimeType.toLowerCase() === mime.toLowerCase()) chosen.push(codec);
      }
    }
    if (chosen.length === 0) throw new Error(`no codec among ${mimeTypes}`);
    transceiver.setCodecPreferences(chosen);
  };

  // Opens the signaling WebSocket and resolves with the hello message.
  gw.connect = (wsUrl) =>
    withTimeout(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(wsUrl);
        gw.ws = ws;
        ws.onmessage = (event) => {
          let msg;
          try {
            msg = JSON.parse(event.data);
          } catch (e) {
            note(`unparsable server frame: ${event.data}`);
            return;
          }
          gw.events.push({ at: now(), msg });
          gw.onServerMessage(msg).catch((e) => note(`handling ${msg.type}: ${e}`));
          if (msg.type === 'hello') resolve(msg);
        };
        ws.onclose = (event) => {
          gw.events.push({ at: now(), msg: { type: '__ws_closed', code: event.code, reason: event.reason } });
          reject(new Error(`WebSocket closed before hello: code ${event.code}`));
        };
        ws.onerror = () => note('WebSocket error');
      }),
      10000,
      'hello'
    );

  const pendingRemoteIce = [];
  gw.onServerMessage = async (msg) => {
    if (msg.call_id && (msg.type === 'answer' || msg.type === 'state')) gw.callId = msg.call_id;
    if (msg.type === 'answer' && gw.pc) {
      await gw.pc.setRemoteDescription({ type: 'answer', sdp: loopbackOnlySdp(msg.sdp) });
      while (pendingRemoteIce.length > 0) await addRemoteIce(pendingRemoteIce.shift());
    } else if (msg.type === 'ice' && gw.pc) {
      if (gw.pc.remoteDescription) await addRemoteIce(msg.candidate);
      else pendingRemoteIce.push(msg.candidate);
    }
  };
  const addRemoteIce = async (candidate) => {
    if (!candidate || !candidate.candidate) return; // end of candidates: nothing to add
    if (!isLoopbackCandidate(candidate.candidate)) {
      note(`ignored remote candidate off loopback: ${candidate.candidate}`);
      return;
    }
    await gw.pc.addIceCandidate(candidate);
  };

  // Places a call. opts: {wsUrl, to, ref, callType, trickle, codecs, video, videoCodecs}; with
  // `video` the camera is sent too (a second transceiver, after the audio one) and shown as
  // gw.videos.local. Resolves once `call` is sent.
  gw.start = async (opts) => {
    const hello = await gw.connect(opts.wsUrl);
    const stream = await openMic(opts.video);
    // opts.iceTransportPolicy: 'relay' forces every path through the TURN server of hello.
    const pc = new RTCPeerConnection({ iceServers: hello.ice_servers || [], iceTransportPolicy: opts.iceTransportPolicy || 'all' });
    gw.pc = pc;
    gw.ref = opts.ref || 'c1';
    playRemote(pc);
    const track = stream.getAudioTracks()[0];
    const transceiver = pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    if (opts.codecs && opts.codecs.length > 0) preferCodecs(transceiver, opts.codecs);
    if (opts.video) {
      const camera = stream.getVideoTracks()[0];
      const video = pc.addTransceiver(camera, { direction: 'sendrecv', streams: [stream] });
      if (opts.videoCodecs && opts.videoCodecs.length > 0) preferCodecs(video, opts.videoCodecs, 'video');
      showVideo('local', new MediaStream([camera]));
    }
    pc.addEventListener('icecandidate', (event) => {
      if (!opts.trickle) return;
      if (event.candidate && !isLoopbackCandidate(event.candidate.candidate)) return;
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      const msg = { type: 'ice', candidate };
      if (gw.callId) msg.call_id = gw.callId;
      else msg.ref = gw.ref;
      send(msg);
    });
    pc.addEventListener('connectionstatechange', () => note(`pc connectionState ${pc.connectionState}`));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let sdp = offer.sdp;
    if (!opts.trickle) {
      await waitIceGatheringComplete(pc, 10000);
      sdp = loopbackOnlySdp(pc.localDescription.sdp);
    }
    gw.timing.callSentAt = now();
    send({ type: 'call', ref: gw.ref, to: opts.to, sdp, call_type: opts.callType || 'audio' });
    return { offer: sdp };
  };

  // Hangs up: by call_id once known, by ref before.
  gw.hangup = () => {
    const msg = { type: 'hangup' };
    if (gw.callId) msg.call_id = gw.callId;
    else msg.ref = gw.ref;
    send(msg);
    return msg;
  };

  const rtpStats = async (pc, type, kind = 'audio') => {
    if (!pc) return null;
    const report = await pc.getStats();
    let rtp = null;
    const codecs = {};
    report.forEach((stat) => {
      if (stat.type === type && stat.kind === kind) rtp = stat;
      if (stat.type === 'codec') codecs[stat.id] = stat;
    });
    if (!rtp) return null;
    const codec = codecs[rtp.codecId];
    return { rtp, mimeType: codec ? codec.mimeType : null, clockRate: codec ? codec.clockRate : null };
  };

  // {packetsReceived, totalAudioEnergy, audioLevel, mimeType} of the received audio (zeros before any).
  gw.inboundAudio = async (pc) => {
    const s = await rtpStats(pc || gw.pc, 'inbound-rtp');
    if (!s) return { packetsReceived: 0, totalAudioEnergy: 0, audioLevel: 0, mimeType: null };
    return {
      packetsReceived: s.rtp.packetsReceived || 0,
      totalAudioEnergy: s.rtp.totalAudioEnergy || 0,
      audioLevel: s.rtp.audioLevel || 0,
      mimeType: s.mimeType,
    };
  };

  // {packetsSent, bytesSent, mimeType} of the sent audio.
  gw.outboundAudio = async (pc) => {
    const s = await rtpStats(pc || gw.sender || gw.pc, 'outbound-rtp');
    if (!s) return { packetsSent: 0, bytesSent: 0, mimeType: null };
    return { packetsSent: s.rtp.packetsSent || 0, bytesSent: s.rtp.bytesSent || 0, mimeType: s.mimeType };
  };

  // The received video's inbound-rtp figures (zeros before any): {packetsReceived, packetsLost,
  // framesReceived, framesDecoded, keyFramesDecoded, frameWidth, frameHeight, pliCount, firCount,
  // nackCount (the last three: feedback this receiver sent), mimeType}.
  gw.inboundVideo = async (pc) => {
    const s = await rtpStats(pc || gw.pc, 'inbound-rtp', 'video');
    const r = s ? s.rtp : {};
    const fields = ['packetsReceived', 'packetsLost', 'framesReceived', 'framesDecoded', 'keyFramesDecoded',
      'frameWidth', 'frameHeight', 'pliCount', 'firCount', 'nackCount'];
    const out = { mimeType: s ? s.mimeType : null };
    for (const f of fields) out[f] = r[f] || 0;
    return out;
  };

  // The sent video's outbound-rtp figures: {packetsSent, framesEncoded, keyFramesEncoded,
  // frameWidth, frameHeight, pliCount, firCount, nackCount (feedback this sender received),
  // mimeType}.
  gw.outboundVideo = async (pc) => {
    const s = await rtpStats(pc || gw.sender || gw.pc, 'outbound-rtp', 'video');
    const r = s ? s.rtp : {};
    const fields = ['packetsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded', 'frameWidth', 'frameHeight',
      'pliCount', 'firCount', 'nackCount', 'targetBitrate'];
    const out = { mimeType: s ? s.mimeType : null };
    for (const f of fields) out[f] = r[f] || 0;
    return out;
  };

  // Draws the current frame of gw.videos[name] ('local' or 'remote') on a canvas and measures
  // it: {ready, width, height, meanLuma (0-255, BT.601 weights), nonBlackShare (share of pixels
  // with luma above 24)}. ready is false until the element has a frame. A black frame measures
  // about 0 for both; Chromium's fake camera (a green-grey pattern) far more.
  gw.videoFrame = (name) => {
    const video = gw.videos[name];
    if (!video || video.readyState < 2 || video.videoWidth === 0) {
      return { ready: false, width: 0, height: 0, meanLuma: 0, nonBlackShare: 0 };
    }
    const width = video.videoWidth;
    const height = video.videoHeight;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, width, height);
    const data = ctx.getImageData(0, 0, width, height).data;
    let sum = 0;
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) {
      const luma = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
      sum += luma;
      if (luma > 24) lit += 1;
    }
    const pixels = data.length / 4;
    return { ready: true, width, height, meanLuma: sum / pixels, nonBlackShare: lit / pixels };
  };

  // The audio statistics that only RTCP from the remote side produces: remote-inbound-rtp (from
  // the peer's receiver reports on what we send) and remote-outbound-rtp (from its sender
  // reports), plus the local outbound-rtp they refer to. Each is the full getStats() entry.
  gw.rtcpStats = async (pc) => {
    const peer = pc || gw.pc;
    const out = { remoteInbound: [], remoteOutbound: [], outbound: [], inbound: [] };
    if (!peer) return out;
    const report = await peer.getStats();
    report.forEach((stat) => {
      if (stat.kind !== 'audio') return;
      if (stat.type === 'remote-inbound-rtp') out.remoteInbound.push(stat);
      if (stat.type === 'remote-outbound-rtp') out.remoteOutbound.push(stat);
      if (stat.type === 'outbound-rtp') out.outbound.push(stat);
      if (stat.type === 'inbound-rtp') out.inbound.push(stat);
    });
    return out;
  };

  // The selected ICE candidate pair of the call (getStats): {state, local: {candidateType,
  // address, port, protocol, relayProtocol}, remote: {...}, bytesSent, bytesReceived, active:
  // [pairs that carried media], transportBytesSent, transportBytesReceived}, or null.
  gw.selectedPair = async (pc) => {
    const peer = pc || gw.pc;
    if (!peer) return null;
    const report = await peer.getStats();
    const byId = new Map();
    report.forEach((stat) => byId.set(stat.id, stat));
    let pair = null;
    report.forEach((stat) => {
      if (stat.type === 'transport' && stat.selectedCandidatePairId) pair = byId.get(stat.selectedCandidatePairId);
    });
    if (!pair) {
      report.forEach((stat) => {
        if (stat.type === 'candidate-pair' && stat.nominated && stat.state === 'succeeded') pair = stat;
      });
    }
    if (!pair) return null;
    const side = (id) => {
      const c = byId.get(id);
      return c ? { candidateType: c.candidateType, address: c.address, port: c.port, protocol: c.protocol, relayProtocol: c.relayProtocol || null } : null;
    };
    // Every pair that carried media, and the transport's totals: the two ends may each send on
    // a different nominated pair (Chromium renominates; the remote agent may keep its first).
    const active = [];
    let transport = null;
    report.forEach((stat) => {
      if (stat.type === 'transport') transport = stat;
      if (stat.type === 'candidate-pair' && ((stat.bytesSent || 0) > 0 || (stat.bytesReceived || 0) > 0)) {
        active.push({ local: side(stat.localCandidateId), remote: side(stat.remoteCandidateId), bytesSent: stat.bytesSent || 0, bytesReceived: stat.bytesReceived || 0 });
      }
    });
    return {
      state: pair.state,
      local: side(pair.localCandidateId),
      remote: side(pair.remoteCandidateId),
      bytesSent: pair.bytesSent || 0,
      bytesReceived: pair.bytesReceived || 0,
      active,
      transportBytesSent: transport ? transport.bytesSent || 0 : 0,
      transportBytesReceived: transport ? transport.bytesReceived || 0 : 0,
    };
  };

  // Harness self-test: a call between two RTCPeerConnections of this page, over 127.0.0.1.
  // The receiving side becomes __gw.pc (for inboundAudio), the sending side __gw.sender.
  gw.loopback = async (codecs) => {
    const stream = await openMic();
    const sender = new RTCPeerConnection({ iceServers: [] });
    const receiver = new RTCPeerConnection({ iceServers: [] });
    gw.sender = sender;
    gw.pc = receiver;
    playRemote(receiver);
    const trickle = (from, to) =>
      from.addEventListener('icecandidate', (event) => {
        if (event.candidate && isLoopbackCandidate(event.candidate.candidate)) {
          to.addIceCandidate(event.candidate).catch((e) => note(`addIceCandidate: ${e}`));
        }
      });
    trickle(sender, receiver);
    trickle(receiver, sender);
    const transceiver = sender.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    if (codecs && codecs.length > 0) preferCodecs(transceiver, codecs);
    await sender.setLocalDescription(await sender.createOffer());
    await receiver.setRemoteDescription(sender.localDescription);
    await receiver.setLocalDescription(await receiver.createAnswer());
    await sender.setRemoteDescription(receiver.localDescription);
    return { offer: sender.localDescription.sdp };
  };

  // Harness self-test of video: like loopback, with the fake camera too (sendonly, restricted to
  // `videoCodecs` when given). Shows gw.videos.local and, once received, gw.videos.remote.
  gw.videoLoopback = async (videoCodecs) => {
    const stream = await openMic(true);
    const sender = new RTCPeerConnection({ iceServers: [] });
    const receiver = new RTCPeerConnection({ iceServers: [] });
    gw.sender = sender;
    gw.pc = receiver;
    playRemote(receiver);
    const trickle = (from, to) =>
      from.addEventListener('icecandidate', (event) => {
        if (event.candidate && isLoopbackCandidate(event.candidate.candidate)) {
          to.addIceCandidate(event.candidate).catch((e) => note(`addIceCandidate: ${e}`));
        }
      });
    trickle(sender, receiver);
    trickle(receiver, sender);
    sender.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    const camera = stream.getVideoTracks()[0];
    const video = sender.addTransceiver(camera, { direction: 'sendonly', streams: [stream] });
    if (videoCodecs && videoCodecs.length > 0) preferCodecs(video, videoCodecs, 'video');
    showVideo('local', new MediaStream([camera]));
    await sender.setLocalDescription(await sender.createOffer());
    await receiver.setRemoteDescription(sender.localDescription);
    await receiver.setLocalDescription(await receiver.createAnswer());
    await sender.setRemoteDescription(receiver.localDescription);
    return { offer: sender.localDescription.sdp };
  };

  // The video codecs this Chromium can receive (RTCRtpReceiver.getCapabilities('video')).
  gw.videoCapabilities = () => RTCRtpReceiver.getCapabilities('video').codecs;

  // ---- Devices: further signaling sessions of this page, each with its own WebSocket and, once
  // it accepts an inbound call, its own RTCPeerConnection. The gateway sees each as one device of
  // the user. Each keeps its own record in __gw.devices[name]:
  //   events  every server message, as {at: performance.now(), wall: ms since the Unix epoch, msg}
  //   log     client-side notes and errors, as {at, text}
  // `wall` (performance.timeOrigin + now) lets a test compare the page's receive time with the
  // send time another program logged on the same machine.
  gw.devices = {};
  const wallNow = () => performance.timeOrigin + performance.now();
  const devNote = (dev, text) => dev.log.push({ at: now(), text: String(text) });
  const devSend = (dev, msg) => dev.ws.send(JSON.stringify(msg));

  const onDeviceMessage = async (dev, msg) => {
    if (msg.type === 'answer' && dev.pc && msg.call_id === dev.callId) {
      await dev.pc.setRemoteDescription({ type: 'answer', sdp: loopbackOnlySdp(msg.sdp) });
      while (dev.pendingIce.length > 0) await addDeviceIce(dev, dev.pendingIce.shift());
    } else if (msg.type === 'ice' && dev.pc && msg.call_id === dev.callId) {
      if (dev.pc.remoteDescription) await addDeviceIce(dev, msg.candidate);
      else dev.pendingIce.push(msg.candidate);
    }
  };
  const addDeviceIce = async (dev, candidate) => {
    if (!candidate || !candidate.candidate) return; // end of candidates: nothing to add
    if (!isLoopbackCandidate(candidate.candidate)) {
      devNote(dev, `ignored remote candidate off loopback: ${candidate.candidate}`);
      return;
    }
    await dev.pc.addIceCandidate(candidate);
  };

  // Opens device `name`'s WebSocket; resolves with its hello.
  gw.openDevice = (name, wsUrl) =>
    withTimeout(
      new Promise((resolve, reject) => {
        const dev = { name, events: [], log: [], ws: null, pc: null, callId: null, hello: null, pendingIce: [] };
        gw.devices[name] = dev;
        const ws = new WebSocket(wsUrl);
        dev.ws = ws;
        ws.onmessage = (event) => {
          let msg;
          try {
            msg = JSON.parse(event.data);
          } catch (e) {
            devNote(dev, `unparsable server frame: ${event.data}`);
            return;
          }
          dev.events.push({ at: now(), wall: wallNow(), msg });
          onDeviceMessage(dev, msg).catch((e) => devNote(dev, `handling ${msg.type}: ${e}`));
          if (msg.type === 'hello') {
            dev.hello = msg;
            resolve(msg);
          }
        };
        ws.onclose = (event) => {
          dev.events.push({ at: now(), wall: wallNow(), msg: { type: '__ws_closed', code: event.code, reason: event.reason } });
          reject(new Error(`device ${name}: WebSocket closed before hello: code ${event.code}`));
        };
        ws.onerror = () => devNote(dev, 'WebSocket error');
      }),
      10000,
      `hello on device ${name}`
    );

  // Accepts inbound call `callId` on device `name`: opens the microphone, creates the offer and
  // sends it in `accept` (the browser stays the offerer). opts: {trickle (default true), codecs,
  // video, videoCodecs}; with `video` the camera is sent too (a second transceiver, after the
  // audio one) and shown as gw.videos.local; received video shows as gw.videos.remote.
  // With trickle, candidates found before `accept` is sent are held back until it is.
  gw.acceptIncoming = async (name, callId, opts) => {
    const dev = gw.devices[name];
    const options = opts || {};
    const trickle = options.trickle !== false;
    const stream = await openMic(options.video);
    const pc = new RTCPeerConnection({ iceServers: (dev.hello && dev.hello.ice_servers) || [] });
    dev.pc = pc;
    dev.callId = callId;
    playRemote(pc);
    const transceiver = pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendrecv', streams: [stream] });
    if (options.codecs && options.codecs.length > 0) preferCodecs(transceiver, options.codecs);
    if (options.video) {
      const camera = stream.getVideoTracks()[0];
      const video = pc.addTransceiver(camera, { direction: 'sendrecv', streams: [stream] });
      if (options.videoCodecs && options.videoCodecs.length > 0) preferCodecs(video, options.videoCodecs, 'video');
      showVideo('local', new MediaStream([camera]));
    }
    let acceptSent = false;
    const heldBack = [];
    pc.addEventListener('icecandidate', (event) => {
      if (!trickle) return;
      if (event.candidate && !isLoopbackCandidate(event.candidate.candidate)) return;
      const msg = { type: 'ice', call_id: callId, candidate: event.candidate ? event.candidate.toJSON() : null };
      if (acceptSent) devSend(dev, msg);
      else heldBack.push(msg);
    });
    pc.addEventListener('connectionstatechange', () => devNote(dev, `pc connectionState ${pc.connectionState}`));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    let sdp = offer.sdp;
    if (!trickle) {
      await waitIceGatheringComplete(pc, 10000);
      sdp = loopbackOnlySdp(pc.localDescription.sdp);
    }
    dev.acceptSentAt = now();
    devSend(dev, { type: 'accept', call_id: callId, sdp });
    acceptSent = true;
    for (const msg of heldBack) devSend(dev, msg);
    return { offer: sdp };
  };

  // Declines inbound call `callId` on device `name` (reason: busy or decline).
  gw.rejectIncoming = (name, callId, reason) => {
    const msg = { type: 'reject', call_id: callId, reason };
    devSend(gw.devices[name], msg);
    return msg;
  };

  // Hangs up call `callId` from device `name`.
  gw.deviceHangup = (name, callId) => {
    const msg = { type: 'hangup', call_id: callId };
    devSend(gw.devices[name], msg);
    return msg;
  };

  // Closes device `name`'s WebSocket (and its peer connection); resolves once closed.
  gw.closeDevice = (name) =>
    withTimeout(
      new Promise((resolve) => {
        const dev = gw.devices[name];
        if (dev.pc) dev.pc.close();
        if (dev.ws.readyState === WebSocket.CLOSED) return resolve(true);
        dev.ws.addEventListener('close', () => resolve(true));
        dev.ws.close(1000, 'device closed by the test');
      }),
      10000,
      `closing device ${name}`
    );

  // Received-audio statistics of device `name` (see inboundAudio).
  gw.deviceInboundAudio = (name) => {
    const dev = gw.devices[name];
    return dev && dev.pc ? gw.inboundAudio(dev.pc) : gw.inboundAudio({ getStats: async () => new Map() });
  };

  // Sent-audio statistics of device `name` (see outboundAudio).
  gw.deviceOutboundAudio = (name) => {
    const dev = gw.devices[name];
    return dev && dev.pc ? gw.outboundAudio(dev.pc) : { packetsSent: 0, bytesSent: 0, mimeType: null };
  };

  // Received-video statistics of device `name` (see inboundVideo; zeros without a call).
  gw.deviceInboundVideo = (name) => {
    const dev = gw.devices[name];
    return gw.inboundVideo(dev && dev.pc ? dev.pc : { getStats: async () => new Map() });
  };

  // Sent-video statistics of device `name` (see outboundVideo; zeros without a call).
  gw.deviceOutboundVideo = (name) => {
    const dev = gw.devices[name];
    return gw.outboundVideo(dev && dev.pc ? dev.pc : { getStats: async () => new Map() });
  };

  // Every device's events and notes, for failure reports.
  gw.devicesState = () => {
    const out = {};
    for (const [name, dev] of Object.entries(gw.devices)) out[name] = { events: dev.events, log: dev.log };
    return out;
  };

  return gw;
})();
