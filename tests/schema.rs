//! `lbsim schema`: the committed scenarios/scenario.schema.json is what the
//! scenario types generate, every bundled scenario names it and validates
//! against it, and it refuses what `lbsim` refuses for the form of a key.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn scenarios() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn committed() -> Value {
    let text = fs::read_to_string(scenarios().join("scenario.schema.json")).expect("the committed schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn as_json(toml_text: &str) -> Value {
    let value: toml::Value = toml::from_str(toml_text).expect("TOML");
    serde_json::to_value(value).expect("TOML values are JSON values")
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let run = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("schema")
        .output()
        .expect("lbsim runs");
    assert!(run.status.success());
    let committed = fs::read_to_string(scenarios().join("scenario.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8(run.stdout).unwrap(),
        committed,
        "scenarios/scenario.schema.json is stale: run `lbsim schema > scenarios/scenario.schema.json`"
    );
    assert_eq!(lbsim::scenario::schema::text(), committed);
}

#[test]
fn every_bundled_scenario_names_the_schema_and_validates() {
    let validator = jsonschema::validator_for(&committed()).expect("a valid JSON Schema");
    let mut checked = 0;
    for entry in fs::read_dir(scenarios()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ./scenario.schema.json"),
            "{}",
            path.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 6, "{checked} scenarios");
}

#[test]
fn the_schema_refuses_what_lbsim_refuses() {
    let validator = jsonschema::validator_for(&committed()).unwrap();
    let base = "policies = [\"ip_hash\"]\nduration = \"1h\"\n[arrivals]\nrate = \"2/s\"\n[servers]\ncount = 3\n";
    assert!(validator.is_valid(&as_json(base)));
    let bad = [
        "policies = [\"ip_hash\"]\nduraton = \"1h\"\n[servers]\ncount = 3\n",
        "policies = [\"ip_hash\"]\nduration = \"1x\"\n[servers]\ncount = 3\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 0\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 3\nweights = [1, 2000, 1]\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 3\n[[networks]]\nkind = \"home\"\nshare = 1.5\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 3\n[[networks]]\nkind = \"satellite\"\nshare = 0.5\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 3\n[sessions]\nthink = { dist = \"normal\", mean = \"30s\" }\n",
        "policies = [\"ip_hash\"]\n[servers]\ncount = 3\n[arrivals]\nrate = \"2/week\"\n",
        "[servers]\ncount = 3\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    for text in bad {
        assert!(!validator.is_valid(&as_json(text)), "the schema accepts:\n{text}");
        // lbsim refuses each too.
        let path = dir.path().join("bad.toml");
        fs::write(&path, text).unwrap();
        let run = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(["validate", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "lbsim accepts:\n{text}");
    }
}
