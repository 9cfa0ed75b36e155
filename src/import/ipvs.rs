//! IPVS: the rules `ipvsadm -Sn` (or `ipvsadm-save -n`) prints, or an
//! `ipvsadm -R` script: `-A` lines for virtual services, `-a` lines for their
//! real servers.
//!
//! The order of the real servers decides how `sh` fills its buckets and in which
//! order `mh` and `rr` take turns. The kernel's list is newest first, and
//! `ipvsadm -S` prints it sorted by address (unless `--nosort`), so a dump does not
//! show the order the servers were added in on the running director. lbsim takes
//! the file's order as the order they were added: the list `ipvsadm -R` builds
//! from this file, which runs newest first, so the last `-a` line heads it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::reading::Source;
use super::spec::PolicyText;
use super::{ImportError, Imported, ImportedServer, Options, Origin, Product};

/// One virtual service and its real servers.
struct Service {
    /// `tcp-10.0.0.1:80`, `udp-[2001:db8::1]:53`, `fwmark-1`: a scenario name.
    name: String,
    /// Where its `-A` line starts.
    at: usize,
    ipv6: bool,
    scheduler: Option<(String, usize)>,
    flags: Vec<(String, usize)>,
    persistent: Option<(Option<u64>, usize)>,
    netmask: Option<(String, usize)>,
    servers: Vec<ImportedServer>,
    /// Weight-0 servers (quiesced), with where their weight was written.
    quiesced: Vec<usize>,
}

/// A line split into words, each with its byte offset.
type Words<'a> = Vec<(&'a str, usize)>;

pub fn parse(text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let mut src = Source::new(path, text, options.lenient);
    let services = read(&mut src)?;
    let service = choose(&src, &services, options.section.as_deref())?;
    if service.servers.is_empty() {
        return Err(src.error(
            service.at,
            format!("virtual service {} has no real servers (-a lines)", service.name),
        ));
    }
    let (policy, origins) = policy(&mut src, service)?;
    src.note(
        "Real servers in the order of the -a lines, taken as the order they were added (what `ipvsadm -R` builds \
         from this file; the kernel's list runs newest first). `ipvsadm -S` sorts them by address, so on the running \
         director they may have been added otherwise, which changes sh's buckets.",
    );
    let policy = policy.check(&src, &service.servers, service.at)?;
    Ok(Imported {
        product: Product::Ipvs,
        file: path.to_path_buf(),
        section: service.name.clone(),
        servers: service.servers.clone(),
        policy,
        policy_origin: origins,
        notes: src.notes,
        warnings: src.warnings,
        slow_start: None,
    })
}

/// Every virtual service of the file, in order.
fn read(src: &mut Source) -> Result<Vec<Service>, ImportError> {
    let mut services: Vec<Service> = Vec::new();
    let mut start = 0;
    for line in src.text.split_inclusive('\n') {
        let words = split(line, start);
        start += line.len();
        let mut words = &words[..];
        if words.first().is_some_and(|w| w.0 == "ipvsadm") {
            words = &words[1..];
        }
        let Some(&(command, at)) = words.first() else {
            continue;
        };
        match command {
            "-A" | "--add-service" => {
                let s = add_service(src, &words[1..], at)?;
                if let Some(dup) = services.iter().find(|d| d.name == s.name) {
                    let line = src.place(dup.at).line;
                    return Err(src.error(at, format!("{} is added twice (first on line {line})", s.name)));
                }
                services.push(s);
            }
            "-a" | "--add-server" => add_server(src, &words[1..], at, &mut services)?,
            "-C" | "--clear" => services.clear(),
            _ => {
                return Err(src.error(
                    at,
                    format!(
                        "{command:?}: expected -A (a virtual service) or -a (a real server), as `ipvsadm -Sn` prints them"
                    ),
                ));
            }
        }
    }
    if services.is_empty() {
        return Err(ImportError::whole(src.path, "no virtual service (-A line) in the file"));
    }
    Ok(services)
}

