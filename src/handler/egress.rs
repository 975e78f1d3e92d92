//! Where Rota's HTTP requests may go: HTTP handlers and webhook notifications.
//!
//! Two rules, applied by the HTTP clients built here:
//!
//! - **Redirects.** A handler follows no redirect unless its spec opts in with
//!   `follow_redirects: same-origin`, and then only to the same origin (scheme, host and port
//!   all equal to the first request's). A redirect to another origin is not followed, so the
//!   custom headers, the signature and the body never reach a host the job's author did not
//!   name. A 3xx that is not followed is a failed run whose error shows the `Location`.
//!   Webhooks follow no redirect at all.
//! - **Private networks** ([`EgressPolicy::deny_private_networks`], `rota serve
//!   --deny-private-networks`). Targets that are, or resolve to, loopback, link-local (the cloud
//!   metadata service at `169.254.169.254`), private, unique-local, shared (CGNAT) or
//!   unspecified addresses are refused. The check runs where the connection is made: a DNS
//!   resolver ([`PublicOnly`]) drops such addresses after resolution, so a name cannot pass a
//!   check and then resolve elsewhere, and a URL whose host is a literal address (which the
//!   client connects to without asking a resolver) is checked before the request is sent
//!   ([`EgressPolicy::check_url`]). Same-origin redirects go to the same host and pass through
//!   the same resolver. Off by default: a single machine's jobs often call `localhost`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::spec::FollowRedirects;

/// The flag that turns the private-network rule on, as error messages name it.
pub const DENY_PRIVATE_NETWORKS_FLAG: &str = "--deny-private-networks";

/// Same-origin redirects followed at most this many times in a row (reqwest's default limit).
const MAX_REDIRECTS: usize = 10;

/// The daemon-wide rules for outgoing requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressPolicy {
    /// Refuse targets in loopback, link-local, private, unique-local, shared and unspecified
    /// address ranges (see [`private_range`]).
    pub deny_private_networks: bool,
}

impl EgressPolicy {
    /// The policy that refuses private networks.
    pub fn deny_private_networks() -> Self {
        EgressPolicy { deny_private_networks: true }
    }

    /// Checks a URL whose host is a literal IP address (the HTTP client connects to those
    /// without a resolver); names are checked by [`PublicOnly`] when they are resolved.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !self.deny_private_networks {
            return Ok(());
        }
        // The URL parser writes every IPv4 spelling (`127.1`, `2130706433`, `0x7f.0.0.1`) as
        // dotted decimal, and IPv6 in brackets.
        let host = url.host_str().unwrap_or_default();
        let bare = host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host);
        let Ok(ip) = bare.parse::<IpAddr>() else { return Ok(()) };
        match private_range(ip) {
            Some(range) => Err(Refused { host: None, addresses: vec![(ip, range)] }),
            None => Ok(()),
        }
    }

    /// An HTTP client that applies this policy and follows redirects as `redirects` says.
    pub(crate) fn client(&self, redirects: FollowRedirects) -> reqwest::Client {
        let policy = match redirects {
            FollowRedirects::None => Policy::none(),
            FollowRedirects::SameOrigin => Policy::custom(|attempt| {
                // `previous` starts with the URL the handler named.
                let origin = attempt.previous().first().map(Url::origin);
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else if origin.as_ref() == Some(&attempt.url().origin()) {
                    attempt.follow()
                } else {
                    // Hands the 3xx back as the response: a failed run naming the Location.
                    attempt.stop()
                }
            }),
        };
        let mut builder = reqwest::Client::builder().redirect(policy);
        if self.deny_private_networks {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        builder.build().expect("an HTTP client with rustls and these settings always builds")
    }
}

/// A target refused by [`EgressPolicy::deny_private_networks`]: the host name (when one was
/// resolved) and each address with the range it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub host: Option<String>,
    pub addresses: Vec<(IpAddr, &'static str)>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses = self
            .addresses
            .iter()
            .map(|(ip, range)| format!("{ip} ({range})"))
            .collect::<Vec<_>>()
            .join(", ");
        match &self.host {
            Some(host) => write!(f, "{host} resolves only to {addresses}"),
            None => f.write_str(&addresses),
        }?;
        write!(f, ": private network addresses are refused ({DENY_PRIVATE_NETWORKS_FLAG})")
    }
}

