//! A log read line by line, for the formats whose readers say where on a line it
//! goes wrong: line endings (`\n` or `\r\n`) are cut, blank lines passed over.

use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::Path;

use super::TraceError;

/// Calls `each` with the number and the text of every non-blank line of
/// `input`, until it says to stop.
pub fn each(
    mut input: Box<dyn BufRead>,
    path: &Path,
    mut each: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> Result<(), TraceError> {
    let mut buf = Vec::with_capacity(512);
    let mut number = 0u64;
    loop {
        buf.clear();
        number += 1;
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| TraceError::Read(path.to_path_buf(), Some(number), e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) && each(number, line).is_break() {
            return Ok(());
        }
    }
}