/// The words of a line, comments (`#`) left out.
fn split(line: &str, start: usize) -> Words<'_> {
    let code = line.split('#').next().unwrap_or("");
    let mut words = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(|c: char| !c.is_whitespace()) {
        let tail = &rest[i..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let offset = start + (code.len() - rest.len()) + i;
        words.push((&tail[..end], offset));
        rest = &tail[end..];
    }
    words
}

/// The value after an option.
fn value<'a>(src: &Source, words: &Words<'a>, i: usize, option: &str) -> Result<(&'a str, usize), ImportError> {
    words
        .get(i + 1)
        .copied()
        .filter(|w| !w.0.starts_with('-') || w.0.parse::<i64>().is_ok())
        .ok_or_else(|| src.error(words[i].1, format!("{option} needs a value")))
}

/// The virtual service named by `-t|-u|--sctp-service ADDR:PORT` or `-f MARK`.
fn service_name(src: &Source, option: &str, v: &str, at: usize) -> Result<(String, bool), ImportError> {
    let proto = match option {
        "-t" | "--tcp-service" => "tcp",
        "-u" | "--udp-service" => "udp",
        "--sctp-service" => "sctp",
        _ => {
            return match v.parse::<u32>() {
                Ok(mark) if mark > 0 => Ok((format!("fwmark-{mark}"), false)),
                _ => Err(src.error(at, format!("{v:?}: expected a firewall mark, a whole number above 0"))),
            };
        }
    };
    let (ip, port) = address(src, v, at)?;
    let text = match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    Ok((format!("{proto}-{text}"), ip.is_ipv6()))
}

/// `ADDR:PORT` or `[ADDR]:PORT` (numeric, as `-n` prints them); the port may be left out.
fn address(src: &Source, v: &str, at: usize) -> Result<(IpAddr, u16), ImportError> {
    let bad = || {
        src.error(
            at,
            format!("{v:?}: expected ADDRESS:PORT or [IPv6]:PORT in numbers (ipvsadm -n)"),
        )
    };
    if let Some(rest) = v.strip_prefix('[') {
        let (ip, port) = rest.split_once(']').ok_or_else(bad)?;
        let port = port.strip_prefix(':').map_or(Ok(0), str::parse).map_err(|_| bad())?;
        return Ok((IpAddr::V6(ip.parse().map_err(|_| bad())?), port));
    }
    let (ip, port) = v.split_once(':').unwrap_or((v, "0"));
    Ok((
        IpAddr::V4(ip.parse::<Ipv4Addr>().map_err(|_| bad())?),
        port.parse().map_err(|_| bad())?,
    ))
}

fn add_service(src: &mut Source, words: &[(&str, usize)], at: usize) -> Result<Service, ImportError> {
    let words: Words = words.to_vec();
    let mut s = Service {
        name: String::new(),
        at,
        ipv6: false,
        scheduler: None,
        flags: Vec::new(),
        persistent: None,
        netmask: None,
        servers: Vec::new(),
        quiesced: Vec::new(),
    };
    let mut i = 0;
    while i < words.len() {
        let (option, here) = words[i];
        match option {
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" | "-f" | "--fwmark-service" => {
                let (v, vat) = value(src, &words, i, option)?;
                (s.name, s.ipv6) = service_name(src, option, v, vat)?;
                i += 1;
            }
            "-6" | "--ipv6" => s.ipv6 = true,
            "-s" | "--scheduler" => {
                let (v, vat) = value(src, &words, i, option)?;
                s.scheduler = Some((v.to_string(), vat));
                i += 1;
            }
            "-b" | "--sched-flags" => {
                let (v, vat) = value(src, &words, i, option)?;
                let mut o = vat;
                for f in v.split(',') {
                    s.flags.push((f.to_string(), o));
                    o += f.len() + 1;
                }
                i += 1;
            }
            "-p" | "--persistent" => {
                // The timeout is optional: a number right after -p.
                match words.get(i + 1).filter(|w| w.0.bytes().all(|b| b.is_ascii_digit())) {
                    Some(&(t, tat)) => {
                        let t = t
                            .parse()
                            .map_err(|_| src.error(tat, format!("{t:?}: expected a timeout in seconds")))?;
                        s.persistent = Some((Some(t), tat));
                        i += 1;
                    }
                    None => s.persistent = Some((None, here)),
                }
            }
            "-M" | "--netmask" => {
                let (v, vat) = value(src, &words, i, option)?;
                s.netmask = Some((v.to_string(), vat));
                i += 1;
            }
            "--pe" => {
                let (v, vat) = value(src, &words, i, option)?;
                src.unsupported(
                    vat,
                    format!("--pe {v}: a persistence engine keys templates on application data lbsim does not carry"),
                )?;
                i += 1;
            }
            "-o" | "--ops" => src.unsupported(
                here,
                "--ops: one-packet scheduling schedules every UDP datagram on its own, which lbsim does not model",
            )?,
            _ => return Err(src.error(here, format!("unknown option {option:?} for -A"))),
        }
        i += 1;
    }
    if s.name.is_empty() {
        return Err(src.error(at, "-A needs the virtual service: -t|-u ADDRESS:PORT or -f MARK"));
    }
    Ok(s)
}