impl std::error::Error for Refused {}

/// The resolver used under [`EgressPolicy::deny_private_networks`]: the system's resolution
/// (`getaddrinfo`, as reqwest's default), without the addresses [`private_range`] names. A name
/// with no other address fails with [`Refused`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| format!("dns error: {error}"))?
                .collect();
            let (public, private): (Vec<_>, Vec<_>) =
                resolved.into_iter().partition(|address| private_range(address.ip()).is_none());
            if public.is_empty() && !private.is_empty() {
                let addresses = private
                    .iter()
                    .filter_map(|address| Some((address.ip(), private_range(address.ip())?)))
                    .collect();
                return Err(Box::new(Refused { host: Some(host), addresses }) as _);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The name of the non-public range `ip` is in, or `None` for an address on the internet.
/// IPv4 addresses inside IPv6 (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`) are judged by their IPv4 address.
pub fn private_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => private_v4(ip),
        IpAddr::V6(ip) => private_v6(ip),
    }
}

fn private_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        // Linux connects 0.0.0.0 to the local host.
        (0, _) => "unspecified",
        (127, _) => "loopback",
        (10, _) | (172, 16..=31) | (192, 168) => "private",
        (169, 254) => "link-local",
        (100, 64..=127) => "shared (CGNAT)",
        _ if ip.is_broadcast() => "broadcast",
        _ => return None,
    })
}

fn private_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(ip) {
        return private_v4(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        _ if first & 0xffc0 == 0xfec0 => "site-local",
        _ if first & 0xfe00 == 0xfc00 => "unique-local",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:0:0/96`), compatible (`::/96`,
/// deprecated) or NAT64 (`64:ff9b::/96`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = ip.segments();
    let tail = Ipv4Addr::new(
        (segments[6] >> 8) as u8,
        segments[6] as u8,
        (segments[7] >> 8) as u8,
        segments[7] as u8,
    );
    match segments[..6] {
        [0, 0, 0, 0, 0, 0xffff] | [0, 0, 0, 0, 0, 0] | [0x64, 0xff9b, 0, 0, 0, 0] => Some(tail),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_named_and_public_addresses_pass() {
        let cases: &[(&str, Option<&str>)] = &[
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("0.0.0.0", Some("unspecified")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("172.15.0.1", None),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared (CGNAT)")),
            ("100.127.255.255", Some("shared (CGNAT)")),
            ("100.128.0.1", None),
            ("255.255.255.255", Some("broadcast")),
            ("8.8.8.8", None),
            ("93.184.215.14", None),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("fc00::1", Some("unique-local")),
            ("fd12:3456::1", Some("unique-local")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::127.0.0.1", Some("loopback")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("::ffff:8.8.8.8", None),
            ("2606:4700:4700::1111", None),
            ("2001:db8::1", None),
        ];
        for (text, expected) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(private_range(ip), *expected, "{text}");
        }
    }

    #[test]
    fn literal_hosts_are_checked_in_every_spelling_the_url_parser_accepts() {
        let deny = EgressPolicy::deny_private_networks();
        for url in [
            "http://127.0.0.1:9464/metrics",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[::ffff:7f00:1]/",
            // Shorthand and numeric forms the URL parser turns into 127.0.0.1.
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0/",
        ] {
            let parsed = Url::parse(url).unwrap();
            let error = deny.check_url(&parsed).unwrap_err().to_string();
            assert!(error.ends_with(&format!("({DENY_PRIVATE_NETWORKS_FLAG})")), "{url}: {error}");
            assert!(EgressPolicy::default().check_url(&parsed).is_ok(), "off by default: {url}");
        }
        let error = deny.check_url(&Url::parse("http://169.254.169.254/").unwrap()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "169.254.169.254 (link-local): private network addresses are refused \
             (--deny-private-networks)"
        );
        for url in ["https://example.com/", "http://8.8.8.8/", "http://[2606:4700::1111]/"] {
            deny.check_url(&Url::parse(url).unwrap()).unwrap();
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        let error = PublicOnly.resolve("localhost".parse().unwrap()).await.err().unwrap();
        let text = error.to_string();
        assert!(text.starts_with("localhost resolves only to "), "{text}");
        assert!(text.contains("(loopback)"), "{text}");
        assert!(text.ends_with("(--deny-private-networks)"), "{text}");
    }
}
