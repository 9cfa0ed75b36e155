//! `lbsim anonymize`: a log to share, every client replaced by a prefix-preserving stand-in.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use flate2::Compression;
use flate2::write::GzEncoder;

use lbsim::privacy::anonymize;
use lbsim::trace::Reading;

use super::common::usage_error;
use super::replay::{LogArgs, key};

#[derive(Args)]
pub struct AnonymizeArgs {
    /// The access log, plain or gzip-compressed.
    pub log: PathBuf,
    #[command(flatten)]
    pub reading: LogArgs,
    /// The 32-byte key: 64 hexadecimal digits (or 32 raw bytes) [default: a new key,
    /// printed once to standard error].
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Write here instead of to standard output, gzip-compressed when the name ends
    /// in .gz; the file appears only once it is complete.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn main(a: AnonymizeArgs) -> ExitCode {
    let key = match key(a.key_file.as_deref()) {
        Ok(k) => k,
        Err(e) => return usage_error(e),
    };
    let how = match a.reading.reading(&a.log, key) {
        Ok(how) => how,
        Err(e) => return usage_error(e),
    };
    let written = match &a.out {
        Some(out) => to_file(&a.log, &how, out),
        None => {
            let mut stdout = BufWriter::new(std::io::stdout().lock());
            anonymize::anonymize(&a.log, &how, &mut stdout).map_err(|e| e.to_string())
        }
    };
    match written {
        Ok(w) => {
            for m in &w.first_malformed {
                eprintln!("warning: {} (left out)", m.show(&a.log, how.format));
            }
            let unreported = w.malformed - w.first_malformed.len() as u64;
            if unreported > 0 {
                eprintln!("warning: {unreported} more malformed lines left out");
            }
            eprintln!(
                "anonymised {} lines of {} ({} log format): {} clients replaced, {} malformed lines left out",
                w.lines,
                a.log.display(),
                how.format.name(),
                w.clients,
                w.malformed
            );
            if a.key_file.is_none() {
                eprintln!(
                    "key: {}\n  (made for this run and shown once: save it to a file and pass it with --key-file to anonymise\n  more logs the same way, or to replay the original with the same host-name addresses)",
                    how.names.hex()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => usage_error(e),
    }
}

/// Anonymises into a file beside `out`, renamed over it once complete.
fn to_file(log: &Path, how: &Reading, out: &Path) -> Result<anonymize::Written, String> {
    let name = out
        .file_name()
        .map_or("log".into(), |n| n.to_string_lossy().into_owned());
    let tmp = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let cannot = |e: std::io::Error| format!("{}: cannot write the anonymised log: {e}", out.display());
    let result = (|| {
        let file = BufWriter::new(File::create(&tmp).map_err(cannot)?);
        let written = if name.ends_with(".gz") {
            let mut z = GzEncoder::new(file, Compression::default());
            let w = anonymize::anonymize(log, how, &mut z).map_err(|e| e.to_string())?;
            z.finish().and_then(|mut f| f.flush()).map_err(cannot)?;
            w
        } else {
            let mut file = file;
            let w = anonymize::anonymize(log, how, &mut file).map_err(|e| e.to_string())?;
            file.flush().map_err(cannot)?;
            w
        };
        fs::rename(&tmp, out).map_err(cannot)?;
        Ok(written)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
