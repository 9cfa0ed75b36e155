//! The fields AWS's Application and Classic Load Balancer logs share, from the
//! balancer's name to the quoted request: both formats lay them out alike, the
//! ALB's "target" being the classic ELB's "backend".

use super::fields::{self, Bad, Fields};

/// Checks `elb client:port target:port`, three processing times, two status
/// codes, two byte counts and the quoted request, and gives the client's
/// address; `missing` and `malformed` say what is wrong with the target field.
pub fn through_request<'t>(f: &mut Fields<'t>, missing: &'static str, malformed: &'static str) -> Result<&'t str, Bad> {
    f.need("no elb")?;
    let client = f.need("no client:port")?;
    let address = fields::address_of(client.text).ok_or(client.bad("client:port is not an IP address and a port"))?;
    let upstream = f.need(missing)?;
    if upstream.text != b"-" && fields::address_of(upstream.text).is_none() {
        return Err(upstream.bad(malformed));
    }
    for _ in 0..3 {
        let t = f.need("no processing times")?;
        if !fields::is_seconds(t.text) {
            return Err(t.bad("a processing time is not seconds or -1"));
        }
    }
    for _ in 0..2 {
        let s = f.need("no status codes")?;
        if !fields::is_status(s.text) {
            return Err(s.bad("a status code is neither three digits nor -"));
        }
    }
    for _ in 0..2 {
        let b = f.need("no byte counts")?;
        if !fields::is_count(b.text) {
            return Err(b.bad("a byte count is not a whole number"));
        }
    }
    let request = f.need("no \"request\"")?;
    if !request.quoted {
        return Err(request.bad("the request is not in quotes"));
    }
    Ok(address)
}
