//! Where webhooks may be sent: refuses loopback, private and link-local destinations (and
//! always unspecified, multicast and broadcast ones) unless configuration allows them, checked
//! on the addresses actually connected to, so a name resolving to an internal address is
//! refused as well as a literal one.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow_loopback: bool,
    pub allow_private: bool,
}

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Loopback,
    Private,
    Special,
}

impl Refusal {
    pub fn explain(self, ip: IpAddr) -> String {
        match self {
            Refusal::Loopback => format!(
                "{ip} is a loopback address; set ASSETD_WEBHOOK_ALLOW_LOOPBACK=true to send webhooks to it"
            ),
            Refusal::Private => format!(
                "{ip} is a private or link-local address; set ASSETD_WEBHOOK_ALLOW_PRIVATE=true to send webhooks to it"
            ),
            Refusal::Special => format!("{ip} cannot receive webhooks"),
        }
    }
}

enum Class {
    Public,
    Loopback,
    Private,
    Special,
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast() || a == 0 {
        Class::Special
    } else if ip.is_private()
        || ip.is_link_local()
        // Shared address space (RFC 6598), used inside carrier and cloud networks.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments and benchmarking networks.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        Class::Private
    } else {
        Class::Public
    }
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let first = v6.segments()[0];
            if v6 == Ipv6Addr::LOCALHOST {
                Class::Loopback
            } else if v6.is_unspecified() || v6.is_multicast() {
                Class::Special
            } else if (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 {
                // Unique local (fc00::/7) and link-local (fe80::/10).
                Class::Private
            } else {
                Class::Public
            }
        }
    }
}

impl AddressPolicy {
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        match classify(ip) {
            Class::Public => Ok(()),
            Class::Loopback if self.allow_loopback => Ok(()),
            Class::Private if self.allow_private => Ok(()),
            Class::Loopback => Err(Refusal::Loopback),
            Class::Private => Err(Refusal::Private),
            Class::Special => Err(Refusal::Special),
        }
    }

    /// The reason a URL whose host is a literal address is refused, if it is.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        self.check(ip).map_err(|refusal| refusal.explain(ip))
    }
}

/// The resolver of the webhook client: the system's, keeping only allowed addresses and
/// failing when none is left.
pub struct GuardedResolver {
    pub policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match policy.check(addr.ip()) {
                    Ok(()) => true,
                    Err(refusal) => {
                        refused.get_or_insert(refusal.explain(addr.ip()));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(format!("{host} refused: {why}").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(policy: AddressPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let policy = AddressPolicy::default();
        for (addr, refusal) in [
            ("127.0.0.1", Refusal::Loopback),
            ("::1", Refusal::Loopback),
            ("::ffff:127.0.0.1", Refusal::Loopback),
            ("10.1.2.3", Refusal::Private),
            ("172.16.0.1", Refusal::Private),
            ("192.168.1.1", Refusal::Private),
            ("169.254.169.254", Refusal::Private),
            ("100.64.0.1", Refusal::Private),
            ("fd00::1", Refusal::Private),
            ("fe80::1", Refusal::Private),
            ("0.0.0.0", Refusal::Special),
            ("::", Refusal::Special),
            ("224.0.0.1", Refusal::Special),
            ("255.255.255.255", Refusal::Special),
        ] {
            assert_eq!(policy.check(ip(addr)), Err(refusal), "{addr}");
        }
        for public in ["93.184.215.14", "2606:4700::1111", "8.8.8.8"] {
            assert_eq!(policy.check(ip(public)), Ok(()), "{public}");
        }
    }

    #[test]
    fn configuration_allows_loopback_and_private_separately() {
        let loopback = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert_eq!(loopback.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(loopback.check(ip("10.0.0.1")), Err(Refusal::Private));
        let private = AddressPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        assert_eq!(private.check(ip("10.0.0.1")), Ok(()));
        assert_eq!(private.check(ip("127.0.0.1")), Err(Refusal::Loopback));
        assert_eq!(private.check(ip("0.0.0.0")), Err(Refusal::Special));
    }

    #[test]
    fn literal_hosts_are_checked() {
        let policy = AddressPolicy::default();
        let url = |text: &str| url::Url::parse(text).expect("url");
        assert!(policy.check_url(&url("http://127.0.0.1:9/x")).is_err());
        assert!(policy.check_url(&url("http://[::1]/x")).is_err());
        assert!(policy.check_url(&url("https://example.com/x")).is_ok());
    }
}
