//! The checked-in JSON Schema must be what the model types generate, and
//! the examples must validate against it as editors would see it.

#[test]
fn checked_in_schema_is_current() {
    let generated = orgform::config::schema::schema_text();
    let on_disk = std::fs::read_to_string("schema/orgform.schema.json")
        .expect("schema/orgform.schema.json exists");
    assert!(
        on_disk == generated,
        "schema/orgform.schema.json is stale: run `cargo run -- schema > schema/orgform.schema.json`"
    );
}

#[test]
fn schema_rejects_unknown_keys_and_accepts_the_examples() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schema/orgform.schema.json").unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    assert!(!validator.is_valid(&serde_json::json!({"peple": {}})));
    assert!(!validator.is_valid(&serde_json::json!({"chats": {"eng": {"forum": "yes"}}})));
    let loaded = orgform::config::load(std::path::Path::new("examples/acme"));
    let root = loaded.root.expect("examples/acme parses");
    let errors: Vec<String> = validator
        .iter_errors(&root.to_json())
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
