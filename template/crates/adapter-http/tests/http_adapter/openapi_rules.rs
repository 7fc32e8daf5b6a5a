//! The input rules the document states are exactly the rules the domain applies.

/// Strings of every kind the rules care about: plain and white space (ASCII, Unicode, and the
/// ones that are also control characters), control characters, a byte-order mark, non-ASCII
/// letters and emoji, at lengths around the limits. Deterministic, so a failure repeats.
fn corpus() -> Vec<String> {
    let alphabet = [
        "a", "Z", "7", " ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{0}", "\u{1f}", "\u{7f}",
        "\u{85}", "\u{9f}", "\u{a0}", "\u{2003}", "\u{3000}", "\u{feff}", "\u{200b}", "é", "🪔",
    ];
    let mut strings: Vec<String> = alphabet.iter().map(|piece| (*piece).to_owned()).collect();
    strings.extend([
        "x".repeat(99),
        "x".repeat(100),
        "x".repeat(101),
        "x".repeat(1000),
        "x".repeat(1001),
    ]);
    strings.push(format!("  {}\t\n", "x".repeat(100)));
    strings.push(format!("\u{a0}{}\u{a0}", "é".repeat(100)));
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..5_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let length =
            usize::try_from(state % 9).unwrap() + usize::try_from((state >> 8) % 2).unwrap() * 96;
        let piece = |index: usize| {
            let step = state.rotate_left(u32::try_from(index % 64).unwrap());
            alphabet[usize::try_from(step % alphabet.len() as u64).unwrap()]
        };
        strings.push((0..length).map(piece).collect());
    }
    strings
}

/// A schema's field, and the domain's own test of whether a value is acceptable there.
type DocumentedRule = (&'static str, &'static str, fn(&str) -> bool);

/// The pattern the document states for `field` of the schema `component`.
fn documented_pattern(document: &serde_json::Value, component: &str, field: &str) -> regex::Regex {
    let pattern = document["components"]["schemas"][component]["properties"][field]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{component}.{field} states no pattern"));
    regex::Regex::new(pattern).unwrap()
}

/// A client generated from the document never sends a name, description or key the service
/// refuses for its form, and the service accepts nothing the document forbids: each documented
/// pattern agrees with the domain's own parser on every string of the corpus.
#[test]
fn the_documented_patterns_are_exactly_the_rules_the_domain_applies() {
    use domain::items::{IdempotencyKey, ItemDescription, ItemName};
    use domain::tenants::TenantName;
    let document = serde_json::to_value(adapter_http::openapi_document()).unwrap();
    let rules: [DocumentedRule; 5] = [
        ("CreateItemBody", "name", |text| {
            ItemName::parse(text).is_ok()
        }),
        ("UpdateItemBody", "name", |text| {
            ItemName::parse(text).is_ok()
        }),
        ("CreateTenantBody", "name", |text| {
            TenantName::parse(text).is_ok()
        }),
        ("CreateItemBody", "description", |text| {
            ItemDescription::parse(text).is_ok()
        }),
        ("UpdateItemBody", "description", |text| {
            ItemDescription::parse(text).is_ok()
        }),
    ];
    let corpus = corpus();
    for (component, field, accepts) in rules {
        let pattern = documented_pattern(&document, component, field);
        for text in &corpus {
            assert_eq!(
                pattern.is_match(text),
                accepts(text),
                "{component}.{field}: the document and the domain disagree on {text:?}"
            );
        }
    }
    let key = document["paths"]["/api/v1/tenants/{tenantId}/items"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "Idempotency-Key")
        .unwrap()["schema"]["pattern"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = regex::Regex::new(&key).unwrap();
    for text in corpus
        .iter()
        .chain(&["k-1".to_owned(), "x".repeat(255), "x".repeat(256)])
    {
        assert_eq!(
            key.is_match(text),
            IdempotencyKey::parse(text).is_ok(),
            "{text:?}"
        );
    }
}
