//! The exact summation against CPython's math.fsum on 200 generated lists (wide exponent
//! ranges, cancellation, half-way ties): tests/reference/fsum_cases.json.

use matterstack_mbe::fsum;
use serde_json::Value;

#[test]
fn fsum_equals_cpython_bit_for_bit() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/fsum_cases.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 200);
    let mut naive_differs = 0;
    for (i, c) in cases.iter().enumerate() {
        let xs: Vec<f64> = c["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let want = c["fsum"].as_f64().expect("fsum");
        let got = fsum(xs.iter().copied());
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "case {i}: {got:e} vs CPython {want:e}"
        );
        if xs.iter().sum::<f64>() != want {
            naive_differs += 1;
        }
    }
    // the cases are hard enough that naive summation gets many of them wrong
    assert!(
        naive_differs > 30,
        "only {naive_differs} cases differ from a naive sum"
    );
}
