//! `lbsim policies`: every policy with its parameters and defaults.

use std::process::ExitCode;

use lbsim::policy::registry;

use super::common::say;

pub fn main() -> ExitCode {
    say(&describe_policies());
    ExitCode::SUCCESS
}

fn describe_policies() -> String {
    let mut s =
        String::from("Policies (use as NAME or NAME(key=value, ...) in a scenario's `policies` or with --policy):\n");
    for p in registry() {
        s.push_str(&format!("\n  {}\n      {}\n", p.name, p.summary));
        for param in p.params {
            s.push_str(&format!("      {}={}  {}\n", param.name, param.default, param.help));
        }
    }
    s
}
