//! The JSON Schema of scenario files, for editors: `lbsim schema` writes it, and
//! the bundled scenarios name it in a first line `#:schema ./scenario.schema.json`,
//! the directive taplo and Even Better TOML read to complete and check keys.
//!
//! It is generated from the types serde reads a scenario file into
//! ([`ScenarioFile`] and what it holds; the units describe themselves in
//! `units`), so it cannot drift from what `lbsim` accepts. It checks the form of
//! each key; what needs the whole file (a server named in an event exists, a
//! policy specification parses) is left to `lbsim validate`. The `[sweep]` table
//! is read apart from the rest of the file, by hand, so its schema is written
//! here: any key of the file, dotted, with a list of values.

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::ScenarioFile;

/// The schema, as `lbsim schema` prints it.
pub fn schema() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<ScenarioFile>().to_value();
    schema["title"] = "lbsim scenario".into();
    schema["properties"]["sweep"] = json!({
        "description": "Run the scenario once per combination of values: each key is a key of this file, \
                        dotted (`servers.count = [4, 8, 16]`), with the values it takes.",
        "$ref": "#/$defs/SweepAxes"
    });
    schema["$defs"]["SweepAxes"] = json!({
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                { "type": "array", "minItems": 1 },
                { "$ref": "#/$defs/SweepAxes" }
            ]
        }
    });
    schema
}

/// The schema as the committed file holds it: pretty-printed, ending in a newline.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value prints");
    text.push('\n');
    text
}
