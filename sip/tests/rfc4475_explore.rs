#![allow(clippy::unwrap_used)]
#[test]
fn explore() {
    let dir = format!("{}/tests/data/rfc4475", env!("CARGO_MANIFEST_DIR"));
    let index = std::fs::read_to_string(format!("{dir}/INDEX.tsv")).unwrap();
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let bytes = std::fs::read(format!("{dir}/{}", f[0])).unwrap();
        let raw = rsip::SipMessage::try_from(bytes.as_slice())
            .map(|_| ())
            .map_err(|e| e.to_string());
        let r = gateway_sip::message::parse(&bytes);
        println!(
            "{:14} {:10} raw={:?} ours={:?}",
            f[0],
            f[3],
            raw.err(),
            r.err()
        );
    }
}
