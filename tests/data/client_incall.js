// In-call additions to the test client (tests/data/client.js), injected after it into the same
// page by tests/support/incall.rs. They drive the features of issue 4 from the browser: DTMF
// (RTCDTMFSender and the `dtmf` message), hold/unhold, ICE restart with a new `offer`, and a
// signaling WebSocket lost and resumed. Everything is recorded in window.__gw like the rest.
(() => {
  const gw = window.__gw;
  const now = () => performance.now();
  const note = (text) => gw.log.push({ at: now(), text: String(text) });
  const withTimeout = (promise, ms, what) =>
    Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)),
    ]);
  const requireCall = () => {
    if (!gw.callId) throw new Error('no call_id yet (no answer or state received)');
    return gw.callId;
  };
  const ufragOf = (sdp) => {
    const m = /a=ice-ufrag:(\S+)/.exec(sdp || '');
    return m ? m[1] : null;
  };

  // Sends `{type, call_id, ...extra}` for the current call; returns the message sent.
  gw.callMessage = (type, extra) => {
    const msg = Object.assign({ type, call_id: requireCall() }, extra || {});
    gw.ws.send(JSON.stringify(msg));
    return msg;
  };

  // Plays `tones` with the audio sender's RTCDTMFSender (RFC 4733 from Chromium's own stack).
  // Resolves once the sender reports the end of the tone buffer, with the tones it played in order.
  gw.insertDtmf = (tones, duration, gap) => {
    const sender = gw.pc && gw.pc.getSenders().find((s) => s.track && s.track.kind === 'audio');
    if (!sender || !sender.dtmf) throw new Error('no audio sender with an RTCDTMFSender');
    if (!sender.dtmf.canInsertDTMF) throw new Error('canInsertDTMF is false: no telephone-event negotiated');
    const played = [];
    return withTimeout(
      new Promise((resolve) => {
        sender.dtmf.ontonechange = (event) => {
          note(`dtmf tonechange '${event.tone}'`);
          if (event.tone === '') resolve({ played });
          else played.push(event.tone);
        };
        sender.dtmf.insertDTMF(tones, duration, gap);
      }),
      20000,
      `insertDTMF(${tones})`
    );
  };

  // ICE restart (RFC 8839 section 4.4.1.1.1): restartIce(), a new offer sent as `offer` over
  // the same call_id; the gateway's `answer` is applied by client.js's message handler.
  // Resolves with the local ICE ufrag before and after.
  gw.restartIce = async () => {
    const callId = requireCall();
    const before = ufragOf(gw.pc.localDescription && gw.pc.localDescription.sdp);
    gw.pc.restartIce();
    const offer = await gw.pc.createOffer();
    await gw.pc.setLocalDescription(offer);
    gw.timing.restartSentAt = now();
    gw.ws.send(JSON.stringify({ type: 'offer', call_id: callId, sdp: offer.sdp }));
    return { before, after: ufragOf(offer.sdp) };
  };

  // The ICE ufrags of the current descriptions, and the connection states.
  gw.iceState = () => ({
    localUfrag: ufragOf(gw.pc && gw.pc.localDescription && gw.pc.localDescription.sdp),
    remoteUfrag: ufragOf(gw.pc && gw.pc.remoteDescription && gw.pc.remoteDescription.sdp),
    signalingState: gw.pc ? gw.pc.signalingState : null,
    iceConnectionState: gw.pc ? gw.pc.iceConnectionState : null,
    connectionState: gw.pc ? gw.pc.connectionState : null,
  });

  // Watches the signaling WebSocket for its loss (the test cuts the TCP connection under it, as a
  // network change would: no Close frame). The close becomes a note, not an event, so that the
  // harness does not take it for a failure; `gw.signalingLost` resolves with the session id of
  // the lost session and how the socket closed. Returns the session id.
  gw.watchSignalingLoss = () => {
    const hello = gw.events.find((e) => e.msg.type === 'hello');
    if (!hello) throw new Error('no hello received');
    const ws = gw.ws;
    gw.signalingLost = withTimeout(
      new Promise((resolve) => {
        ws.onclose = (event) => {
          note(`signaling WebSocket lost (code ${event.code}, clean ${event.wasClean})`);
          resolve({ sessionId: hello.msg.session_id, code: event.code, wasClean: event.wasClean });
        };
      }),
      15000,
      'loss of the WebSocket'
    );
    return { sessionId: hello.msg.session_id };
  };

  // Opens a new WebSocket with `wsUrl` (same token) and sends `resume` with `sessionId` as its
  // first message. Resolves with the new connection's hello.
  gw.resumeSignaling = async (wsUrl, sessionId) => {
    const hello = await gw.connect(wsUrl);
    gw.timing.resumeSentAt = now();
    gw.ws.send(JSON.stringify({ type: 'resume', session_id: sessionId }));
    return hello;
  };
})();