fn add_server(
    src: &mut Source,
    words: &[(&str, usize)],
    at: usize,
    services: &mut [Service],
) -> Result<(), ImportError> {
    let words: Words = words.to_vec();
    let mut service = None;
    let mut real: Option<(String, usize)> = None;
    let mut weight: Option<(u64, usize)> = None;
    let mut i = 0;
    while i < words.len() {
        let (option, here) = words[i];
        match option {
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" | "-f" | "--fwmark-service" => {
                let (v, vat) = value(src, &words, i, option)?;
                service = Some(service_name(src, option, v, vat)?.0);
                i += 1;
            }
            "-r" | "--real-server" => {
                let (v, vat) = value(src, &words, i, option)?;
                real = Some((v.to_string(), vat));
                i += 1;
            }
            "-w" | "--weight" => {
                let (v, vat) = value(src, &words, i, option)?;
                let w = v
                    .parse::<u64>()
                    .ok()
                    .filter(|w| *w <= 65_535)
                    .ok_or_else(|| src.error(vat, format!("{v:?}: expected a weight from 0 to 65535")))?;
                weight = Some((w, vat));
                i += 1;
            }
            "-x" | "--u-threshold" | "-y" | "--l-threshold" => {
                let (v, vat) = value(src, &words, i, option)?;
                if v != "0" {
                    src.unsupported(
                        vat,
                        format!(
                            "{option} {v}: a connection threshold takes the server out while it has that many \
                             connections, which lbsim does not count"
                        ),
                    )?;
                }
                i += 1;
            }
            "-g" | "--gatewaying" | "-i" | "--ipip" | "-m" | "--masquerading" | "-6" | "--ipv6" => {}
            "--tun-type" | "--tun-port" => i += 1,
            "--tun-nocsum" | "--tun-csum" | "--tun-remcsum" => {}
            _ => return Err(src.error(here, format!("unknown option {option:?} for -a"))),
        }
        i += 1;
    }
    let Some(name) = service else {
        return Err(src.error(at, "-a needs the virtual service: -t|-u ADDRESS:PORT or -f MARK"));
    };
    let Some(s) = services.iter_mut().find(|s| s.name == name) else {
        return Err(src.error(at, format!("-a for {name}, which no -A line above adds")));
    };
    let Some((real, rat)) = real else {
        return Err(src.error(at, "-a needs the real server: -r ADDRESS[:PORT]"));
    };
    let (ip, mut port) = address(src, &real, rat)?;
    if port == 0 {
        // ipvsadm gives a real server without a port the virtual service's.
        port = name.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0);
    }
    let server = match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    if let Some(dup) = s.servers.iter().find(|d| d.name == server) {
        return Err(src.error(
            rat,
            format!("{server} is added twice (first on line {})", dup.origin.at.line),
        ));
    }
    let (w, wat) = weight.unwrap_or((1, rat));
    if w > 1000 {
        return Err(src.error(wat, format!("weight {w}: lbsim takes weights up to 1000")));
    }
    if w == 0 {
        s.quiesced.push(wat);
    }
    let mut said = format!("-r {real} -w {w}");
    if w == 0 {
        said.push_str(" (quiesced)");
    }
    s.servers.push(ImportedServer {
        name: server,
        weight: w.max(1) as u32,
        down: w == 0,
        origin: src.origin(rat, said),
    });
    Ok(())
}

