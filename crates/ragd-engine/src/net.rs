//! The address guard every outbound connection a tenant can point ragd at goes through (the
//! crawler, git, S3, the SaaS sources, remote embedding endpoints): unless a host is allow-listed,
//! only public addresses are reached. The DNS resolver drops loopback, private, link-local (cloud
//! metadata), CGNAT, multicast and unspecified addresses, IP-literal URLs are checked before
//! connecting, and redirects are followed by hand so that each hop is checked again.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Which hosts and addresses may be reached.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    hosts: HashSet<String>,
    ips: HashSet<IpAddr>,
}

/// An address a crawler may connect to without an allow-list entry.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

/// Why a URL was refused; found in reqwest's error chain when the resolver refused.
#[derive(Debug)]
pub(crate) struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "refused: {} (allow it with RAGD_WEB_ALLOW_HOSTS)",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

impl Guard {
    pub(crate) fn new(allow: &[String]) -> Self {
        let mut g = Guard::default();
        for entry in allow.iter().map(|h| {
            h.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        }) {
            match entry.parse::<IpAddr>() {
                Ok(ip) => {
                    g.ips.insert(ip);
                }
                Err(_) if !entry.is_empty() => {
                    g.hosts.insert(entry);
                }
                Err(_) => {}
            }
        }
        g
    }

    /// Checks a URL before connecting: scheme, and IP-literal hosts (which skip the resolver).
    pub(crate) fn check(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!("{url} is not http or https")));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(Refused(format!("{url} has no host"))),
        };
        if is_public(ip) || self.ips.contains(&ip) {
            Ok(())
        } else {
            Err(Refused(format!(
                "{url} points at a private, loopback or link-local address"
            )))
        }
    }
}

/// Checks a service endpoint (an S3 `endpointUrl`) the way the crawler checks pages: http or
/// https, and every address its host resolves to public or allowed (`RAGD_WEB_ALLOW_HOSTS`).
/// Checked once before the source is read.
pub(crate) async fn check_endpoint(allow: &[String], url: &Url) -> Result<(), String> {
    let guard = Guard::new(allow);
    guard.check(url).map_err(|r| r.to_string())?;
    if let Some(url::Host::Domain(name)) = url.host() {
        let name = name.to_ascii_lowercase();
        if guard.hosts.contains(&name) {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs = tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|e| format!("{name} does not resolve: {e}"))?;
        for a in addrs {
            if !(is_public(a.ip()) || guard.ips.contains(&a.ip())) {
                return Err(Refused(format!(
                    "{name} resolves to a private, loopback or link-local address"
                ))
                .to_string());
            }
        }
    }
    Ok(())
}

/// An HTTP client for an API endpoint a tenant gave (an LLM config's `baseUrl`), held to the
/// crawler's rules: `url` must be http(s) and not a private IP literal, names resolve only to
/// public or allowed addresses (checked at every connect), no redirects, no proxy from the
/// environment.
pub fn guarded_api_client(
    allow: &[String],
    url: &Url,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let guard = Arc::new(Guard::new(allow));
    guard
        .check(url)
        .map_err(|r| format!("{r} (allow it with RAGD_WEB_ALLOW_HOSTS)"))?;
    Ok(guarded_builder(guard, timeout)
        .build()
        .expect("a reqwest client with static settings"))
}

/// A client held to the guard: its resolver, no redirects (callers follow them by hand, each hop
/// checked, or not at all), no proxy from the environment.
pub(crate) fn guarded_builder(guard: Arc<Guard>, timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver(guard)))
        .timeout(timeout)
}

/// DNS resolution that only yields addresses the guard allows, so that a public name resolving
/// to a private address (or rebinding to one) is refused at connect time.
struct GuardedResolver(Arc<Guard>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let name = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if guard.hosts.contains(&name) {
                return Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs);
            }
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| is_public(a.ip()) || guard.ips.contains(&a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused(format!(
                    "{name} resolves to a private, loopback or link-local address"
                ))) as _);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A short, client-safe reason for a failed request.
pub(crate) fn reason(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refused>() {
            return r.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_private_addresses_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        let g = Guard::new(&["127.0.0.1".into(), "Intranet.Local".into()]);
        assert!(
            g.check(&Url::parse("http://127.0.0.1:8080/").unwrap())
                .is_ok()
        );
        assert!(g.check(&Url::parse("http://[::1]/").unwrap()).is_err());
        assert!(
            g.check(&Url::parse("http://169.254.169.254/latest/meta-data/").unwrap())
                .is_err()
        );
        assert!(g.check(&Url::parse("file:///etc/passwd").unwrap()).is_err());
        assert!(g.hosts.contains("intranet.local"));
    }
}
