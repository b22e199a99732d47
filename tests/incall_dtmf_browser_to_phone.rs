//! DTMF from the browser reaches the phone as RFC 4733 telephone-events at the payload type the
//! SIP side negotiated. Asterisk (SIPp `uas_pcmu_dtmf_test_media`) answers PCMU with
//! `telephone-event/8000` at PT 101 and names a UDP port this test owns as its media address; the
//! test echoes the audio and records every packet. Chromium offers telephone-event at 126/8000
//! (and 110/48000), so the gateway must remap the payload type (RFC 4733 section 2.1, RFC 3264
//! section 6.1: each side sends with the payload type the other declared). Each digit is one
//! event: a first packet with the marker bit, one RTP timestamp for all its packets, a growing
//! duration, and its end packet sent three times (RFC 4733 section 2.5.1).

mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;
use support::incall::phone::{PCMU_PT, PhoneMedia, PhoneMode};
use support::incall::rfc4733::ReceivedEvent;
use support::incall::{self, hang_up, send_call_message};
use support::rig::{CallOptions, CallRig, RigOptions};
use support::sipp::SippOptions;

/// Asterisk's telephone-event payload type in the scenario's answer.
const TE_PT: u8 = 101;
/// The browser offers Opus (and its telephone-events) only: the gateway transcodes to PCMU.
const OPUS: [&str; 2] = ["audio/opus", "audio/telephone-event"];

/// `RTCDTMFSender.insertDTMF("123#")` -> events 1, 2, 3, # at PT 101, >= 40 ms, 3 end packets each.
#[tokio::test]
async fn insert_dtmf_reaches_the_phone_at_its_payload_type() {
    let (mut rig, phone) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = insert_dtmf(&mut rig, &phone, &[]).await;
    rig.finish(outcome).await;
}

/// The same with the browser on Opus (transcoding to PCMU): Chromium's telephone-event is then
/// 110/48000 and the durations must be rescaled to 8000 Hz (RFC 4733 section 2.5.1.3).
#[tokio::test]
async fn insert_dtmf_on_the_transcoding_path_reaches_the_phone_at_8000_hz() {
    let (mut rig, phone) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = insert_dtmf(&mut rig, &phone, &OPUS).await;
    rig.finish(outcome).await;
}

/// `{"type":"dtmf","digits":"45"}` -> the gateway generates events 4, 5 at PT 101.
#[tokio::test]
async fn client_dtmf_message_generates_events_at_the_phones_payload_type() {
    let (mut rig, phone) = start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let outcome = client_digits(&mut rig, &phone).await;
    rig.finish(outcome).await;
}

/// The phone's media socket, then the rig whose SIPp names it in its answer.
async fn start() -> Result<(CallRig, PhoneMedia)> {
    let phone = PhoneMedia::bind(PhoneMode::Echo, TE_PT).await?;
    let options = RigOptions {
        sipp: SippOptions {
            rtp_echo: false,
            extra: vec![
                "-key".to_owned(),
                "rtp_port".to_owned(),
                phone.port().to_string(),
            ],
            ..SippOptions::default()
        },
        ..RigOptions::default()
    };
    let rig = incall::start("uas_pcmu_dtmf_test_media.xml", &options).await?;
    Ok((rig, phone))
}