fn choose<'a>(src: &Source, services: &'a [Service], wanted: Option<&str>) -> Result<&'a Service, ImportError> {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let Some(wanted) = wanted else {
        return match services {
            [one] => Ok(one),
            _ => Err(src.error(
                services[1].at,
                format!(
                    "the file has {} virtual services ({}); choose one with --service, e.g. --service {}",
                    services.len(),
                    names.join(", "),
                    services[0].name
                ),
            )),
        };
    };
    // The full name, or the address alone when one protocol has it.
    let matching: Vec<&Service> = services
        .iter()
        .filter(|s| s.name == wanted || s.name.split_once('-').is_some_and(|(_, a)| a == wanted))
        .collect();
    match matching[..] {
        [one] => Ok(one),
        [] => Err(src.error(
            services[0].at,
            format!("no virtual service {wanted:?}; the file has {}", names.join(", ")),
        )),
        _ => {
            let both: Vec<&str> = matching.iter().map(|s| s.name.as_str()).collect();
            Err(ImportError::whole(
                src.path,
                format!(
                    "--service {wanted}: several virtual services have it ({}); name one",
                    both.join(", ")
                ),
            ))
        }
    }
}

/// The service's scheduler, flags and persistence as an lbsim policy.
fn policy(src: &mut Source, s: &Service) -> Result<(PolicyText, Vec<Origin>), ImportError> {
    let (sched, sat) = s.scheduler.clone().unwrap_or_else(|| ("wlc".to_string(), s.at));
    let mut origins = vec![src.origin(sat, format!("-s {sched}"))];
    if s.scheduler.is_none() {
        src.note("No -s: ipvsadm's default scheduler, wlc.");
    }
    let quiesce = !s.quiesced.is_empty();
    let mut base = match sched.as_str() {
        "sh" | "mh" => hashing(src, s, &sched, &mut origins)?,
        "rr" => PolicyText::new("ipvs.rr"),
        "wrr" => {
            if s.servers.iter().all(|x| x.weight == s.servers[0].weight) {
                src.note("wrr with equal weights walks the list as rr does: lbsim's ipvs.rr.");
                PolicyText::new("ipvs.rr")
            } else {
                src.unsupported(
                    sat,
                    "wrr with unequal weights: IPVS's interleaved weighted round robin is not modelled; lbsim's \
                     round_robin (smooth weighted) gives the same shares in another order",
                )?;
                PolicyText::new("round_robin")
            }
        }
        "lc" | "wlc" | "sed" | "nq" | "fo" | "ovf" | "twos" => {
            src.unsupported(
                sat,
                format!(
                    "-s {sched}: IPVS's connection-counting schedulers are not modelled; lbsim's least_conn (fewest \
                     in flight per unit of weight) is used"
                ),
            )?;
            PolicyText::new("least_conn")
        }
        "dh" | "lblc" | "lblcr" => {
            return Err(src.error(
                sat,
                format!("-s {sched}: it schedules by destination address, which is the same for every client of a VIP"),
            ));
        }
        other => {
            return Err(src.error(
                sat,
                format!("unknown scheduler {other:?}; lbsim models sh, mh, rr and wrr (equal weights)"),
            ));
        }
    };
    if quiesce {
        let faithful = match base.name() {
            "ipvs.rr" => true,
            "ipvs.sh" | "ipvs.mh" => s.flags.iter().any(|f| f.0.ends_with("-fallback") || f.0 == "flag-1"),
            _ => false,
        };
        if faithful {
            base.param("on_fail", "quiesce", Some(s.quiesced[0]));
            src.note(
                "Weight 0 quiesces a server: it keeps its place in the list and takes no new connections. lbsim \
                 writes it down, and its scheduler with on_fail=quiesce, so later failures quiesce too.",
            );
        } else if base.name().starts_with("ipvs.") {
            src.unsupported(
                s.quiesced[0],
                format!(
                    "weight 0 on an {sched} service without {sched}-fallback: IPVS drops the connections its buckets \
                     send to a quiesced server, which lbsim cannot model; the server is taken as removed"
                ),
            )?;
        }
    }
    let Some((timeout, pat)) = s.persistent else {
        return Ok((base, origins));
    };
    let mut p = PolicyText::new("ipvs.persistence");
    p.nested("base", base);
    match timeout {
        Some(t) => {
            p.param("timeout", t, Some(pat));
            origins.push(src.origin(pat, format!("-p {t}")));
        }
        None => {
            p.param("timeout", 360, None);
            origins.push(src.origin(pat, "-p"));
            src.note(
                "-p without a timeout: ipvsadm's IPVS_SVC_PERSISTENT_TIMEOUT, 360 s (its manual says 300; the code \
                 sends 360).",
            );
        }
    }
    if let Some((mask, mat)) = &s.netmask {
        let (name, bits) = if s.ipv6 {
            let bits = mask
                .parse::<u8>()
                .ok()
                .filter(|b| (1..=128).contains(b))
                .ok_or_else(|| src.error(*mat, format!("-M {mask}: expected an IPv6 prefix length from 1 to 128")))?;
            ("netmask6", bits)
        } else {
            ("netmask", prefix_length(src, mask, *mat)?)
        };
        p.param(name, bits, Some(*mat));
        origins.push(src.origin(*mat, format!("-M {mask}")));
    }
    if quiesce {
        p.param("expire_quiescent", "on", None);
        src.note(
            "Persistence with quiesced servers: lbsim assumes net.ipv4.vs.expire_quiescent_template = 1 (kube-proxy \
             sets it; the kernel's default is 0, which keeps sending a quiesced server its persistent clients).",
        );
    }
    Ok((p, origins))
}

