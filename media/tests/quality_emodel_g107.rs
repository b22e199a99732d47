//! The E-model (ITU-T G.107) figures behind the MOS in `ended` stats: the default rating, the Annex B
//! R -> MOS mapping, the delay impairment of §7.3 and the packet-loss impairment of §7.4 with the
//! G.113 Appendix I codec values.

use gateway_media::codec::Codec;
use gateway_media::quality::{
    CodecImpairment, R_DEFAULT, delay_impairment, effective_delay_ms,
    effective_equipment_impairment, mos, r_to_mos,
};

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// G.107 §7.7: all parameters at their defaults give R = 93.2, which Annex B maps to MOS 4.41; this
/// is also G.711 without loss or delay.
#[test]
fn defaults_give_r_93_2_and_mos_4_41() {
    let (r, m) = mos(CodecImpairment::G711_PLC, 0.0, 0.0, 1.0);
    assert_eq!(r, R_DEFAULT);
    assert!(close(m, 4.41, 0.005), "{m}");
}

/// G.107 Annex B (Table B.1): R 90, 80, 70, 60, 50 are MOS 4.34, 4.03, 3.60, 3.10, 2.58.
#[test]
fn annex_b_r_to_mos_points() {
    for (r, expected) in [
        (90.0, 4.34),
        (80.0, 4.03),
        (70.0, 3.60),
        (60.0, 3.10),
        (50.0, 2.58),
    ] {
        // The table's two decimals are not all rounded to nearest (R 80 gives 4.024, R 50 2.575).
        let m = r_to_mos(r);
        assert!(close(m, expected, 0.01), "R {r}: {m}");
    }
}

/// G.107 §7.3: Idd = 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2), X = log2(Ta / 100 ms):
/// 200 ms (X = 1) costs 3.04, 400 ms (X = 2) 24.07.
#[test]
fn delay_impairment_follows_g107() {
    let x1 = 25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 1.0 / 729.0f64).powf(1.0 / 6.0) + 2.0);
    assert!(close(delay_impairment(200.0), x1, 1e-9));
    assert!(close(delay_impairment(200.0), 3.04, 0.005));
    assert!(close(delay_impairment(400.0), 24.07, 0.005));
    assert!(close(delay_impairment(150.0), 0.16, 0.005));
    // Delay alone: a 400 ms one-way path drops a perfect G.711 call to R 69.13, MOS 3.56.
    let (r, m) = mos(CodecImpairment::G711_PLC, 400.0, 0.0, 1.0);
    assert!(close(r, 93.2 - 24.07, 0.005));
    assert!(close(m, 3.56, 0.005), "{m}");
}

/// G.107 §7.4 with G.113 Appendix I values: 5 % random loss on G.711 with PLC (Bpl 25.1) is
/// Ie,eff = 95 * 5 / 30.1 = 15.78, R = 77.42, MOS 3.92; without PLC (Bpl 4.3) 2 % already costs 30.2.
#[test]
fn packet_loss_impairment_with_g113_values() {
    let ie = effective_equipment_impairment(CodecImpairment::G711_PLC, 5.0, 1.0);
    assert!(close(ie, 15.78, 0.005));
    let (r, m) = mos(CodecImpairment::G711_PLC, 0.0, 5.0, 1.0);
    assert!(close(r, 77.42, 0.005));
    assert!(close(m, 3.92, 0.005), "{m}");

    let ie = effective_equipment_impairment(CodecImpairment::G711_NO_PLC, 2.0, 1.0);
    assert!(close(ie, 30.16, 0.005));
    let (_, m) = mos(CodecImpairment::G711_NO_PLC, 0.0, 2.0, 1.0);
    assert!(close(m, 3.26, 0.005), "{m}");
}

/// G.107 §7.4: bursty loss (BurstR > 1) hurts more than the same amount of random loss.
#[test]
fn bursty_loss_costs_more_than_random_loss() {
    let random = effective_equipment_impairment(CodecImpairment::G711_PLC, 5.0, 1.0);
    let bursty = effective_equipment_impairment(CodecImpairment::G711_PLC, 5.0, 2.0);
    // 95 * 5 / (5 / 2 + 25.1) = 17.21
    assert!(close(bursty, 17.21, 0.005));
    assert!(bursty > random);
}

/// Jitter is delay: RTT 200 ms and 10 ms jitter give 100 + 20 + 20 = 140 ms one way.
#[test]
fn jitter_and_rtt_become_one_way_delay() {
    assert_eq!(effective_delay_ms(Some(200.0), 10.0), 140.0);
    assert_eq!(effective_delay_ms(None, 0.0), 20.0);
    assert_eq!(effective_delay_ms(Some(f64::NAN), -3.0), 20.0);
}

#[test]
fn codecs_map_to_their_impairments() {
    assert_eq!(
        CodecImpairment::for_codec(Codec::Pcmu),
        CodecImpairment::G711_PLC
    );
    assert_eq!(
        CodecImpairment::for_codec(Codec::Pcma),
        CodecImpairment::G711_PLC
    );
    assert_eq!(
        CodecImpairment::for_codec(Codec::Opus),
        CodecImpairment::OPUS
    );
}