/// Connected with the browser's `codecs` (empty = Chromium's default offer), audio flowing both
/// ways through the phone's echo; returns the gateway's answer to the browser.
async fn connect(
    rig: &CallRig,
    phone: &PhoneMedia,
    test: &str,
    codecs: &[&'static str],
) -> Result<String> {
    rig.place_call(&CallOptions {
        codecs: codecs.to_vec(),
        ..CallOptions::default()
    })
    .await?;
    let answer = rig.wait_answer(Duration::from_secs(10)).await?;
    rig.wait_state("connected", Duration::from_secs(15)).await?;
    rig.report_setup(test).await;
    phone
        .wait_packets(PCMU_PT, 25, Duration::from_secs(10))
        .await?;
    rig.wait_inbound_energy(0.01, Duration::from_secs(10))
        .await?;
    Ok(answer["sdp"].as_str().unwrap_or_default().to_owned())
}

async fn insert_dtmf(rig: &mut CallRig, phone: &PhoneMedia, codecs: &[&'static str]) -> Result<()> {
    let test = if codecs.is_empty() {
        "incall_dtmf_browser_to_phone insertDTMF"
    } else {
        "incall_dtmf_browser_to_phone insertDTMF opus"
    };
    let answer = connect(rig, phone, test, codecs).await?;
    let audio = rig.inbound_audio().await?;
    let te_lines: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("m=audio") || l.contains("telephone-event"))
        .collect();
    eprintln!(
        "[{test}] browser receives {:?}; the gateway's answer to the browser: {te_lines:?}",
        audio.mime_type
    );
    let played = rig
        .browser
        .eval(
            "return window.__gw.insertDtmf(arguments[0], arguments[1], arguments[2]);",
            vec![json!("123#"), json!(100), json!(70)],
        )
        .await?;
    eprintln!("[{test}] RTCDTMFSender played {played}");
    let events = phone
        .wait_events(TE_PT, 4, Duration::from_millis(400), Duration::from_secs(10))
        .await
        .with_context(|| {
            format!(
                "payload types at the phone: {:?}; the gateway's answer to the browser: {te_lines:?}",
                pt_counts(phone)
            )
        })?;
    check_events(phone, test, &events, &['1', '2', '3', '#'])?;
    hang_up(rig).await?;
    Ok(())
}

async fn client_digits(rig: &mut CallRig, phone: &PhoneMedia) -> Result<()> {
    let test = "incall_dtmf_browser_to_phone client dtmf";
    connect(rig, phone, test, &[]).await?;
    let sent = send_call_message(rig, "dtmf", json!({ "digits": "45" })).await?;
    eprintln!("[{test}] sent {sent}");
    let events = phone
        .wait_events(
            TE_PT,
            2,
            Duration::from_millis(400),
            Duration::from_secs(10),
        )
        .await?;
    check_events(phone, test, &events, &['4', '5'])?;
    hang_up(rig).await?;
    Ok(())
}

/// How many packets of each payload type reached the phone.
fn pt_counts(phone: &PhoneMedia) -> Vec<(u8, usize)> {
    let mut counts: Vec<(u8, usize)> = Vec::new();
    for (_, _, p) in phone.received() {
        match counts.iter_mut().find(|(pt, _)| *pt == p.pt) {
            Some((_, n)) => *n += 1,
            None => counts.push((p.pt, 1)),
        }
    }
    counts
}

/// The events are `digits` in order, each well formed, and nothing else but PCMU arrived.
fn check_events(
    phone: &PhoneMedia,
    test: &str,
    events: &[ReceivedEvent],
    digits: &[char],
) -> Result<()> {
    for e in events {
        eprintln!(
            "[{test}] event {:?}: ts {} +{:.0} ms, {} packets ({} end), marker {}, duration {} ({:.0} ms)",
            e.digit,
            e.ts,
            e.first_at_ms,
            e.packets,
            e.end_packets,
            e.marker_first,
            e.duration,
            e.duration_ms(8000),
        );
    }
    let received = phone.received();
    let foreign: Vec<u8> = received
        .iter()
        .map(|(_, _, p)| p.pt)
        .filter(|&pt| pt != PCMU_PT && pt != TE_PT)
        .collect();
    ensure!(
        foreign.is_empty(),
        "the phone negotiated PCMU (0) and telephone-event 101 only, yet got payload types {foreign:?} (the browser's 126/110 not remapped?)"
    );
    let got: Vec<Option<char>> = events.iter().map(|e| e.digit).collect();
    let want: Vec<Option<char>> = digits.iter().copied().map(Some).collect();
    ensure!(
        got == want,
        "the phone should get the digits {want:?} in order, got {got:?}: {events:#?}"
    );
    for e in events {
        ensure!(
            e.marker_first,
            "the first packet of an event carries the marker bit (RFC 4733 section 2.5.1.1): {e:?}"
        );
        ensure!(e.monotonic, "an event's duration never decreases: {e:?}");
        ensure!(
            e.end_packets == 3,
            "an event's end packet is sent three times (RFC 4733 section 2.5.1.4), got {}: {e:?}",
            e.end_packets
        );
        let ms = e.duration_ms(8000);
        ensure!(
            (40.0..=1000.0).contains(&ms),
            "an event should last 40 ms to 1 s at 8000 Hz, got {ms:.0} ms ({} units): {e:?}",
            e.duration
        );
    }
    Ok(())
}