/// `sh` or `mh` with their flags.
fn hashing(src: &mut Source, s: &Service, sched: &str, origins: &mut Vec<Origin>) -> Result<PolicyText, ImportError> {
    let mut p = PolicyText::new(if sched == "sh" { "ipvs.sh" } else { "ipvs.mh" });
    for (flag, at) in &s.flags {
        let f = flag.as_str();
        let fallback = f == format!("{sched}-fallback") || f == "flag-1";
        let port = f == format!("{sched}-port") || f == "flag-2";
        if fallback {
            p.param("fallback", "on", Some(*at));
        } else if port {
            p.param("key", "source_port", Some(*at));
        } else if f == "flag-3" {
            continue;
        } else {
            return Err(src.error(
                *at,
                format!("-b {f}: expected {sched}-fallback, {sched}-port, flag-1, flag-2 or flag-3"),
            ));
        }
        origins.push(src.origin(*at, format!("-b {f}")));
    }
    Ok(p)
}

/// A dotted IPv4 netmask as a prefix length.
fn prefix_length(src: &Source, mask: &str, at: usize) -> Result<u8, ImportError> {
    let bad = || src.error(at, format!("-M {mask}: expected a netmask such as 255.255.255.0"));
    if let Ok(bits) = mask.parse::<u8>() {
        return if bits <= 32 { Ok(bits) } else { Err(bad()) };
    }
    let m = u32::from(mask.parse::<Ipv4Addr>().map_err(|_| bad())?);
    if m.leading_ones() + m.trailing_zeros() != 32 {
        return Err(bad());
    }
    Ok(m.leading_ones() as u8)
}
