//! Per-leg quality for the `ended` stats: loss, jitter and RTT from RTP/RTCP (RFC 3550 A.3, A.8,
//! §6.4.1) turned into a MOS estimate (ITU-T G.107) for the worse direction of the leg.

use gateway_media::quality::{CodecImpairment, LegQuality, effective_delay_ms, mos};
use gateway_media::rtcp::ReportBlock;
use gateway_media::stats::ReceiveStats;

/// 100 packets expected, 5 lost, 20 ms apart at 8 kHz with alternating 0/80-tick extra transit
/// (10 ms of jitter swing).
fn receive_with_loss() -> ReceiveStats {
    let mut s = ReceiveStats::new();
    for seq in 0u16..100 {
        if seq % 20 == 7 {
            continue;
        }
        let ts = u32::from(seq) * 160;
        let extra = if seq % 2 == 0 { 0 } else { 80 };
        s.on_packet(seq, ts, 10_000 + ts + extra, 160);
    }
    s
}

#[test]
fn local_loss_and_jitter_drive_the_mos() {
    let stats = receive_with_loss();
    let mut leg = LegQuality::new(CodecImpairment::G711_PLC, 8000);
    leg.update_receive(&stats);
    leg.set_rtt_ms(60.0);
    let q = leg.stats();
    assert_eq!((q.packets_received, q.packets_lost), (95, 5));
    assert_eq!(q.loss_pct, 5.0);
    assert_eq!(q.jitter_ms, f64::from(stats.jitter()) / 8.0);
    assert!(q.jitter_ms > 5.0 && q.jitter_ms <= 10.0, "{}", q.jitter_ms);
    assert_eq!(q.rtt_ms, Some(60.0));
    assert_eq!(q.remote_loss_pct, None);
    let (r, m) = mos(
        CodecImpairment::G711_PLC,
        effective_delay_ms(Some(60.0), q.jitter_ms),
        5.0,
        1.0,
    );
    assert_eq!((q.r, q.mos), (r, m));
    assert!((3.8..4.0).contains(&q.mos), "{}", q.mos);
}

/// RFC 3550 §6.4.1: the peer's report block says what it receives from us; when that direction is
/// worse, it sets the leg's MOS.
#[test]
fn remote_report_sets_the_mos_when_worse() {
    let mut leg = LegQuality::new(CodecImpairment::OPUS, 48_000);
    let mut s = ReceiveStats::new();
    for seq in 0u16..50 {
        s.on_packet(seq, u32::from(seq) * 960, u32::from(seq) * 960, 80);
    }
    leg.update_receive(&s);
    let clean = leg.stats();
    assert_eq!((clean.loss_pct, clean.jitter_ms), (0.0, 0.0));
    assert!(clean.mos > 4.4);

    let block = ReportBlock {
        ssrc: 1,
        fraction_lost: 25,
        cumulative_lost: 10,
        highest_seq: 99,
        jitter: 960,
        lsr: 0,
        dlsr: 0,
    };
    leg.on_report_block(&block, 100);
    let q = leg.stats();
    assert_eq!(q.remote_loss_pct, Some(10.0));
    assert_eq!(q.remote_jitter_ms, Some(20.0));
    let (r, m) = mos(
        CodecImpairment::OPUS,
        effective_delay_ms(None, 20.0),
        10.0,
        1.0,
    );
    assert_eq!((q.r, q.mos), (r, m));
    assert!(q.mos < clean.mos);

    // Before anything was sent, the interval fraction (25/256) is used.
    leg.on_report_block(&block, 0);
    let pct = leg.stats().remote_loss_pct.unwrap();
    assert!((pct - 25.0 * 100.0 / 256.0).abs() < 1e-9);
}

#[test]
fn an_idle_leg_reports_a_neutral_estimate() {
    let mut leg = LegQuality::new(CodecImpairment::G711_PLC, 8000);
    leg.set_rtt_ms(f64::NAN);
    let q = leg.stats();
    assert_eq!((q.packets_received, q.loss_pct, q.rtt_ms), (0, 0.0, None));
    assert_eq!(q.r, 93.2);
}
